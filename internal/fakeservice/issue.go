package fakeservice

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// keyType is the kind of key pair the server generates.
type keyType int

const (
	keyEd25519 keyType = iota // OpenSSH "OPENSSH PRIVATE KEY" PEM
	keyRSA                    // PKCS#1 "RSA PRIVATE KEY" PEM, as sshproxy's ssh-keygen -m PEM
)

// issue is one certificate handed out.
type issue struct {
	privatePEM []byte // nil when the server signed the client's key
	publicLine []byte // the (generated or given) key's authorized_keys line
	certLine   []byte // authorized_keys line, no trailing newline
	serial     uint64
	validUntil time.Time
}

// issue makes (or takes) a key and signs a certificate for it, spoiled the
// way mode says. pub is the client's key to sign, or nil to generate a
// pair. keyID makes the certificate's key id from its serial.
func (s *Server) issue(mode Mode, user string, kt keyType, pub ssh.PublicKey, validity time.Duration, keyID func(serial uint64) string) (*issue, error) {
	var out issue
	if pub == nil {
		p, pemBytes, err := generateKey(kt, user)
		if err != nil {
			return nil, err
		}
		pub, out.privatePEM = p, pemBytes
	}
	out.publicLine = bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub))
	certKey := pub
	if mode == ModeWrongKey {
		other, _, err := generateKey(kt, user)
		if err != nil {
			return nil, err
		}
		certKey = other
	}

	s.mu.Lock()
	s.serial++
	out.serial = s.serial
	now := s.now()
	s.mu.Unlock()

	after, before := now.Add(-time.Minute), now.Add(validity)
	if mode == ModeExpired {
		after, before = now.Add(-validity-time.Hour), now.Add(-time.Hour)
	}
	cert := &ssh.Certificate{
		Key:             certKey,
		Serial:          out.serial,
		CertType:        ssh.UserCert,
		KeyId:           keyID(out.serial),
		ValidPrincipals: []string{user},
		ValidAfter:      uint64(after.Unix()),
		ValidBefore:     uint64(before.Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-X11-forwarding":   "",
			"permit-agent-forwarding": "",
			"permit-port-forwarding":  "",
			"permit-pty":              "",
			"permit-user-rc":          "",
		}},
	}
	if mode == ModeHostCert {
		cert.CertType = ssh.HostCert
		cert.Permissions = ssh.Permissions{}
	}
	signer := s.CA
	if mode == ModeOtherCA {
		signer = s.otherCA
	}
	if err := cert.SignCert(rand.Reader, signer); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	out.certLine = bytes.TrimSpace(ssh.MarshalAuthorizedKey(cert))
	out.validUntil = before
	if mode == ModeTruncatedKey {
		if out.privatePEM != nil {
			out.privatePEM = out.privatePEM[:len(out.privatePEM)/2]
		} else {
			out.certLine = out.certLine[:len(out.certLine)/2]
		}
	}

	s.mu.Lock()
	s.issued = append(s.issued, now)
	s.mu.Unlock()
	return &out, nil
}

// generateKey makes a fresh key pair and its private key PEM.
func generateKey(kt keyType, comment string) (ssh.PublicKey, []byte, error) {
	var priv crypto.Signer
	var block *pem.Block
	switch kt {
	case keyRSA:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, nil, err
		}
		priv = k
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	default:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, nil, err
		}
		priv = k
		if block, err = ssh.MarshalPrivateKey(k, comment); err != nil {
			return nil, nil, err
		}
	}
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		return nil, nil, err
	}
	return pub, pem.EncodeToMemory(block), nil
}
