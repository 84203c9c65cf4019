package provider

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
	"github.com/hpc-auth/hpc-auth/internal/sshtest"
	"golang.org/x/crypto/ssh"
)

// TestHTTPPresetsLogin proves that what each provider obtains really logs
// in: a real sshd that trusts the fake service's CA, the real ssh client,
// the key and certificate written as the engine would write them.
func TestHTTPPresetsLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd login (-short)")
	}
	for _, p := range httpTestPresets {
		t.Run(p.name, func(t *testing.T) {
			ca := httpTestSigner(t)
			srv := sshtest.Start(t, ca)
			e := httpTestStart(t, func(o *fakeservice.Options) {
				o.CA = ca
				o.Username = srv.Principal()
				o.Now = nil // sshd checks the validity against the real clock
			})
			e.clock.Advance(-30 * time.Second) // OTP steps forward to the current step
			dir := t.TempDir()
			keyPath, certPath := filepath.Join(dir, "key"), filepath.Join(dir, "key-cert.pub")

			var pub []byte
			var ownKey []byte
			if p.sign {
				_, priv, err := ed25519.GenerateKey(rand.Reader)
				if err != nil {
					t.Fatal(err)
				}
				block, err := ssh.MarshalPrivateKey(priv, "")
				if err != nil {
					t.Fatal(err)
				}
				ownKey = pem.EncodeToMemory(block)
				sp, err := ssh.NewPublicKey(priv.Public())
				if err != nil {
					t.Fatal(err)
				}
				pub = ssh.MarshalAuthorizedKey(sp)
			}
			c := HTTPConfig{URL: e.fake.URL + p.path, CAFile: e.caFile}
			if p.tune != nil {
				p.tune(&c)
			}
			prov, err := p.make(c)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := prov.Renew(ctx, e.request(pub))
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			key := res.PrivateKey
			if p.sign {
				key = ownKey
			}
			if err := os.WriteFile(keyPath, key, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(certPath, res.Certificate, 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := srv.SSH(t, keyPath, certPath, "echo", "logged-in")
			if err != nil || !strings.Contains(out, "logged-in") {
				t.Fatalf("ssh login with the %s certificate failed: %v\n%s\nsshd log:\n%s", p.name, err, out, srv.Log())
			}
		})
	}
}
