package cert

import (
	"slices"

	"golang.org/x/crypto/ssh"
)

// Info is what status shows about a certificate.
type Info struct {
	KeyID           string
	Principals      []string
	Serial          uint64
	KeyType         string // of the certified key, e.g. "ssh-ed25519"
	KeyFingerprint  string // SHA256 fingerprint of the certified key
	CA              string // SHA256 fingerprint of the signing CA key
	Window          Window
	Extensions      []string // names, sorted (e.g. "permit-pty")
	CriticalOptions map[string]string
}

// Describe returns c's status fields. It judges nothing.
func Describe(c *ssh.Certificate) Info {
	i := Info{
		KeyID:      c.KeyId,
		Principals: slices.Clone(c.ValidPrincipals),
		Serial:     c.Serial,
		Window:     WindowOf(c),
	}
	if c.Key != nil {
		i.KeyType = c.Key.Type()
		i.KeyFingerprint = ssh.FingerprintSHA256(c.Key)
	}
	if c.SignatureKey != nil {
		i.CA = ssh.FingerprintSHA256(c.SignatureKey)
	}
	for k := range c.Extensions {
		i.Extensions = append(i.Extensions, k)
	}
	slices.Sort(i.Extensions)
	if len(c.CriticalOptions) > 0 {
		i.CriticalOptions = make(map[string]string, len(c.CriticalOptions))
		for k, v := range c.CriticalOptions {
			i.CriticalOptions[k] = v
		}
	}
	return i
}
