package cert

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

// BenchmarkFastCheck is what runs before every SSH connection when the
// certificate is fresh: Pending, load the certificate, the public key via
// the .pub, key equality and Fresh.
func BenchmarkFastCheck(b *testing.B) {
	keyPath, certPath, _ := writePair(b, b.TempDir(), certtest.NewCA(b))
	min := Threshold{Percent: 25}
	now := t0.Add(time.Minute)
	for b.Loop() {
		if Pending(keyPath, certPath) {
			b.Fatal("pending")
		}
		if _, err := Check(keyPath, certPath, now, min); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCheck(t *testing.T) {
	ca := certtest.NewCA(t)
	dir := t.TempDir()
	keyPath, certPath, pub := writePair(t, dir, ca)
	if c, err := Check(keyPath, certPath, t0, Threshold{Duration: time.Minute}); err != nil || c == nil {
		t.Errorf("Check = %v", err)
	}
	if c, err := Check(keyPath, certPath, t0.Add(55*time.Minute), Threshold{Percent: 25}); !errors.Is(err, ErrExpiring) || c == nil {
		t.Errorf("Check near the end = %v", err)
	}
	if _, err := Check(keyPath+".nope", certPath, t0, Threshold{}); !errors.Is(err, ErrMissing) {
		t.Errorf("Check without key = %v", err)
	}
	if _, err := Check(keyPath, certPath+".nope", t0, Threshold{}); !errors.Is(err, ErrMissing) {
		t.Errorf("Check without certificate = %v", err)
	}
	_, other := certtest.NewKey(t)
	writeFile(t, certPath, hourCert(t, ca, other), 0o644)
	if _, err := Check(keyPath, certPath, t0, Threshold{}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("Check with a foreign certificate = %v", err)
	}
	writeFile(t, certPath, ca.Sign(t, pub, certtest.Options{Type: ssh.HostCert}), 0o644)
	if _, err := Check(keyPath, certPath, t0, Threshold{}); !errors.Is(err, ErrHostCertificate) {
		t.Errorf("Check with a host certificate = %v", err)
	}
}
