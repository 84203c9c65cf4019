// Package totp turns a stored TOTP secret into one-time codes (RFC 6238)
// that a key service accepts the first time.
//
// A secret is given as base32, the way services display it (any case, with
// spaces or dashes, padding optional), or as an otpauth://totp/ URI whose
// algorithm, digits and period are honoured and checked: a value hpc-auth
// does not understand is an error, never a silent default, because a wrong
// guess only shows up later as a rejected login that may lock the account.
//
// Servers accept each time step's code once (RFC 6238 section 5.2), and one
// account often serves several clusters, so a [Ledger] remembers, across
// processes and profiles, which step was last sent for each secret and waits
// for the next one when needed.
package totp

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Errors from Parse and Ledger.Next wrap these. Their messages never contain
// the secret, not even a part of it.
var (
	ErrBadSecret = errors.New("bad TOTP secret")
	ErrBadURI    = errors.New("bad otpauth URI")
	ErrStepUsed  = errors.New("TOTP time step already used")
)

// Algorithm is the HMAC hash of a TOTP secret. The zero value is SHA1, the
// default of RFC 6238 and of every authenticator app.
type Algorithm int

const (
	SHA1 Algorithm = iota
	SHA256
	SHA512
)

func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", int(a))
}

// otp maps to pquerna/otp, whose Algorithm panics on values it does not know.
func (a Algorithm) otp() (otp.Algorithm, bool) {
	switch a {
	case SHA1:
		return otp.AlgorithmSHA1, true
	case SHA256:
		return otp.AlgorithmSHA256, true
	case SHA512:
		return otp.AlgorithmSHA512, true
	}
	return 0, false
}

const (
	defaultDigits = 6
	defaultPeriod = 30 * time.Second
	maxPeriod     = time.Hour
	minKeyBytes   = 10 // 80 bits: the shortest secret services hand out
	maxKeyBytes   = 1024
)

// Secret is a TOTP secret with its parameters. Make one with Parse or New;
// the key itself is unexported so that it cannot be printed by accident
// (%v of a Secret shows the parameters only).
type Secret struct {
	key       []byte
	Algorithm Algorithm
	Digits    int           // 6, 7 or 8
	Period    time.Duration // whole seconds, 1s to 1h
}

// New makes a Secret from raw key bytes (copied), e.g. the ASCII seeds of
// RFC 6238's test vectors.
func New(key []byte, alg Algorithm, digits int, period time.Duration) (*Secret, error) {
	s := &Secret{key: append([]byte(nil), key...), Algorithm: alg, Digits: digits, Period: period}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrBadSecret)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Secret) check() error {
	if _, ok := s.Algorithm.otp(); !ok {
		return fmt.Errorf("%w: unknown algorithm %v", ErrBadSecret, s.Algorithm)
	}
	if s.Digits < 6 || s.Digits > 8 {
		return fmt.Errorf("%w: %d digits (want 6, 7 or 8)", ErrBadSecret, s.Digits)
	}
	if s.Period < time.Second || s.Period > maxPeriod || s.Period%time.Second != 0 {
		return fmt.Errorf("%w: period %v (want whole seconds from 1s to %v)", ErrBadSecret, s.Period, maxPeriod)
	}
	return nil
}

// Step is the RFC 6238 time step (counter) of t: whole periods since the
// Unix epoch. Times before the epoch are step 0.
func (s *Secret) Step(t time.Time) uint64 {
	u := t.Unix()
	if u < 0 {
		return 0
	}
	return uint64(u) / s.periodSeconds()
}

// StepStart is when step begins.
func (s *Secret) StepStart(step uint64) time.Time {
	return time.Unix(int64(step*s.periodSeconds()), 0)
}

// Remaining is how long the code of t's step stays current.
func (s *Secret) Remaining(t time.Time) time.Duration {
	return s.StepStart(s.Step(t) + 1).Sub(t)
}

// Code is the one-time code for t. It panics if the Secret's fields were
// changed to values that Parse and New refuse.
func (s *Secret) Code(t time.Time) string {
	return s.codeAt(s.Step(t))
}

func (s *Secret) codeAt(step uint64) string {
	if err := s.check(); err != nil {
		panic("totp: " + err.Error())
	}
	alg, _ := s.Algorithm.otp()
	// pquerna/otp wants the key as base32 and decodes it again; unpadded
	// upper case is what it accepts without fuss.
	b32 := base32.StdEncoding.EncodeToString(s.key)
	code, err := hotp.GenerateCodeCustom(b32, step, hotp.ValidateOpts{
		Digits:    otp.Digits(s.Digits),
		Algorithm: alg,
	})
	if err != nil { // only for undecodable base32, which EncodeToString never makes
		panic("totp: " + err.Error())
	}
	return code
}

// idDomain separates ledger IDs from any other use of SHA-256 over the key.
const idDomain = "hpc-auth totp ledger id v1"

// ID identifies the secret in the Ledger: hex of a keyed SHA-256 (HMAC with a
// fixed, hpc-auth-specific key) over the parameters and the key. It reveals
// nothing about the key beyond allowing a guess to be checked, which for
// 80+ random bits is hopeless. Equal keys with equal parameters, however they
// were written (base32 in one profile, a URI in another), have equal IDs.
func (s *Secret) ID() string {
	m := hmac.New(sha256.New, []byte(idDomain))
	var p [1 + 1 + 4]byte
	p[0] = byte(s.Algorithm)
	p[1] = byte(s.Digits)
	binary.BigEndian.PutUint32(p[2:], uint32(s.periodSeconds()))
	m.Write(p[:])
	m.Write(s.key)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

func (s *Secret) periodSeconds() uint64 {
	if s.Period < time.Second {
		return uint64(defaultPeriod / time.Second)
	}
	return uint64(s.Period / time.Second)
}

// String shows the parameters, never the key (value receiver, so that a
// Secret printed by value is covered too).
func (s Secret) String() string {
	return fmt.Sprintf("TOTP(%v, %d digits, %v)", s.Algorithm, s.Digits, s.Period)
}

// GoString keeps %#v from printing the key too.
func (s Secret) GoString() string { return s.String() }
