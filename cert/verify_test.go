package cert

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

func TestVerify(t *testing.T) {
	dir := t.TempDir()
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	_, pub := certtest.NewKey(t)
	_, foreign := certtest.NewKey(t)
	good := mustParse(t, hourCert(t, ca, pub))
	now := t0.Add(time.Minute)

	byFP, err := ParseAuthority(ca.Fingerprint())
	must(t, err)
	byFile, err := ParseAuthority(ca.WritePub(dir))
	must(t, err)
	otherFP, err := ParseAuthority(other.Fingerprint())
	must(t, err)
	otherFile, err := ParseAuthority(other.WritePub(t.TempDir()))
	must(t, err)

	// Tampering: change one byte of the signed data (the key id), and one
	// of the signature.
	tamper := func(c *ssh.Certificate, f func(blob []byte)) *ssh.Certificate {
		blob := bytes.Clone(c.Marshal())
		f(blob)
		k, err := ssh.ParsePublicKey(blob)
		must(t, err)
		return k.(*ssh.Certificate)
	}
	badID := tamper(good, func(b []byte) { b[bytes.Index(b, []byte("hour"))] = 'H' })
	badSig := tamper(good, func(b []byte) { b[len(b)-1] ^= 1 })
	if badID.KeyId != "Hour" {
		t.Fatal("tampering failed")
	}

	// x/crypto refuses to sign a certificate without principals; sign one by hand.
	noPrincipals := &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidAfter: uint64(t0.Unix()), ValidBefore: uint64(t0.Unix()) + 3600}
	signRaw(t, ca, noPrincipals)
	noPrincipalsBad := tamper(noPrincipals, func(b []byte) { b[len(b)-1] ^= 1 })

	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	rsaSigner, err := ssh.NewSignerFromKey(rk)
	must(t, err)
	rsaCA := &certtest.CA{Signer: rsaSigner, AuthorizedKey: ssh.MarshalAuthorizedKey(rsaSigner.PublicKey())}

	tests := []struct {
		name string
		c    *ssh.Certificate
		want ssh.PublicKey
		auth *Authority
		now  time.Time
		err  error
	}{
		{"good", good, pub, nil, now, nil},
		{"good, CA by fingerprint", good, pub, byFP, now, nil},
		{"good, CA by file", good, pub, byFile, now, nil},
		{"want is a certificate", good, good, byFP, now, nil},
		{"RSA CA", rsaCA.Cert(t, pub, certtest.Options{ValidAfter: t0, ValidBefore: t0.Add(time.Hour)}), pub, nil, now, nil},
		{"critical options", ca.Cert(t, pub, certtest.Options{ValidAfter: t0, ValidBefore: t0.Add(time.Hour),
			CriticalOptions: map[string]string{"force-command": "/bin/true", "source-address": "10.0.0.0/8", "verify-required": ""}}), pub, byFP, now, nil},
		{"no principals", noPrincipals, pub, byFP, now, nil},
		{"forever", ca.Cert(t, pub, certtest.Options{Forever: true}), pub, byFP, now.Add(1e6 * time.Hour), nil},
		{"wrong key", good, foreign, byFP, now, ErrWrongKey},
		{"no key", good, nil, byFP, now, ErrKey},
		{"wrong CA fingerprint", good, pub, otherFP, now, ErrWrongAuthority},
		{"wrong CA file", good, pub, otherFile, now, ErrWrongAuthority},
		{"tampered key id", badID, pub, nil, now, ErrBadSignature},
		{"tampered signature", badSig, pub, byFP, now, ErrBadSignature},
		{"tampered, no principals", noPrincipalsBad, pub, nil, now, ErrBadSignature},
		{"host certificate", ca.Cert(t, pub, certtest.Options{Type: ssh.HostCert}), pub, byFP, now, ErrHostCertificate},
		{"expired", good, pub, byFP, t0.Add(time.Hour), ErrExpired},
		{"not yet valid", good, pub, byFP, t0.Add(-time.Hour), ErrNotYetValid},
		{"empty window", ca.Cert(t, pub, certtest.Options{ValidAfter: t0, ValidBefore: t0}), pub, byFP, now, ErrExpired},
		{"nil", nil, pub, nil, now, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.c, tt.want, tt.auth, tt.now)
			if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
				t.Errorf("Verify = %v, want %v", err, tt.err)
			}
		})
	}

	// The wrong-authority message names both CAs.
	err = Verify(good, pub, otherFP, now)
	if msg := err.Error(); !strings.Contains(msg, ca.Fingerprint()) || !strings.Contains(msg, other.Fingerprint()) {
		t.Errorf("message does not name both CAs: %s", msg)
	}
	// Verify does not apply min_validity.
	if err := Verify(good, pub, nil, t0.Add(time.Hour-time.Second)); err != nil {
		t.Errorf("last second: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	ca := certtest.NewCA(t)
	_, pub := certtest.NewKey(t)
	c := ca.Cert(t, pub, certtest.Options{KeyID: "jdoe-123", Principals: []string{"jdoe", "ops"}, Serial: 42,
		ValidAfter: t0, ValidBefore: t0.Add(time.Hour), CriticalOptions: map[string]string{"force-command": "x"}})
	i := Describe(c)
	if i.KeyID != "jdoe-123" || strings.Join(i.Principals, ",") != "jdoe,ops" || i.Serial != 42 ||
		i.CA != ca.Fingerprint() || i.KeyFingerprint != ssh.FingerprintSHA256(pub) || i.KeyType != "ssh-ed25519" ||
		!i.Window.After.Equal(t0) || !i.Window.Before.Equal(t0.Add(time.Hour)) ||
		strings.Join(i.Extensions, ",") != "permit-agent-forwarding,permit-port-forwarding,permit-pty" ||
		i.CriticalOptions["force-command"] != "x" {
		t.Errorf("Describe = %+v", i)
	}
}
