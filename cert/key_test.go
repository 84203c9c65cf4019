package cert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

func TestPublicKey(t *testing.T) {
	dir := t.TempDir()
	priv, pub := certtest.NewKey(t)
	key := filepath.Join(dir, "key")

	// Missing key, even with a .pub.
	writeFile(t, key+".pub", ssh.MarshalAuthorizedKey(pub), 0o644)
	if _, err := PublicKey(key); !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), key) {
		t.Errorf("missing key: %v", err)
	}

	// With .pub: the .pub is trusted, the key is not parsed.
	writeFile(t, key, []byte("not parsed on the fast path"), 0o600)
	if got, err := PublicKey(key); err != nil || !SameKey(got, pub) {
		t.Errorf("with .pub: %v", err)
	}

	// Without .pub: the private key.
	must(t, os.Remove(key+".pub"))
	writeFile(t, key, priv, 0o600)
	if got, err := PublicKey(key); err != nil || !SameKey(got, pub) {
		t.Errorf("without .pub: %v", err)
	}

	// A broken or misplaced .pub is an error, not silently skipped.
	for name, data := range map[string][]byte{
		"garbage":     []byte("garbage\n"),
		"empty":       nil,
		"certificate": hourCert(t, certtest.NewCA(t), pub),
	} {
		writeFile(t, key+".pub", data, 0o644)
		if _, err := PublicKey(key); !errors.Is(err, ErrKey) {
			t.Errorf(".pub %s: %v, want ErrKey", name, err)
		}
	}
	must(t, os.Remove(key+".pub"))

	// Garbage private key without .pub.
	writeFile(t, key, []byte("garbage"), 0o600)
	if _, err := PublicKey(key); !errors.Is(err, ErrKey) {
		t.Errorf("garbage key: %v", err)
	}
}

func TestPublicKeyEncrypted(t *testing.T) {
	dir := t.TempDir()
	_, raw, _ := ed25519.GenerateKey(rand.Reader)
	pub, _ := ssh.NewPublicKey(raw.Public())

	// OpenSSH format keeps the public key in the clear: usable without .pub.
	block, err := ssh.MarshalPrivateKeyWithPassphrase(raw, "", []byte("secret passphrase"))
	must(t, err)
	key := filepath.Join(dir, "openssh")
	writeFile(t, key, pem.EncodeToMemory(block), 0o600)
	if got, err := PublicKey(key); err != nil || !SameKey(got, pub) {
		t.Errorf("encrypted OpenSSH key: %v", err)
	}

	// Legacy encrypted PEM has no public key in the clear: ErrKey without .pub.
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	must(t, err)
	//lint:ignore SA1019 legacy encrypted PEM is exactly what is being tested
	eb, err := x509.EncryptPEMBlock(rand.Reader, "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), []byte("secret passphrase"), x509.PEMCipherAES256)
	must(t, err)
	legacy := filepath.Join(dir, "legacy")
	writeFile(t, legacy, pem.EncodeToMemory(eb), 0o600)
	_, err = PublicKey(legacy)
	if !errors.Is(err, ErrKey) || !strings.Contains(err.Error(), "encrypted") {
		t.Errorf("encrypted PEM key without .pub: %v", err)
	}
	rpub, _ := ssh.NewPublicKey(&rk.PublicKey)
	writeFile(t, legacy+".pub", ssh.MarshalAuthorizedKey(rpub), 0o644)
	if got, err := PublicKey(legacy); err != nil || !SameKey(got, rpub) {
		t.Errorf("encrypted PEM key with .pub: %v", err)
	}
	if _, err := ParsePrivateKey(pem.EncodeToMemory(eb)); !errors.Is(err, ErrKey) {
		t.Errorf("ParsePrivateKey(encrypted): %v", err)
	}
}

func TestParsePrivateKey(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rk, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8 := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		must(t, err)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	openssh := func(k any) []byte {
		b, err := ssh.MarshalPrivateKey(k, "c")
		must(t, err)
		return pem.EncodeToMemory(b)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ec)
	tests := []struct {
		name string
		pem  []byte
		pub  any
	}{
		{"OpenSSH ed25519", openssh(ed), ed.Public()},
		{"OpenSSH RSA", openssh(rk), &rk.PublicKey},
		{"OpenSSH ECDSA", openssh(ec), &ec.PublicKey},
		{"PKCS#1 RSA", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}), &rk.PublicKey},
		{"PKCS#8 RSA", pkcs8(rk), &rk.PublicKey},
		{"PKCS#8 ed25519", pkcs8(ed), ed.Public()},
		{"PKCS#8 ECDSA", pkcs8(ec), &ec.PublicKey},
		{"SEC 1 EC", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), &ec.PublicKey},
		{"text around, CRLF", append([]byte("Here is your key:\r\n"), bytes.ReplaceAll(openssh(ed), []byte("\n"), []byte("\r\n"))...), ed.Public()},
	}
	for _, tt := range tests {
		s, err := ParsePrivateKey(tt.pem)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		want, _ := ssh.NewPublicKey(tt.pub)
		if !SameKey(s.PublicKey(), want) {
			t.Errorf("%s: wrong public key", tt.name)
		}
	}

	secret := "c2VjcmV0LWtleS1tYXRlcmlhbA" // must never be echoed
	for _, bad := range [][]byte{nil, []byte("garbage"), []byte("-----BEGIN OPENSSH PRIVATE KEY-----\n" + secret + "\n-----END OPENSSH PRIVATE KEY-----\n"),
		pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte(secret)})} {
		_, err := ParsePrivateKey(bad)
		if !errors.Is(err, ErrKey) {
			t.Errorf("ParsePrivateKey(%.20q) = %v, want ErrKey", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}

func TestSameKey(t *testing.T) {
	ca := certtest.NewCA(t)
	_, a := certtest.NewKey(t)
	_, b := certtest.NewKey(t)
	c := mustParse(t, hourCert(t, ca, a))
	if !SameKey(a, a) || !SameKey(c, a) || !SameKey(a, c) || SameKey(a, b) || SameKey(c, b) || SameKey(nil, a) || SameKey(a, nil) {
		t.Error("SameKey")
	}
}
