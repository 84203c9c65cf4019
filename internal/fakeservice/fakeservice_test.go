package fakeservice

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/ssh"
)

const testSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	s      *Server
	clock  *fakeClock
	client *http.Client
}

func start(t *testing.T, tune func(*Options)) *env {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	o := Options{Username: "jdoe", Password: "pw", TOTPSecret: testSecret, Now: clock.Now}
	if tune != nil {
		tune(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatal("CACertPEM holds no certificate")
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return &env{s: s, clock: clock, client: client}
}

// code returns the TOTP code of the step offset steps from the clock's.
func (e *env) code(t *testing.T, offset int) string {
	t.Helper()
	c, err := totp.GenerateCode(testSecret, e.clock.Now().Add(time.Duration(offset)*30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *env) post(t *testing.T, path, ctype string, body []byte, basic ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.s.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkCert parses a certificate line and checks it against the CA.
func checkCert(t *testing.T, line string, ca ssh.PublicKey, now time.Time) *ssh.Certificate {
	t.Helper()
	k, _, _, _, err := ssh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		t.Fatalf("certificate line: %v", err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("not a certificate: %s", k.Type())
	}
	checker := ssh.CertChecker{Clock: func() time.Time { return now },
		IsUserAuthority: func(a ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), ca.Marshal()) }}
	if err := checker.CheckCert("jdoe", cert); err != nil {
		t.Fatalf("certificate: %v", err)
	}
	return cert
}

func TestCSCS(t *testing.T) {
	e := start(t, nil)
	status, _, body := e.post(t, PathCSCS, "application/json", jsonBody(t, map[string]string{"username": "jdoe", "password": "pw", "otp": e.code(t, 0)}))
	if status != 200 || !bytes.HasPrefix(body, []byte(`{"public":`)) {
		t.Fatalf("%d %.60q", status, body)
	}
	var out struct{ Public, Private string }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	cert := checkCert(t, out.Public, e.s.CA.PublicKey(), e.clock.Now())
	if got := time.Duration(cert.ValidBefore-cert.ValidAfter) * time.Second; got != 24*time.Hour+time.Minute {
		t.Errorf("validity %v", got)
	}
	signer, err := ssh.ParsePrivateKey([]byte(out.Private))
	if err != nil || !bytes.Equal(signer.PublicKey().Marshal(), cert.Key.Marshal()) {
		t.Errorf("private key does not match the certificate: %v", err)
	}
	if !strings.HasPrefix(out.Private, "-----BEGIN OPENSSH PRIVATE KEY-----") {
		t.Errorf("private key %.40q", out.Private)
	}

	// Replay of the same step.
	status, _, body = e.post(t, PathCSCS, "application/json", jsonBody(t, map[string]string{"username": "jdoe", "password": "pw", "otp": e.code(t, 0)}))
	if status != 401 || !strings.Contains(string(body), "OTP already used") || !strings.Contains(string(body), `"payload"`) {
		t.Errorf("replay: %d %s", status, body)
	}
	if e.s.Issued() != 1 || e.s.Requests() != 2 {
		t.Errorf("Issued %d Requests %d", e.s.Issued(), e.s.Requests())
	}
}

func TestTOTPSkew(t *testing.T) {
	e := start(t, nil)
	try := func(offset int) int {
		st, _, _ := e.post(t, PathGeneric, "", jsonBody(t, map[string]string{"username": "jdoe", "password": "pw", "otp": e.code(t, offset)}))
		return st
	}
	if st := try(-2); st != 401 {
		t.Errorf("two steps old: %d", st)
	}
	if st := try(2); st != 401 {
		t.Errorf("two steps ahead: %d", st)
	}
	if st := try(-1); st != 200 {
		t.Errorf("one step old: %d", st)
	}
	if st := try(-1); st != 401 {
		t.Errorf("same step again: %d", st)
	}
	if st := try(1); st != 200 {
		t.Errorf("one step ahead: %d", st)
	}
	if st := try(0); st != 401 {
		t.Errorf("a step older than the last used: %d", st)
	}
}

func TestNERSC(t *testing.T) {
	e := start(t, nil)
	status, hdr, body := e.post(t, PathNERSC, "", nil, "jdoe", "pw"+e.code(t, 0))
	if status != 200 || !bytes.HasPrefix(body, []byte("-----BEGIN RSA PRIVATE KEY-----\n")) || bytes.HasSuffix(body, []byte("\n")) {
		t.Fatalf("%d %.60q", status, body)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Errorf("content type %q", hdr.Get("Content-Type"))
	}
	block, rest := pem.Decode(body)
	if block == nil || !bytes.HasPrefix(rest, []byte("ssh-rsa-cert-v01@openssh.com ")) || !bytes.Contains(rest, []byte(" jdoe serial:")) {
		t.Fatalf("rest %q", rest)
	}
	cert := checkCert(t, string(rest), e.s.CA.PublicKey(), e.clock.Now())
	if cert.KeyId != "user_jdoe" {
		t.Errorf("key id %q", cert.KeyId)
	}

	e.clock.Add(30 * time.Second)
	status, hdr, body = e.post(t, PathNERSC, "", nil, "jdoe", "wrong"+e.code(t, 0))
	if status != 401 || string(body) != "Authentication failed. Failed login: jdoe\nPlease provide a proper credential" ||
		hdr.Get("WWW-Authenticate") != `Basic realm="Login Required"` {
		t.Errorf("wrong password: %d %q %q", status, body, hdr.Get("WWW-Authenticate"))
	}
	if status, _, body = e.post(t, PathNERSC, "", nil); status != 401 || !strings.Contains(string(body), "Authentication required") {
		t.Errorf("no credentials: %d %q", status, body)
	}
	if status, _, body = e.post(t, "/create_pair/other/", "", nil, "jdoe", "x"); status != 404 || string(body) != "Unrecognized scope" {
		t.Errorf("other scope: %d %q", status, body)
	}
	e.s.SetMode(Mode5xx)
	if status, _, body = e.post(t, PathNERSC, "", nil, "jdoe", "x"); status != 500 || string(body) != "Request failed unexpectedly\n" {
		t.Errorf("5xx: %d %q", status, body)
	}
}

func TestLBNL(t *testing.T) {
	e := start(t, nil)
	// request_cert.sh sends JSON as form-urlencoded.
	status, _, body := e.post(t, PathLBNL, "application/x-www-form-urlencoded",
		jsonBody(t, map[string]string{"username": "jdoe", "password": "pw", "mfa": e.code(t, 0), "lifetime": "1h"}))
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var out map[string]string
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"key_id", "public_key", "private_key", "signed_public_key", "expires_at"} {
		if out[k] == "" {
			t.Errorf("no %s", k)
		}
	}
	cert := checkCert(t, out["signed_public_key"], e.s.CA.PublicKey(), e.clock.Now())
	if time.Unix(int64(cert.ValidBefore), 0).Sub(e.clock.Now()) != time.Hour {
		t.Errorf("lifetime not honoured: valid before %d", cert.ValidBefore)
	}
	if cert.KeyId != out["key_id"] {
		t.Errorf("key id %q vs %q", cert.KeyId, out["key_id"])
	}
	if exp, err := time.Parse(time.RFC3339, out["expires_at"]); err != nil || !exp.Equal(e.clock.Now().Add(time.Hour)) {
		t.Errorf("expires_at %q", out["expires_at"])
	}
}

func TestGenericSignsGivenKey(t *testing.T) {
	e := start(t, nil)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	sp, _ := ssh.NewPublicKey(pub)
	status, _, body := e.post(t, PathGeneric, "application/json", jsonBody(t, map[string]string{
		"username": "jdoe", "password": "pw", "otp": e.code(t, 0), "public_key": string(ssh.MarshalAuthorizedKey(sp))}))
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	var out map[string]string
	json.Unmarshal(body, &out)
	if _, ok := out["private_key"]; ok {
		t.Error("private key returned although the client's key was signed")
	}
	cert := checkCert(t, out["certificate"], e.s.CA.PublicKey(), e.clock.Now())
	if !bytes.Equal(cert.Key.Marshal(), sp.Marshal()) {
		t.Error("certificate is not for the given key")
	}
}

func TestLockoutAndQuota(t *testing.T) {
	e := start(t, func(o *Options) { o.MaxPerDay = 2; o.TOTPSecret = "" })
	try := func(pw string) (int, string) {
		st, _, b := e.post(t, PathCSCS, "", jsonBody(t, map[string]string{"username": "jdoe", "password": pw}))
		return st, string(b)
	}
	for i := 0; i < maxFailures; i++ {
		if st, _ := try("bad"); st != 401 {
			t.Fatalf("failure %d: %d", i, st)
		}
	}
	if st, b := try("pw"); st != 403 || !strings.Contains(b, "locked") {
		t.Errorf("locked: %d %s", st, b)
	}
	e.clock.Add(failureWindow)
	for i := 0; i < 2; i++ {
		if st, b := try("pw"); st != 200 {
			t.Fatalf("issue %d: %d %s", i, st, b)
		}
	}
	if st, b := try("pw"); st != 403 || !strings.Contains(b, "2 keys per day") {
		t.Errorf("quota: %d %s", st, b)
	}
	e.clock.Add(24 * time.Hour)
	if st, _ := try("pw"); st != 200 {
		t.Errorf("next day: %d", st)
	}
}

func TestModes(t *testing.T) {
	e := start(t, func(o *Options) { o.TOTPSecret = "" })
	body := jsonBody(t, map[string]string{"username": "jdoe", "password": "pw"})
	for _, m := range Modes {
		if m == ModeHang {
			continue
		}
		e.s.SetMode(m)
		st, _, b := e.post(t, PathGeneric, "", body)
		var out map[string]string
		json.Unmarshal(b, &out)
		switch m {
		case ModeOK, ModeWrongKey, ModeExpired, ModeHostCert, ModeOtherCA, ModeTruncatedKey:
			if st != 200 || out["certificate"] == "" {
				t.Errorf("%s: %d %s", m, st, b)
			}
		case ModeGarbage:
			if st != 200 || !bytes.Contains(b, []byte("<html>")) {
				t.Errorf("%s: %d %s", m, st, b)
			}
		case Mode5xx:
			if st != 502 {
				t.Errorf("%s: %d", m, st)
			}
		case ModeQuota:
			if st != 429 || !strings.Contains(out["message"], "quota") {
				t.Errorf("%s: %d %s", m, st, b)
			}
		case ModeLockout:
			if st != 403 || !strings.Contains(out["message"], "locked") {
				t.Errorf("%s: %d %s", m, st, b)
			}
		}
	}
	if got := e.s.Issued(); got != 6 {
		t.Errorf("Issued = %d, want 6", got)
	}
}

// TestCloseEndsHang: Close returns while a request hangs, and the hanging
// request fails.
func TestCloseEndsHang(t *testing.T) {
	e := start(t, nil)
	e.s.SetMode(ModeHang)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.s.URL+PathCSCS, strings.NewReader("{}"))
		resp, err := e.client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for e.s.Requests() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	e.s.Close()
	if err := <-done; err == nil {
		t.Error("hanging request got an answer")
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("no username accepted")
	}
	if _, err := New(Options{Username: "u", TOTPSecret: "not base32!"}); err == nil {
		t.Error("bad TOTP secret accepted")
	}
	e := start(t, nil)
	if _, _, _, _, err := ssh.ParseAuthorizedKey(e.s.CAPublicKey()); err != nil {
		t.Errorf("CAPublicKey: %v", err)
	}
	if !strings.HasPrefix(e.s.URL, "https://127.0.0.1:") {
		t.Errorf("URL %q", e.s.URL)
	}
}
