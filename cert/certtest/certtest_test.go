package certtest_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

func TestSign(t *testing.T) {
	ca := certtest.NewCA(t)
	priv, pub := certtest.NewKey(t)
	after := time.Unix(1_800_000_000, 0)
	line := ca.Sign(t, pub, certtest.Options{
		KeyID: "id", Principals: []string{"jdoe"},
		ValidAfter: after, ValidBefore: after.Add(time.Hour), Serial: 7,
	})
	k, _, _, _, err := ssh.ParseAuthorizedKey(line)
	if err != nil {
		t.Fatal(err)
	}
	c := k.(*ssh.Certificate)
	if c.KeyId != "id" || c.ValidPrincipals[0] != "jdoe" || c.Serial != 7 || c.CertType != ssh.UserCert ||
		c.ValidAfter != uint64(after.Unix()) || c.ValidBefore != uint64(after.Add(time.Hour).Unix()) {
		t.Errorf("unexpected certificate %+v", c)
	}
	if !bytes.Equal(c.Key.Marshal(), pub.Marshal()) || !bytes.Equal(c.SignatureKey.Marshal(), ca.PublicKey().Marshal()) {
		t.Error("wrong key or CA")
	}
	checker := ssh.CertChecker{Clock: func() time.Time { return after }}
	if err := checker.CheckCert("jdoe", c); err != nil {
		t.Error(err)
	}
	s, err := ssh.ParsePrivateKey(priv)
	if err != nil || !bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
		t.Errorf("private key does not match: %v", err)
	}

	forever := ca.Cert(t, pub, certtest.Options{Forever: true, Type: ssh.HostCert})
	if forever.ValidBefore != ssh.CertTimeInfinity || forever.ValidAfter != 0 || forever.CertType != ssh.HostCert {
		t.Errorf("unexpected certificate %+v", forever)
	}

	dir := t.TempDir()
	p := ca.WritePub(dir)
	if data, err := os.ReadFile(p); err != nil || !bytes.Equal(data, ca.AuthorizedKey) {
		t.Errorf("WritePub: %v", err)
	}
	certtest.WriteKey(t, filepath.Join(dir, "key"), priv, pub)
	if fi, err := os.Stat(filepath.Join(dir, "key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode: %v %v", fi.Mode(), err)
	}
}
