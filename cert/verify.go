package cert

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"golang.org/x/crypto/ssh"
)

// Verify checks what must hold before a certificate is trusted, in this
// order: it is a user certificate (ErrHostCertificate), it certifies want
// (ErrWrongKey), its CA signature verifies (ErrBadSignature), the CA is
// auth's when auth is not nil (ErrWrongAuthority), and it is valid at now
// (ErrExpired, ErrNotYetValid; ValidAfter may be up to Skew ahead).
//
// Verify does not apply min_validity (see Fresh), and it does not decide
// whether the CA is trusted when auth is nil: that is the server's business,
// and a client without cert_authority has nothing to compare with.
func Verify(c *ssh.Certificate, want ssh.PublicKey, auth *Authority, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: no certificate", ErrCorrupt)
	}
	switch c.CertType {
	case ssh.UserCert:
	case ssh.HostCert:
		return ErrHostCertificate
	default:
		return fmt.Errorf("%w: unknown certificate type %d", ErrCorrupt, c.CertType)
	}
	if want == nil {
		return fmt.Errorf("%w: no key to compare the certificate with", ErrKey)
	}
	if !SameKey(c.Key, want) {
		return fmt.Errorf("%w: certificate is for %s, key is %s",
			ErrWrongKey, ssh.FingerprintSHA256(c.Key), ssh.FingerprintSHA256(want))
	}
	if err := checkTimestamps(c); err != nil {
		return err
	}
	w := WindowOf(c)
	if !w.Forever && !w.Before.After(w.After) {
		return w.check(now) // an empty window: never valid
	}
	if err := checkSignature(c); err != nil {
		return err
	}
	if auth != nil && !auth.Trusts(c.SignatureKey) {
		return fmt.Errorf("%w: signed by %s, expected %s",
			ErrWrongAuthority, ssh.FingerprintSHA256(c.SignatureKey), auth)
	}
	return w.check(now)
}

// checkSignature verifies the CA's signature with ssh.CertChecker. The
// checker's clock is pinned inside the validity window, and every critical
// option the certificate carries is declared supported, so that the only
// thing left for CheckCert to refuse is the signature: validity is judged
// by Window (with Skew), and critical options bind the server, not us.
func checkSignature(c *ssh.Certificate) error {
	if c.SignatureKey == nil || c.Signature == nil {
		return fmt.Errorf("%w: unsigned", ErrBadSignature)
	}
	if _, ok := c.SignatureKey.(*ssh.Certificate); ok {
		return fmt.Errorf("%w: signed by a certificate, not a CA key", ErrBadSignature)
	}
	if len(c.ValidPrincipals) == 0 {
		// CertChecker refuses a certificate without principals before it
		// looks at the signature, so check that by hand.
		if err := c.SignatureKey.Verify(bytesForSigning(c), c.Signature); err != nil {
			return fmt.Errorf("%w (CA %s)", ErrBadSignature, ssh.FingerprintSHA256(c.SignatureKey))
		}
		return nil
	}
	after := int64(c.ValidAfter)
	checker := ssh.CertChecker{
		SupportedCriticalOptions: slices.Collect(maps.Keys(c.CriticalOptions)),
		Clock:                    func() time.Time { return time.Unix(after, 0) },
	}
	if err := checker.CheckCert(c.ValidPrincipals[0], c); err != nil {
		// Everything but the signature was arranged to pass.
		return fmt.Errorf("%w (CA %s)", ErrBadSignature, ssh.FingerprintSHA256(c.SignatureKey))
	}
	return nil
}

// bytesForSigning is what the CA signs: the certificate without its
// signature (x/crypto's unexported Certificate.bytesForSigning).
func bytesForSigning(c *ssh.Certificate) []byte {
	c2 := *c
	c2.Signature = nil
	out := c2.Marshal()
	return out[:len(out)-4] // drop the empty signature's length
}
