package provider

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/ssh"
)

const (
	httpTestTOTPSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	// A password with characters that break naive JSON, shell or URL
	// building, so that escaping and scrubbing are exercised.
	httpTestPassword = `pa55"w\rd:ü &x=1`
)

// httpTestClock is the clock shared by the fake service, the test secrets
// and the provider, so that TOTP steps are under the test's control.
type httpTestClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *httpTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *httpTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// httpTestSecrets computes real TOTP codes from the test secret. Every OTP
// call first moves the shared clock to the next time step, so no code is
// ever sent twice (unless replay is set, to test the service's refusal).
type httpTestSecrets struct {
	clock    *httpTestClock
	password string
	secret   string

	mu        sync.Mutex
	replay    bool   // hand out the previous code again
	last      string // previous code
	passwords int    // calls of Password
	otps      int    // calls of OTP
	handedOut []string
}

func (s *httpTestSecrets) Password(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.passwords++
	return s.password, nil
}

func (s *httpTestSecrets) OTP(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.otps++
	if s.replay && s.last != "" {
		return s.last, nil
	}
	s.clock.Advance(30 * time.Second)
	code, err := totp.GenerateCode(s.secret, s.clock.Now())
	if err != nil {
		return "", err
	}
	s.last = code
	s.handedOut = append(s.handedOut, code)
	return code, nil
}

// secretsIn lists every secret this run could have leaked.
func (s *httpTestSecrets) secretsIn() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []string{s.password}
	for _, c := range s.handedOut {
		out = append(out, c, s.password+c)
	}
	return out
}

// httpTestEnv is a fake key service with everything a provider test needs.
type httpTestEnv struct {
	fake    *fakeservice.Server
	clock   *httpTestClock
	secrets *httpTestSecrets
	caFile  string
	user    string
	logs    *bytes.Buffer
	logMu   *sync.Mutex
}

func httpTestStart(t *testing.T, tune func(*fakeservice.Options)) *httpTestEnv {
	t.Helper()
	clock := &httpTestClock{t: time.Now()}
	o := fakeservice.Options{Username: "jdoe", Password: httpTestPassword, TOTPSecret: httpTestTOTPSecret, Now: clock.Now}
	if tune != nil {
		tune(&o)
	}
	fake, err := fakeservice.New(o)
	if err != nil {
		t.Fatalf("fakeservice.New: %v", err)
	}
	t.Cleanup(fake.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, fake.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return &httpTestEnv{
		fake: fake, clock: clock, caFile: caFile, user: o.Username,
		secrets: &httpTestSecrets{clock: clock, password: o.Password, secret: httpTestTOTPSecret},
		logs:    new(bytes.Buffer), logMu: new(sync.Mutex),
	}
}

type httpTestLockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w httpTestLockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// request makes a Request whose debug log goes into e.logs.
func (e *httpTestEnv) request(pub []byte) *Request {
	h := slog.NewTextHandler(httpTestLockedWriter{e.logMu, e.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})
	return &Request{Profile: "test", Username: e.user, Key: "/nonexistent/key", PublicKey: pub, Secrets: e.secrets, Log: slog.New(h)}
}

// checkNoSecrets fails if an error message or the log quotes a secret or
// key material.
func (e *httpTestEnv) checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	e.logMu.Lock()
	logs := e.logs.String()
	e.logMu.Unlock()
	var texts []string
	if err != nil {
		texts = append(texts, err.Error())
	}
	texts = append(texts, logs)
	for _, text := range texts {
		for _, sec := range e.secrets.secretsIn() {
			if sec != "" && strings.Contains(text, sec) {
				t.Errorf("secret leaked into %q", text)
			}
		}
		if strings.Contains(text, "PRIVATE KEY") || strings.Contains(text, "AAAA") {
			t.Errorf("key material leaked into %q", text)
		}
	}
}

// httpTestPreset is one provider under test, with the fake's endpoint.
type httpTestPreset struct {
	name string
	path string
	make func(HTTPConfig) (Provider, error)
	sign bool // the service signs the request's public key
	tune func(*HTTPConfig)
}

var httpTestPresets = []httpTestPreset{
	{name: "cscs-legacy", path: fakeservice.PathCSCS, make: NewCSCSLegacy},
	{name: "nersc", path: fakeservice.PathNERSC, make: NewNERSC},
	{name: "lbnl-msm", path: fakeservice.PathLBNL, make: NewLBNLMSM},
	{name: "http", path: fakeservice.PathGeneric, make: NewHTTP, tune: func(c *HTTPConfig) {
		c.Request = map[string]string{"username": "{username}", "password": "{password}", "otp": "{otp}"}
		c.CertificateField = "certificate"
		c.PrivateKeyField = "private_key"
	}},
	{name: "http-sign", path: fakeservice.PathGeneric, make: NewHTTP, sign: true},
}

