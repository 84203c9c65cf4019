package provider

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

func TestHTTPURLRules(t *testing.T) {
	cases := []struct {
		url string
		ok  bool
	}{
		{"https://sshservice.cscs.ch/api/v1/auth/ssh-keys/signed-key", true},
		{"https://10.0.0.1:8443/x", true},
		{"http://127.0.0.1:8080/x", true},
		{"http://127.1.2.3/x", true},
		{"http://[::1]:8080/x", true},
		{"http://localhost:8080/x", true},
		{"http://LOCALHOST/x", true},
		{"http://example.com/x", false},
		{"http://10.0.0.1/x", false},
		{"http://[::ffff:10.0.0.1]/x", false},
		{"http://localhost.example.com/x", false},
		{"http://127.0.0.1.nip.io/x", false},
		{"ftp://127.0.0.1/x", false},
		{"https://user:pw@example.com/x", false},
		{"https:///x", false},
		{"sshservice.cscs.ch", false},
		{"://bad", false},
	}
	for _, c := range cases {
		for _, mk := range []func(HTTPConfig) (Provider, error){NewCSCSLegacy, NewNERSC, NewLBNLMSM, NewHTTP} {
			_, err := mk(HTTPConfig{URL: c.url, PrivateKeyField: "private_key"})
			if c.ok && err != nil {
				t.Errorf("%s: %v", c.url, err)
			}
			if !c.ok && !errors.Is(err, ErrConfig) {
				t.Errorf("%s: error %v, want ErrConfig", c.url, err)
			}
			if err != nil && strings.Contains(err.Error(), ":pw@") {
				t.Errorf("error quotes URL credentials: %v", err)
			}
		}
	}
	if _, err := NewHTTP(HTTPConfig{PrivateKeyField: "k"}); !errors.Is(err, ErrConfig) {
		t.Errorf("generic without url: %v", err)
	}
	for _, mk := range []func(HTTPConfig) (Provider, error){NewCSCSLegacy, NewNERSC, NewLBNLMSM} {
		if _, err := mk(HTTPConfig{}); err != nil {
			t.Errorf("preset default url: %v", err)
		}
	}
	if _, err := NewCSCSLegacy(HTTPConfig{CAFile: "/nonexistent/ca.pem"}); !errors.Is(err, ErrConfig) {
		t.Errorf("missing ca_file: %v", err)
	}
}

// TestHTTPPlainLoopback: plain http to loopback really works (for local
// forwarders), and its answers are classified like any other.
func TestHTTPPlainLoopback(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<html><head><title>503 Service Temporarily Unavailable</title></head></html>")
	}))
	defer ts.Close()
	prov, err := NewHTTP(HTTPConfig{URL: ts.URL, PrivateKeyField: "private_key"})
	if err != nil {
		t.Fatal(err)
	}
	e := httpTestBareEnv("u", "pw")
	_, err = prov.Renew(context.Background(), e.request(nil))
	se := httpTestServiceError(t, err, ErrUnavailable)
	if se.Status != 503 || se.Message != "503 Service Temporarily Unavailable" {
		t.Errorf("got %v", err)
	}
}

// httpTestTLSServer is a TLS server with a custom handler and a provider
// that trusts it through Client.
func httpTestTLSServer(t *testing.T, h http.HandlerFunc, c HTTPConfig, mk func(HTTPConfig) (Provider, error)) (Provider, *httpTestEnv) {
	t.Helper()
	ts := httptest.NewTLSServer(h)
	t.Cleanup(ts.Close)
	c.URL = ts.URL + "/x"
	c.Client = ts.Client()
	prov, err := mk(c)
	if err != nil {
		t.Fatal(err)
	}
	return prov, httpTestBareEnv("jdoe", httpTestPassword)
}

func TestHTTPOversizeAnswer(t *testing.T) {
	big := bytes.Repeat([]byte("A"), httpMaxAnswer+10)
	for _, status := range []int{200, 500} {
		prov, e := httpTestTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write(big)
		}, HTTPConfig{}, NewCSCSLegacy)
		_, err := prov.Renew(context.Background(), e.request(nil))
		want := ErrBadAnswer
		if status == 500 {
			want = ErrUnavailable // the status says enough
		}
		se := httpTestServiceError(t, err, want)
		if status == 200 && !strings.Contains(se.Message, "larger than") {
			t.Errorf("message %q", se.Message)
		}
		if len(se.Message) > 4*httpMaxMessage+10 {
			t.Errorf("message of %d bytes", len(se.Message))
		}
	}
}

