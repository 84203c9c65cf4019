package provider

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
)

func TestHTTPPresetsSuccess(t *testing.T) {
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			e := httpTestStart(t, nil)
			prov := e.provider(t, p)
			res, pub, err := e.renew(t, p, prov, 20*time.Second)
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			cert := httpTestCheckResult(t, res, pub, e.user, e.fake.CA.PublicKey(), e.clock.Now())
			if res.Installed {
				t.Error("Installed set by an HTTP provider")
			}
			if got := e.fake.Issued(); got != 1 {
				t.Errorf("Issued = %d, want 1", got)
			}
			if e.secrets.passwords != 1 || e.secrets.otps != 1 {
				t.Errorf("asked for the password %d and a code %d times, want 1 each", e.secrets.passwords, e.secrets.otps)
			}
			if !bytes.HasSuffix(res.Certificate, []byte("\n")) || bytes.Count(res.Certificate, []byte("\n")) != 1 {
				t.Errorf("certificate is not one newline-terminated line: %q", res.Certificate)
			}
			switch p.name {
			case "nersc":
				if got := e.fake.Proto(p.path); got != "HTTP/1.1" {
					t.Errorf("nersc spoke %s, want HTTP/1.1", got)
				}
				if !bytes.HasPrefix(res.PrivateKey, []byte("-----BEGIN RSA PRIVATE KEY-----")) {
					t.Errorf("nersc key is not PKCS#1 PEM: %.40q", res.PrivateKey)
				}
				if cert.KeyId != "user_"+e.user {
					t.Errorf("nersc key id %q", cert.KeyId)
				}
			case "cscs-legacy":
				if got := e.fake.Proto(p.path); got != "HTTP/2.0" {
					t.Errorf("cscs spoke %s, want HTTP/2.0 (only nersc is forced to HTTP/1.1)", got)
				}
			}
			e.checkNoSecrets(t, nil)
		})
	}
}

// TestHTTPPresetsModes drives every provider through every failure mode of
// the fake service.
func TestHTTPPresetsModes(t *testing.T) {
	cases := []struct {
		mode fakeservice.Mode
		want error  // nil: the provider accepts the answer (the engine judges)
		msg  string // in the ServiceError's message (lower-cased)
	}{
		{fakeservice.Mode5xx, ErrUnavailable, ""},
		{fakeservice.ModeGarbage, ErrBadAnswer, "maintenance"},
		{fakeservice.ModeWrongKey, ErrBadAnswer, "another key"},
		{fakeservice.ModeExpired, ErrBadAnswer, "expired"},
		{fakeservice.ModeHostCert, ErrBadAnswer, "host certificate"},
		{fakeservice.ModeTruncatedKey, ErrBadAnswer, ""},
		{fakeservice.ModeQuota, ErrRejected, "quota"},
		{fakeservice.ModeLockout, ErrRejected, ""},
		{fakeservice.ModeOtherCA, nil, ""},
	}
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			e := httpTestStart(t, func(o *fakeservice.Options) { o.EchoCredentials = true })
			prov := e.provider(t, p)
			for _, c := range cases {
				t.Run(string(c.mode), func(t *testing.T) {
					e.fake.SetMode(c.mode)
					res, pub, err := e.renew(t, p, prov, 20*time.Second)
					e.checkNoSecrets(t, err)
					if c.want == nil {
						if err != nil {
							t.Fatalf("Renew: %v", err)
						}
						// Signed by another CA: the provider cannot know
						// (cert_authority is the engine's check).
						httpTestCheckResult(t, res, pub, e.user, e.fake.OtherCAPublicKey(), e.clock.Now())
						return
					}
					if res != nil {
						t.Errorf("result with error: %+v", res)
					}
					se := httpTestServiceError(t, err, c.want)
					if se.Service != "127.0.0.1" {
						t.Errorf("service %q", se.Service)
					}
					if !strings.Contains(strings.ToLower(se.Message), c.msg) {
						t.Errorf("message %q lacks %q", se.Message, c.msg)
					}
					if c.mode == fakeservice.ModeLockout && !strings.Contains(strings.ToLower(se.Message), "lock") &&
						!strings.Contains(se.Message, "Too many failed logins") {
						t.Errorf("lockout message %q", se.Message)
					}
					t.Logf("%v", err) // what the user would read
				})
			}
		})
	}
}

func TestHTTPPresetsHang(t *testing.T) {
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			e := httpTestStart(t, nil)
			e.fake.SetMode(fakeservice.ModeHang)
			prov := e.provider(t, p)
			_, _, err := e.renew(t, p, prov, time.Second)
			se := httpTestServiceError(t, err, ErrUnavailable)
			if !strings.Contains(se.Message, "timed out") {
				t.Errorf("error %v does not say it timed out", err)
			}
		})
	}
}

