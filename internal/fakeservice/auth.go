package fakeservice

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// refusal is why the server turned a request down.
type refusal int

const (
	accepted refusal = iota
	refuseCredentials
	refuseOTPReused
	refuseLocked
	refuseQuota
)

// credentials are what a request carried.
type credentials struct {
	user, password, otp string
}

// authorize checks a request's credentials the way the real services do:
// a locked account is refused before anything is checked; a wrong password
// or code, or a code from a time step already used, is a failure that counts
// towards the lockout; valid credentials may still hit the daily quota.
func (s *Server) authorize(c credentials, mode Mode) refusal {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if mode == ModeLockout || s.lockedLocked(c.user, now) {
		return refuseLocked
	}
	ok := subtle.ConstantTimeCompare([]byte(c.user), []byte(s.opts.Username)) &
		subtle.ConstantTimeCompare([]byte(c.password), []byte(s.opts.Password))
	var step uint64
	if s.opts.TOTPSecret != "" {
		var otpOK bool
		step, otpOK = s.matchStep(c.otp, now)
		if !otpOK {
			ok = 0
		}
	}
	if ok != 1 {
		s.failures[c.user] = append(s.failures[c.user], now)
		return refuseCredentials
	}
	if s.opts.TOTPSecret != "" {
		if last, seen := s.lastStep[c.user]; seen && step <= last {
			s.failures[c.user] = append(s.failures[c.user], now)
			return refuseOTPReused
		}
		s.lastStep[c.user] = step
	}
	delete(s.failures, c.user) // a good login clears the count, as at NERSC
	if mode == ModeQuota || (s.opts.MaxPerDay > 0 && s.issuedSinceLocked(now.Add(-24*time.Hour)) >= s.opts.MaxPerDay) {
		return refuseQuota
	}
	return accepted
}

// matchStep finds the TOTP time step (current, or one either side for clock
// skew) whose code is code.
func (s *Server) matchStep(code string, now time.Time) (uint64, bool) {
	if len(code) != 6 {
		return 0, false
	}
	cur := uint64(now.Unix()) / totpPeriod
	for _, step := range []uint64{cur - 1, cur, cur + 1} {
		want, err := hotp.GenerateCodeCustom(s.opts.TOTPSecret, step, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// lockedLocked reports whether user had maxFailures failures within
// failureWindow. s.mu must be held.
func (s *Server) lockedLocked(user string, now time.Time) bool {
	recent := s.failures[user][:0]
	for _, t := range s.failures[user] {
		if now.Sub(t) < failureWindow {
			recent = append(recent, t)
		}
	}
	s.failures[user] = recent
	return len(recent) >= maxFailures
}

// issuedSinceLocked counts issues after t. s.mu must be held.
func (s *Server) issuedSinceLocked(t time.Time) int {
	n := 0
	for _, at := range s.issued {
		if at.After(t) {
			n++
		}
	}
	return n
}

// quota is the daily limit quoted in quota messages.
func (s *Server) quota() int {
	if s.opts.MaxPerDay > 0 {
		return s.opts.MaxPerDay
	}
	return 5
}