func TestHTTPRedirectNotFollowed(t *testing.T) {
	hit := make(chan struct{}, 1)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit <- struct{}{} }))
	defer other.Close()
	prov, e := httpTestTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
	}, HTTPConfig{}, NewLBNLMSM)
	_, err := prov.Renew(context.Background(), e.request(nil))
	se := httpTestServiceError(t, err, ErrConfig)
	if !strings.Contains(se.Message, "redirected to") {
		t.Errorf("message %q", se.Message)
	}
	select {
	case <-hit:
		t.Error("redirect was followed: the password went elsewhere")
	default:
	}
}

// TestHTTPRequestBodies checks what each preset sends, against the
// reference protocol facts.
func TestHTTPRequestBodies(t *testing.T) {
	type seen struct {
		ua, ctype, auth string
		body            map[string]string
	}
	cases := []struct {
		name  string
		mk    func(HTTPConfig) (Provider, error)
		cfg   HTTPConfig
		check func(t *testing.T, s seen, pw, otp string)
	}{
		{"cscs", NewCSCSLegacy, HTTPConfig{}, func(t *testing.T, s seen, pw, otp string) {
			if s.body["username"] != "jdoe" || s.body["password"] != pw || s.body["otp"] != otp || len(s.body) != 3 {
				t.Errorf("body %v", httpTestRedactBody(s.body, pw))
			}
			if s.ctype != "application/json" {
				t.Errorf("content type %q", s.ctype)
			}
		}},
		{"nersc", NewNERSC, HTTPConfig{}, func(t *testing.T, s seen, pw, otp string) {
			r := &http.Request{Header: http.Header{"Authorization": {s.auth}}}
			u, p, ok := r.BasicAuth()
			if !ok || u != "jdoe" || p != pw+otp {
				t.Error("Basic auth is not user:password+otp")
			}
			if len(s.body) != 0 {
				t.Error("nersc sent a body")
			}
		}},
		{"lbnl", NewLBNLMSM, HTTPConfig{Lifetime: 90 * time.Minute}, func(t *testing.T, s seen, pw, otp string) {
			if s.body["username"] != "jdoe" || s.body["password"] != pw || s.body["mfa"] != otp || s.body["lifetime"] != "90m" || len(s.body) != 4 {
				t.Errorf("body %v", httpTestRedactBody(s.body, pw))
			}
		}},
		{"generic", NewHTTP, HTTPConfig{Request: map[string]string{"user": "{username}", "pass": "{password}{otp}", "k": "key={public_key}", "lit": "{"},
			PrivateKeyField: ""}, func(t *testing.T, s seen, pw, otp string) {
			if s.body["user"] != "jdoe" || s.body["pass"] != pw+otp || !strings.HasPrefix(s.body["k"], "key=ssh-ed25519 ") || s.body["lit"] != "{" {
				t.Errorf("body %v", httpTestRedactBody(s.body, pw))
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := make(chan seen, 1)
			prov, e := httpTestTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
				s := seen{ua: r.UserAgent(), ctype: r.Header.Get("Content-Type"), auth: r.Header.Get("Authorization")}
				b, _ := io.ReadAll(r.Body)
				if len(b) > 0 {
					json.Unmarshal(b, &s.body)
				}
				got <- s
				w.WriteHeader(http.StatusBadGateway)
			}, c.cfg, c.mk)
			pub := httpTestUserKey(t)
			_, err := prov.Renew(context.Background(), e.request(pub))
			httpTestServiceError(t, err, ErrUnavailable)
			s := <-got
			if !strings.HasPrefix(s.ua, "hpc-auth/") {
				t.Errorf("User-Agent %q", s.ua)
			}
			c.check(t, s, e.secrets.password, e.secrets.last)
		})
	}
}

func httpTestRedactBody(b map[string]string, pw string) map[string]string {
	out := map[string]string{}
	for k, v := range b {
		out[k] = strings.ReplaceAll(v, pw, "[pw]")
	}
	return out
}

