package cert

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Authority is the cert_authority setting: the CA (or CAs) whose signature
// a certificate must carry.
type Authority struct {
	fingerprints []string // "SHA256:...", unpadded base64 as ssh-keygen -l prints it
	source       string   // the file the keys came from, or ""
}

// ParseAuthority parses cert_authority: a "SHA256:..." fingerprint (as
// `ssh-keygen -lf ca.pub` prints it; trailing '=' padding is tolerated), or
// the path of a file of CA public keys in authorized_keys format (ca.pub, or
// a TrustedUserCAKeys file with several keys, which allows CA rotation).
// The caller expands "~". Errors match ErrAuthority, and ErrMissing for a
// missing file.
func ParseAuthority(s string) (*Authority, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrAuthority)
	}
	if fp, ok := strings.CutPrefix(s, "SHA256:"); ok {
		fp = strings.TrimRight(fp, "=")
		raw, err := base64.RawStdEncoding.DecodeString(fp)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("%w: %q is not a SHA256 fingerprint", ErrAuthority, s)
		}
		// Re-encode so that comparisons are exact.
		return &Authority{fingerprints: []string{"SHA256:" + base64.RawStdEncoding.EncodeToString(raw)}}, nil
	}
	if i := strings.IndexByte(s, ':'); i > 0 && !strings.ContainsAny(s[:i], `/\.~`) && strings.ToUpper(s[:i]) == s[:i] {
		// "MD5:..." and the like: a fingerprint, just not one we accept.
		return nil, fmt.Errorf("%w: %q: only SHA256 fingerprints are supported", ErrAuthority, s)
	}
	data, err := readSmall(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAuthority, err)
	}
	a, err := parseAuthorityKeys(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrAuthority, s, err)
	}
	a.source = s
	return a, nil
}

// parseAuthorityKeys reads the CA keys of an authorized_keys-format file.
// Options such as "cert-authority" before a key are allowed; a certificate
// cannot be a CA.
func parseAuthorityKeys(data []byte) (*Authority, error) {
	a := &Authority{}
	for rest := data; len(bytes.TrimSpace(rest)) > 0; {
		pub, _, _, r, err := ssh.ParseAuthorizedKey(rest)
		if err != nil {
			break // ParseAuthorizedKey skips invalid lines; this means no key left
		}
		rest = r
		if _, ok := pub.(*ssh.Certificate); ok {
			return nil, errors.New("a certificate cannot be a certificate authority")
		}
		a.fingerprints = append(a.fingerprints, ssh.FingerprintSHA256(pub))
	}
	if len(a.fingerprints) == 0 {
		return nil, errors.New("no public key found")
	}
	return a, nil
}

// String returns the authority's SHA256 fingerprint (several, separated by
// ", ", when a file held several keys).
func (a *Authority) String() string {
	return strings.Join(a.fingerprints, ", ")
}

// Source returns the file the authority was read from, or "" for a fingerprint.
func (a *Authority) Source() string { return a.source }

// Trusts reports whether key (a CA public key) is one of the authority's.
func (a *Authority) Trusts(key ssh.PublicKey) bool {
	if key == nil {
		return false
	}
	fp := ssh.FingerprintSHA256(key)
	for _, f := range a.fingerprints {
		if f == fp {
			return true
		}
	}
	return false
}