// provider builds p against e's fake service, trusting it through CAFile.
func (e *httpTestEnv) provider(t *testing.T, p httpTestPreset) Provider {
	t.Helper()
	c := HTTPConfig{URL: e.fake.URL + p.path, CAFile: e.caFile, Now: e.clock.Now}
	if p.tune != nil {
		p.tune(&c)
	}
	prov, err := p.make(c)
	if err != nil {
		t.Fatalf("%s: %v", p.name, err)
	}
	return prov
}

// httpTestUserKey makes an ed25519 key and returns its authorized_keys line.
func httpTestUserKey(t *testing.T) []byte {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return ssh.MarshalAuthorizedKey(sp)
}

// renew runs one renewal with a deadline.
func (e *httpTestEnv) renew(t *testing.T, p httpTestPreset, prov Provider, timeout time.Duration) (*Result, []byte, error) {
	t.Helper()
	var pub []byte
	if p.sign {
		pub = httpTestUserKey(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res, err := prov.Renew(ctx, e.request(pub))
	return res, pub, err
}

// httpTestCheckResult checks that res holds a user certificate for its key
// (or for pub), for principal user, signed by ca.
func httpTestCheckResult(t *testing.T, res *Result, pub []byte, user string, ca ssh.PublicKey, now time.Time) *ssh.Certificate {
	t.Helper()
	if res == nil {
		t.Fatal("nil result")
	}
	k, _, _, rest, err := ssh.ParseAuthorizedKey(res.Certificate)
	if err != nil || len(rest) != 0 {
		t.Fatalf("certificate does not parse as one line: %v", err)
	}
	cert, ok := k.(*ssh.Certificate)
	if !ok {
		t.Fatalf("not a certificate: %s", k.Type())
	}
	if cert.CertType != ssh.UserCert {
		t.Errorf("cert type %d, want user", cert.CertType)
	}
	if len(cert.ValidPrincipals) != 1 || cert.ValidPrincipals[0] != user {
		t.Errorf("principals %q, want [%s]", cert.ValidPrincipals, user)
	}
	if !bytes.Equal(cert.SignatureKey.Marshal(), ca.Marshal()) {
		t.Errorf("signed by %s, want %s", ssh.FingerprintSHA256(cert.SignatureKey), ssh.FingerprintSHA256(ca))
	}
	// The signature itself must verify.
	checker := ssh.CertChecker{Clock: func() time.Time { return now }, IsUserAuthority: func(a ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), ca.Marshal()) }}
	if err := checker.CheckCert(user, cert); err != nil {
		t.Errorf("certificate does not verify: %v", err)
	}
	var want ssh.PublicKey
	if pub != nil {
		if res.PrivateKey != nil {
			t.Error("signing service returned a private key")
		}
		want, _, _, _, err = ssh.ParseAuthorizedKey(pub)
		if err != nil {
			t.Fatal(err)
		}
	} else {
		signer, err := ssh.ParsePrivateKey(res.PrivateKey)
		if err != nil {
			t.Fatalf("private key does not parse: %v", err)
		}
		want = signer.PublicKey()
	}
	if !bytes.Equal(cert.Key.Marshal(), want.Marshal()) {
		t.Error("certificate is for another key")
	}
	return cert
}

// httpTestServiceError asserts that err is a *ServiceError wrapping want.
func httpTestServiceError(t *testing.T, err, want error) *ServiceError {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
	var se *ServiceError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *ServiceError", err)
	}
	return se
}

// httpTestBareEnv is an env without a fake service, for tests with their
// own server.
func httpTestBareEnv(user, password string) *httpTestEnv {
	return &httpTestEnv{
		secrets: &httpTestSecrets{clock: &httpTestClock{t: time.Now()}, password: password, secret: httpTestTOTPSecret},
		user:    user, logs: new(bytes.Buffer), logMu: new(sync.Mutex),
	}
}

// httpTestSigner makes a throwaway ed25519 CA.
func httpTestSigner(t *testing.T) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// httpTestSign certifies pub for user, valid for an hour; it is called from
// server goroutines, so it returns errors instead of failing the test.
func httpTestSign(ca ssh.Signer, pub ssh.PublicKey, user string) (string, error) {
	now := time.Now()
	c := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, KeyId: "test", ValidPrincipals: []string{user},
		ValidAfter: uint64(now.Add(-time.Minute).Unix()), ValidBefore: uint64(now.Add(time.Hour).Unix())}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		return "", err
	}
	return string(ssh.MarshalAuthorizedKey(c)), nil
}
