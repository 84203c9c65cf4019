package cert_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/cert/certtest"
	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// full is what the engine accepts without re-checking the signature: the
// reference that the fast path's quick.Check must agree with.
func full(keyPath, certPath string, auth *cert.Authority, min cert.Threshold, now time.Time) bool {
	if cert.Pending(keyPath, certPath) {
		return false
	}
	c, err := cert.Check(keyPath, certPath, now, min)
	if err != nil {
		return false
	}
	pub, err := cert.PublicKey(keyPath)
	if err != nil {
		return false
	}
	return cert.Verify(c, pub, auth, now) == nil
}

// TestQuickAgreesWithCert runs the fast path's stdlib-only check and the
// x/crypto/ssh-based one over the validity edges and every kind of wrong
// certificate; they must give the same verdict.
func TestQuickAgreesWithCert(t *testing.T) {
	dir := t.TempDir()
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	caFile := ca.WritePub(dir)
	key := filepath.Join(dir, "id")
	priv, pub := certtest.NewKey(t)
	certtest.WriteKey(t, key, priv, pub)
	_, otherPub := certtest.NewKey(t)
	certPath := key + "-cert.pub"
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	h := time.Hour
	type tc struct {
		name string
		by   *certtest.CA
		pub  ssh.PublicKey
		opts certtest.Options
		min  string
		auth string
	}
	win := func(a, b time.Duration) certtest.Options {
		return certtest.Options{Principals: []string{"u"}, ValidAfter: now.Add(a), ValidBefore: now.Add(b)}
	}
	cases := []tc{
		{"fresh", ca, pub, win(-h, 24*h), "1h", ""},
		{"exactly min left", ca, pub, win(-h, h), "1h", ""},
		{"a second short", ca, pub, win(-h, h-time.Second), "1h", ""},
		{"expired", ca, pub, win(-2*h, -h), "0s", ""},
		{"ends now", ca, pub, win(-2*h, 0), "0s", ""},
		{"not yet valid", ca, pub, win(2*time.Minute, 24*h), "1h", ""},
		{"within skew", ca, pub, win(30*time.Second, 24*h), "1h", ""},
		{"percent ok", ca, pub, win(-h, 3*h), "75%", ""},
		{"percent short", ca, pub, win(-h, 2*h), "75%", ""},
		{"forever", ca, pub, certtest.Options{Principals: []string{"u"}, Forever: true}, "99%", ""},
		{"epoch start", ca, pub, certtest.Options{Principals: []string{"u"}, ValidBefore: now.Add(2 * h)}, "50%", ""},
		{"host cert", ca, pub, certtest.Options{Principals: []string{"u"}, ValidAfter: now.Add(-h), ValidBefore: now.Add(24 * h), Type: ssh.HostCert}, "1h", ""},
		{"other key", ca, otherPub, win(-h, 24*h), "1h", ""},
		{"pinned CA by file", ca, pub, win(-h, 24*h), "1h", caFile},
		{"pinned CA by fingerprint", ca, pub, win(-h, 24*h), "1h", ca.Fingerprint()},
		{"other CA by file", other, pub, win(-h, 24*h), "1h", caFile},
		{"other CA by fingerprint", other, pub, win(-h, 24*h), "1h", ca.Fingerprint()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(certPath, c.by.Sign(t, c.pub, c.opts), 0o644); err != nil {
				t.Fatal(err)
			}
			min, err := cert.ParseThreshold(c.min)
			if err != nil {
				t.Fatal(err)
			}
			var auth *cert.Authority
			if c.auth != "" {
				if auth, err = cert.ParseAuthority(c.auth); err != nil {
					t.Fatal(err)
				}
			}
			want := full(key, certPath, auth, min, now)
			if got := quick.Check(key, certPath, c.auth, min, now); got != want {
				t.Errorf("quick.Check = %v, cert says %v", got, want)
			}
		})
	}
	// A pending install sends both to the slow path.
	os.WriteFile(certPath, ca.Sign(t, pub, win(-h, 24*h)), 0o644)
	os.WriteFile(certPath+quick.StagedSuffix, nil, 0o644)
	if quick.Check(key, certPath, "", cert.Threshold{}, now) {
		t.Error("quick.Check accepted a pending install")
	}
}

// FuzzQuickParse feeds certificate files to both parsers: whatever the fast
// path accepts, x/crypto/ssh must accept with the same fields.
func FuzzQuickParse(f *testing.F) {
	ca := certtest.NewCA(f)
	_, pub := certtest.NewKey(f)
	f.Add(ca.Sign(f, pub, certtest.Options{Principals: []string{"u"}, ValidAfter: time.Unix(1e9, 0), ValidBefore: time.Unix(2e9, 0)}))
	f.Add(ca.Sign(f, pub, certtest.Options{Forever: true}))
	f.Add([]byte("ssh-ed25519-cert-v01@openssh.com AAAA\n"))
	f.Add(ssh.MarshalAuthorizedKey(pub))
	f.Fuzz(func(t *testing.T, data []byte) {
		q, ok := quick.ParseCert(data)
		if !ok {
			return
		}
		c, err := cert.Parse(data)
		if err != nil {
			if q.Type == ssh.HostCert {
				return // cert.Parse refuses host certificates outright
			}
			t.Fatalf("quick accepted what cert refuses (%v)", err)
		}
		if c.CertType != q.Type || c.ValidAfter != q.ValidAfter || c.ValidBefore != q.ValidBefore {
			t.Fatalf("fields differ: %+v vs %+v", q, c)
		}
		if !bytes.Equal(c.SignatureKey.Marshal(), q.SignatureKey) {
			t.Fatal("signature keys differ")
		}
		_, key, ok := quick.ParsePublicKey(ssh.MarshalAuthorizedKey(c.Key))
		if !ok || !bytes.Equal(key, q.Key) {
			t.Fatal("certified keys differ")
		}
	})
}
