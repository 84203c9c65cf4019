package cert

import (
	"fmt"
	"time"

	"golang.org/x/crypto/ssh"
)

// Check is the fast path's whole test of an installed pair: the certificate
// at certPath parses as a user certificate, certifies the key at keyPath
// (through keyPath+".pub" when present), and is Fresh at now for min. It
// returns the certificate when it is loaded, even with an error, so that
// the caller can still report on it (for the grace period, say).
//
// Check does not verify the CA signature: the pair was verified when it was
// installed, and re-verifying an RSA signature before every connection would
// cost more than the whole check. Call Pending first: a pair in the middle
// of an interrupted install is not judged here.
func Check(keyPath, certPath string, now time.Time, min Threshold) (*ssh.Certificate, error) {
	c, err := Load(certPath)
	if err != nil {
		return nil, err
	}
	pub, err := PublicKey(keyPath)
	if err != nil {
		return c, err
	}
	if !SameKey(c.Key, pub) {
		return c, fmt.Errorf("%s: %w than %s", certPath, ErrWrongKey, keyPath)
	}
	if err := Fresh(c, now, min); err != nil {
		return c, fmt.Errorf("%s: %w", certPath, err)
	}
	return c, nil
}