// TestHTTPGenericFields: dotted paths and array indexes in the answer.
func TestHTTPGenericFields(t *testing.T) {
	ca := httpTestSigner(t)
	prov, e := httpTestTLSServer(t, func(w http.ResponseWriter, r *http.Request) {
		var in struct{ PublicKey string }
		json.NewDecoder(r.Body).Decode(&in)
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(in.PublicKey))
		if err != nil {
			w.WriteHeader(400)
			return
		}
		line, err := httpTestSign(ca, pub, "jdoe")
		if err != nil {
			w.WriteHeader(500)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"sshKey": []any{map[string]any{"publicKey": line}}}})
	}, HTTPConfig{Request: map[string]string{"publicKey": "{public_key}"}, CertificateField: "data.sshKey.0.publicKey"}, NewHTTP)
	pub := httpTestUserKey(t)
	res, err := prov.Renew(context.Background(), e.request(pub))
	if err != nil {
		t.Fatal(err)
	}
	httpTestCheckResult(t, res, pub, "jdoe", ca.PublicKey(), time.Now())
	if e.secrets.passwords != 0 || e.secrets.otps != 0 {
		t.Error("secrets asked for although no template uses them")
	}
}

func TestHTTPGenericConfig(t *testing.T) {
	url := "https://keys.example.org/sign"
	if _, err := NewHTTP(HTTPConfig{URL: url, Request: map[string]string{"p": "{pasword}"}, PrivateKeyField: "k"}); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown placeholder: %v", err)
	}
	if _, err := NewHTTP(HTTPConfig{URL: url, Request: map[string]string{"p": "{password}"}}); !errors.Is(err, ErrConfig) {
		t.Errorf("signing without {public_key}: %v", err)
	}
	prov, err := NewHTTP(HTTPConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	e := httpTestBareEnv("u", "pw")
	_, err = prov.Renew(context.Background(), e.request(nil))
	if !errors.Is(err, ErrConfig) {
		t.Errorf("signing without a public key: %v", err)
	}
	if e.secrets.passwords != 0 || e.secrets.otps != 0 {
		t.Error("secrets asked for before a configuration error")
	}
	// No username anywhere.
	req := e.request(nil)
	req.Username = ""
	if _, err := prov.Renew(context.Background(), req); !errors.Is(err, ErrConfig) {
		t.Errorf("no username: %v", err)
	}
}

func TestHTTPStatusSentinel(t *testing.T) {
	cases := []struct {
		status int
		msg    string
		want   error
	}{
		{400, "bad request", ErrRejected},
		{401, "", ErrRejected},
		{403, "", ErrRejected},
		{409, "", ErrRejected},
		{418, "", ErrRejected},
		{422, "", ErrRejected},
		{429, "slow down", ErrRejected},
		{404, "", ErrConfig},
		{405, "", ErrConfig},
		{307, "", ErrConfig},
		{408, "", ErrUnavailable},
		{500, "Request failed unexpectedly", ErrUnavailable},
		{502, "Bad Gateway", ErrUnavailable},
		{503, "", ErrUnavailable},
		{500, "Account locked", ErrRejected},
		{503, "daily quota exceeded", ErrRejected},
		{500, "Authentication failed. Failed login: x", ErrRejected},
		{102, "", ErrBadAnswer},
	}
	for _, c := range cases {
		if got := httpStatusSentinel(c.status, c.msg); got != c.want {
			t.Errorf("%d %q: %v, want %v", c.status, c.msg, got, c.want)
		}
	}
}

