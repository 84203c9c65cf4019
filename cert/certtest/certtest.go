// Package certtest makes throwaway SSH certificate authorities, keys and
// certificates for tests. It is for tests only: the keys are generated
// without care for anything but speed.
package certtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// CA is a throwaway ed25519 user certificate authority.
type CA struct {
	// Signer signs certificates.
	Signer ssh.Signer
	// AuthorizedKey is the CA's public key as an authorized_keys line
	// (newline-terminated), the content of a ca.pub file.
	AuthorizedKey []byte

	tb testing.TB
}

// NewCA makes a new ed25519 certificate authority.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("certtest: generating CA key: %v", err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		tb.Fatalf("certtest: CA signer: %v", err)
	}
	return &CA{Signer: s, AuthorizedKey: ssh.MarshalAuthorizedKey(s.PublicKey()), tb: tb}
}

// PublicKey returns the CA's public key.
func (ca *CA) PublicKey() ssh.PublicKey { return ca.Signer.PublicKey() }

// Fingerprint returns the CA's "SHA256:..." fingerprint, the form the
// cert_authority setting accepts.
func (ca *CA) Fingerprint() string { return ssh.FingerprintSHA256(ca.Signer.PublicKey()) }

// WritePub writes the CA's public key to dir/ca.pub (0644) and returns its path.
// It fails the test that made the CA on error.
func (ca *CA) WritePub(dir string) string {
	ca.tb.Helper()
	p := filepath.Join(dir, "ca.pub")
	if err := os.WriteFile(p, ca.AuthorizedKey, 0o644); err != nil {
		ca.tb.Fatalf("certtest: %v", err)
	}
	return p
}

// Options describe the certificate to sign. The zero value gives a user
// certificate for principal "user", key id "test", valid from the epoch
// (ValidAfter 0) until one hour from now.
type Options struct {
	KeyID      string
	Principals []string // default ["user"]; x/crypto refuses to sign an empty list
	// ValidAfter zero means 0 on the wire ("valid since forever").
	ValidAfter time.Time
	// ValidBefore zero means one hour from now, unless Forever is set.
	ValidBefore time.Time
	// Forever sets ValidBefore to ssh.CertTimeInfinity.
	Forever bool
	// Type is ssh.UserCert (default) or ssh.HostCert.
	Type   uint32
	Serial uint64
	// Extensions default to OpenSSH's usual user permissions when nil.
	Extensions      map[string]string
	CriticalOptions map[string]string
}

// Cert signs pub and returns the certificate.
func (ca *CA) Cert(tb testing.TB, pub ssh.PublicKey, o Options) *ssh.Certificate {
	tb.Helper()
	c := &ssh.Certificate{
		Key:             pub,
		Serial:          o.Serial,
		CertType:        o.Type,
		KeyId:           o.KeyID,
		ValidPrincipals: o.Principals,
		Permissions: ssh.Permissions{
			CriticalOptions: o.CriticalOptions,
			Extensions:      o.Extensions,
		},
	}
	if c.CertType == 0 {
		c.CertType = ssh.UserCert
	}
	if c.KeyId == "" {
		c.KeyId = "test"
	}
	if len(c.ValidPrincipals) == 0 {
		c.ValidPrincipals = []string{"user"}
	}
	if c.Permissions.Extensions == nil && c.CertType == ssh.UserCert {
		c.Permissions.Extensions = map[string]string{
			"permit-pty":              "",
			"permit-port-forwarding":  "",
			"permit-agent-forwarding": "",
		}
	}
	if !o.ValidAfter.IsZero() {
		c.ValidAfter = uint64(o.ValidAfter.Unix())
	}
	switch {
	case o.Forever:
		c.ValidBefore = ssh.CertTimeInfinity
	case o.ValidBefore.IsZero():
		c.ValidBefore = uint64(time.Now().Add(time.Hour).Unix())
	default:
		c.ValidBefore = uint64(o.ValidBefore.Unix())
	}
	if err := c.SignCert(rand.Reader, ca.Signer); err != nil {
		tb.Fatalf("certtest: signing: %v", err)
	}
	return c
}

// Sign signs pub and returns the certificate as an authorized_keys line
// (newline-terminated), the content of a -cert.pub file.
func (ca *CA) Sign(tb testing.TB, pub ssh.PublicKey, o Options) []byte {
	tb.Helper()
	return ssh.MarshalAuthorizedKey(ca.Cert(tb, pub, o))
}

// NewKey makes an ed25519 key pair and returns the private key as
// unencrypted OpenSSH PEM, and its public key.
func NewKey(tb testing.TB) (privPEM []byte, pub ssh.PublicKey) {
	tb.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("certtest: generating key: %v", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		tb.Fatalf("certtest: marshalling key: %v", err)
	}
	pub, err = ssh.NewPublicKey(priv.Public())
	if err != nil {
		tb.Fatalf("certtest: public key: %v", err)
	}
	return pem.EncodeToMemory(block), pub
}

// WriteKey writes privPEM to path (0600) and its public key to path+".pub"
// (0644), as ssh-keygen would.
func WriteKey(tb testing.TB, path string, privPEM []byte, pub ssh.PublicKey) {
	tb.Helper()
	if err := os.WriteFile(path, privPEM, 0o600); err != nil {
		tb.Fatalf("certtest: %v", err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(pub), 0o644); err != nil {
		tb.Fatalf("certtest: %v", err)
	}
}