// TestHTTPPresetsRejected: wrong password, a replayed code and the lockout
// that repeated failures cause; the service echoes what it got, and no
// message may quote it.
func TestHTTPPresetsRejected(t *testing.T) {
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			e := httpTestStart(t, func(o *fakeservice.Options) { o.EchoCredentials = true })
			prov := e.provider(t, p)

			// A good renewal first, then the same code again.
			if _, _, err := e.renew(t, p, prov, 20*time.Second); err != nil {
				t.Fatalf("first Renew: %v", err)
			}
			e.secrets.mu.Lock()
			e.secrets.replay = true
			e.secrets.mu.Unlock()
			_, _, err := e.renew(t, p, prov, 20*time.Second)
			e.checkNoSecrets(t, err)
			se := httpTestServiceError(t, err, ErrRejected)
			if !strings.Contains(se.Message, "OTP already used") || se.Status != 401 {
				t.Errorf("replay: %v", err)
			}
			e.secrets.mu.Lock()
			e.secrets.replay = false
			e.secrets.password = "wrong" + httpTestPassword
			e.secrets.mu.Unlock()

			// Wrong password until the account locks (5 failures in 300 s,
			// the replay was the first).
			for i := 0; i < 4; i++ {
				_, _, err := e.renew(t, p, prov, 20*time.Second)
				e.checkNoSecrets(t, err)
				se := httpTestServiceError(t, err, ErrRejected)
				if se.Status != 401 {
					t.Errorf("wrong password: status %d", se.Status)
				}
				if strings.Contains(se.Message, "received") && !strings.Contains(se.Message, "[redacted]") {
					t.Errorf("echo not redacted: %q", se.Message)
				}
			}
			e.secrets.mu.Lock()
			e.secrets.password = httpTestPassword
			e.secrets.mu.Unlock()
			_, _, err = e.renew(t, p, prov, 20*time.Second)
			e.checkNoSecrets(t, err)
			se = httpTestServiceError(t, err, ErrRejected)
			if m := strings.ToLower(se.Message); !strings.Contains(m, "lock") && !strings.Contains(m, "too many") {
				t.Errorf("locked account: %v", err)
			}
			t.Logf("%v", err)
			// The window passes; the right credentials work again.
			e.clock.Advance(6 * time.Minute)
			if _, _, err := e.renew(t, p, prov, 20*time.Second); err != nil {
				t.Errorf("after the lockout window: %v", err)
			}
		})
	}
}

func TestHTTPPresetsDailyQuota(t *testing.T) {
	p := httpTestPresets[0] // cscs-legacy: the one with a documented quota
	e := httpTestStart(t, func(o *fakeservice.Options) { o.MaxPerDay = 5 })
	prov := e.provider(t, p)
	for i := 0; i < 5; i++ {
		if _, _, err := e.renew(t, p, prov, 20*time.Second); err != nil {
			t.Fatalf("renewal %d: %v", i+1, err)
		}
	}
	_, _, err := e.renew(t, p, prov, 20*time.Second)
	se := httpTestServiceError(t, err, ErrRejected)
	if !strings.Contains(se.Message, "5 keys per day") {
		t.Errorf("quota: %v", err)
	}
	e.clock.Advance(25 * time.Hour)
	if _, _, err := e.renew(t, p, prov, 20*time.Second); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// TestHTTPUnknownCA: without ca_file the fake's self-signed certificate is
// not trusted, and nothing is sent.
func TestHTTPUnknownCA(t *testing.T) {
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			e := httpTestStart(t, nil)
			c := HTTPConfig{URL: e.fake.URL + p.path, Now: e.clock.Now}
			if p.tune != nil {
				p.tune(&c)
			}
			prov, err := p.make(c)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = e.renew(t, p, prov, 20*time.Second)
			se := httpTestServiceError(t, err, ErrUnavailable)
			if !strings.Contains(se.Message, "certificate") {
				t.Errorf("message %q does not mention the certificate", se.Message)
			}
			if e.fake.Requests() != 0 {
				t.Errorf("%d requests reached the untrusted server", e.fake.Requests())
			}
			t.Logf("%v", err)
		})
	}
}

// TestHTTPRealClock renews once with real time: the code comes from the
// wall clock, as in production.
func TestHTTPRealClock(t *testing.T) {
	e := httpTestStart(t, func(o *fakeservice.Options) { o.Now = nil })
	e.clock = &httpTestClock{t: time.Now()}
	e.secrets.clock = e.clock
	// OTP advances this private clock by one step; the fake accepts ±1 step.
	e.clock.Advance(-30 * time.Second)
	p := httpTestPresets[1]
	c := HTTPConfig{URL: e.fake.URL + p.path, CAFile: e.caFile}
	prov, err := p.make(c)
	if err != nil {
		t.Fatal(err)
	}
	res, pub, err := e.renew(t, p, prov, 20*time.Second)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	httpTestCheckResult(t, res, pub, e.user, e.fake.CA.PublicKey(), e.clock.Now())
}

func TestHTTPConnectionRefused(t *testing.T) {
	e := httpTestStart(t, nil)
	url := e.fake.URL + fakeservice.PathCSCS
	e.fake.Close()
	prov, err := NewCSCSLegacy(HTTPConfig{URL: url, CAFile: e.caFile})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.renew(t, httpTestPresets[0], prov, 20*time.Second)
	se := httpTestServiceError(t, err, ErrUnavailable)
	if !strings.Contains(se.Message, "refused") {
		t.Errorf("message %q", se.Message)
	}
	if errors.Is(err, ErrRejected) {
		t.Error("refused connection classified as rejection")
	}
}