func TestHTTPCleanMessage(t *testing.T) {
	secrets := httpSecretForms("jdoe", `pa"ss`, "123456")
	cases := []struct{ in, want string }{
		{"  Authentication failed. Failed login: jdoe\nPlease provide a proper credential", "Authentication failed. Failed login: jdoe"},
		{"\n\n second line\tonly  ", "second line only"},
		{"bad \x1b[31mred\x1b[0m", "bad [31mred [0m"},
		{"a\u202eb", "ab"},
		{"bad\xffutf8", "bad\uFFFDutf8"},
		{`wrong password pa"ss123456 for jdoe`, "wrong password [redacted] for jdoe"},
		{`echo {"password":"pa\"ss"}`, `echo {"password":"[redacted]"}`},
		{"code 123456 refused", "code [redacted] refused"},
		{"hdr Basic " + base64.StdEncoding.EncodeToString([]byte(`jdoe:pa"ss123456`)), "hdr Basic [redacted]"},
		{strings.Repeat("é", 300), strings.Repeat("é", httpMaxMessage) + "…"},
		{strings.Repeat("x", 199) + `pa"ss`, strings.Repeat("x", 199) + "[redacted]"},
		{strings.Repeat("x", 200) + `pa"ss`, strings.Repeat("x", 200) + "…"},
		{"pa\u202e\"ss", httpWithheld},
		{"bad\xffpa\"ss\xff", "bad\uFFFD[redacted]\uFFFD"},
		{"a \uE000 b", "a [redacted] b"}, // a stray marker is shown as redacted: harmless
	}
	for _, c := range cases {
		got := httpCleanMessage(c.in, secrets)
		if got != c.want {
			t.Errorf("httpCleanMessage(%q) = %q, want %q", c.in, got, c.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("invalid UTF-8: %q", got)
		}
	}
}

func TestHTTPTextMessage(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"payload":{"message":"Invalid OTP"}}`, "Invalid OTP"},
		{`{"message":"Something went wrong: x"}`, "Something went wrong: x"},
		{`{"error":"invalid_grant","error_description":"Invalid user credentials"}`, "Invalid user credentials"},
		{`{"status":401,"message":"lacked authorization"}`, "lacked authorization"},
		{`{"detail":"nope"}`, "nope"},
		{`{"errors":[{"message":"first"}]}`, "first"},
		{`"just a string"`, "just a string"},
		{"<html><head><title>502 Bad Gateway</title></head></html>", "502 Bad Gateway"},
		{"<html><body><h1>Forbidden</h1></body></html>", "Forbidden"},
		{"plain text\nmore", "plain text\nmore"},
		{"-----BEGIN OPENSSH PRIVATE KEY-----\nabc", ""},
		{"\xff\xfe\x00binary", ""},
	}
	for _, c := range cases {
		if got := httpTextMessage([]byte(c.in)); got != c.want {
			t.Errorf("httpTextMessage(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLBNLFormatLifetime(t *testing.T) {
	for d, want := range map[time.Duration]string{12 * time.Hour: "12h", 90 * time.Minute: "90m", 61 * time.Second: "2m", time.Hour: "1h"} {
		if got := lbnlFormatLifetime(d); got != want {
			t.Errorf("%v: %q, want %q", d, got, want)
		}
	}
	if _, err := NewLBNLMSM(HTTPConfig{Lifetime: -time.Hour}); !errors.Is(err, ErrConfig) {
		t.Errorf("negative lifetime: %v", err)
	}
}

// FuzzHTTPCleanMessage: whatever a service answers, the quoted message is
// one line of valid UTF-8, bounded, and free of the secrets.
func FuzzHTTPCleanMessage(f *testing.F) {
	f.Add("Authentication failed. Failed login: jdoe\nPlease provide a proper credential", `pa"ss`, "123456")
	f.Add(strings.Repeat("x", 199)+"hunter2", "hunter2", "000000")
	f.Add("a\u202e\x1b[0mb\xff", "ab", "")
	f.Add("pass pass", "pass pass", "1")
	f.Add("0", "0", "a") // a secret inside the placeholder's letters
	f.Fuzz(func(t *testing.T, msg, password, otp string) {
		secrets := httpSecretForms("jdoe", password, otp)
		got := httpCleanMessage(msg, secrets)
		if !utf8.ValidString(got) || strings.ContainsAny(got, "\r\n\x00\x1b") {
			t.Fatalf("not one clean line: %q", got)
		}
		if n := utf8.RuneCountInString(got); n > httpMaxMessage+len(httpRedacted) {
			t.Fatalf("%d runes", n)
		}
		if got == httpWithheld {
			return
		}
		// A secret may coincide with letters of the placeholder ("a");
		// what matters is the text between placeholders.
		for part := range strings.SplitSeq(got, httpRedacted) {
			for _, s := range secrets {
				if strings.Contains(part, s) {
					t.Fatalf("%q quotes secret %q", got, s)
				}
			}
		}
	})
}
