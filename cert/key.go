package cert

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"golang.org/x/crypto/ssh"
)

// PublicKey returns the public key of the private key at keyPath.
//
// When keyPath+".pub" exists it is trusted, as ssh trusts it: reading it
// costs microseconds where checking an RSA private key costs milliseconds,
// and it works for encrypted keys. The private key must still exist (a
// missing key gives ErrMissing). Without a .pub the private key is parsed;
// an encrypted key gives ErrKey unless its public half is stored in the
// clear (the OpenSSH format does that).
func PublicKey(keyPath string) (ssh.PublicKey, error) {
	if _, err := os.Stat(keyPath); err != nil {
		return nil, fileError(keyPath, err)
	}
	data, err := readSmall(keyPath + ".pub")
	switch {
	case err == nil:
		pub, err := parsePublicKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s.pub: %w", keyPath, err)
		}
		return pub, nil
	case !errors.Is(err, ErrMissing):
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return privatePublicKey(keyPath)
}

// privatePublicKey derives the public key from the private key file itself,
// ignoring any .pub (which an interrupted install may have left stale).
func privatePublicKey(keyPath string) (ssh.PublicKey, error) {
	data, err := os.ReadFile(keyPath)
	if err != nil {
		if err := fileError(keyPath, err); errors.Is(err, ErrMissing) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	defer clear(data)
	signer, err := ssh.ParsePrivateKey(data)
	if err == nil {
		return signer.PublicKey(), nil
	}
	var pme *ssh.PassphraseMissingError
	if errors.As(err, &pme) {
		if pme.PublicKey != nil {
			return pme.PublicKey, nil
		}
		return nil, fmt.Errorf("%s: %w: encrypted private key and no %s.pub", keyPath, ErrKey, keyPath)
	}
	return nil, fmt.Errorf("%s: %w: %v", keyPath, ErrKey, err)
}

// parsePublicKey parses one plain public key in authorized_keys format.
func parsePublicKey(data []byte) (ssh.PublicKey, error) {
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil, fmt.Errorf("%w: empty public key", ErrKey)
		}
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	if _, ok := pub.(*ssh.Certificate); ok {
		return nil, fmt.Errorf("%w: a certificate, not a public key", ErrKey)
	}
	return pub, nil
}

// ParsePrivateKey parses an unencrypted private key as key services return
// it: OpenSSH, PKCS#1 RSA, PKCS#8 or SEC 1 EC, PEM-encoded. Errors match
// ErrKey and never quote the key.
func ParsePrivateKey(pemBytes []byte) (ssh.Signer, error) {
	raw, err := ParseRawPrivateKey(pemBytes)
	if err != nil {
		return nil, err
	}
	s, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return s, nil
}

// ParseRawPrivateKey is ParsePrivateKey returning the crypto key itself
// (*rsa.PrivateKey, *ecdsa.PrivateKey, *ed25519.PrivateKey), as
// ssh/agent.AddedKey wants it.
func ParseRawPrivateKey(pemBytes []byte) (any, error) {
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		var pme *ssh.PassphraseMissingError
		if errors.As(err, &pme) {
			return nil, fmt.Errorf("%w: private key is encrypted", ErrKey)
		}
		return nil, fmt.Errorf("%w: %v", ErrKey, err)
	}
	return raw, nil
}

// SameKey reports whether a and b are the same public key. A certificate
// stands for the key it certifies.
func SameKey(a, b ssh.PublicKey) bool {
	if a == nil || b == nil {
		return false
	}
	if c, ok := a.(*ssh.Certificate); ok {
		a = c.Key
	}
	if c, ok := b.(*ssh.Certificate); ok {
		b = c.Key
	}
	return bytes.Equal(a.Marshal(), b.Marshal())
}
