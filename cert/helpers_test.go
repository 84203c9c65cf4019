package cert

import (
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

// t0 is the fixed "now" of the time tables.
var t0 = time.Unix(1_800_000_000, 0).UTC()

// hourCert is a user certificate valid for [t0, t0+1h), signed by ca.
func hourCert(t testing.TB, ca *certtest.CA, pub ssh.PublicKey) []byte {
	t.Helper()
	return ca.Sign(t, pub, certtest.Options{KeyID: "hour", Principals: []string{"jdoe"},
		ValidAfter: t0, ValidBefore: t0.Add(time.Hour)})
}

// writePair installs a fresh key, its .pub and a certificate for it in dir
// the way ssh-keygen would, and returns their paths.
func writePair(t testing.TB, dir string, ca *certtest.CA) (keyPath, certPath string, pub ssh.PublicKey) {
	t.Helper()
	priv, pub := certtest.NewKey(t)
	keyPath = filepath.Join(dir, "key")
	certPath = keyPath + "-cert.pub"
	certtest.WriteKey(t, keyPath, priv, pub)
	writeFile(t, certPath, hourCert(t, ca, pub), 0o644)
	return keyPath, certPath, pub
}

func mustParse(t testing.TB, line []byte) *ssh.Certificate {
	t.Helper()
	c, err := Parse(line)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return c
}
