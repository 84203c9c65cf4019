package cert

import (
	"fmt"
	"math"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// Skew: see quick.Skew.
const Skew = quick.Skew

// maxUnix is the last second of year 9999. Later timestamps cannot be
// formatted as RFC 3339 and mean "never" in practice.
const maxUnix = 253402300799

// Window is a certificate's validity: [After, Before).
//
// A certificate with ValidAfter 0 has After at the Unix epoch. A certificate
// with ValidBefore ssh.CertTimeInfinity (or beyond year 9999) is Forever and
// has a zero Before.
type Window struct {
	After, Before time.Time
	Forever       bool
}

// WindowOf returns c's validity window.
func WindowOf(c *ssh.Certificate) Window {
	w := Window{After: unixTime(c.ValidAfter)}
	if c.ValidBefore == ssh.CertTimeInfinity || c.ValidBefore > maxUnix {
		w.Forever = true
	} else {
		w.Before = unixTime(c.ValidBefore)
	}
	return w
}

func unixTime(v uint64) time.Time {
	return time.Unix(int64(min(v, maxUnix)), 0).UTC()
}

// Remaining returns how long the window lasts after now: math.MaxInt64 when
// Forever, zero or less once it has ended (Before itself is outside the window).
func (w Window) Remaining(now time.Time) time.Duration {
	if w.Forever {
		return math.MaxInt64
	}
	return w.Before.Sub(now)
}

// Lifetime returns the window's length, or 0 when it is unbounded (Forever,
// or After at the epoch) or empty.
func (w Window) Lifetime() time.Duration {
	if w.Forever || w.After.Unix() == 0 || !w.Before.After(w.After) {
		return 0
	}
	return w.Before.Sub(w.After)
}

// check reports whether now lies in the window, allowing Skew before After.
func (w Window) check(now time.Time) error {
	if !w.Forever && !w.Before.After(w.After) {
		return fmt.Errorf("%w: empty validity window (%s to %s)", ErrExpired, stamp(w.After), stamp(w.Before))
	}
	if now.Add(Skew).Before(w.After) {
		return fmt.Errorf("%w: valid from %s", ErrNotYetValid, stamp(w.After))
	}
	if w.Remaining(now) <= 0 {
		return fmt.Errorf("%w at %s", ErrExpired, stamp(w.Before))
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Fresh returns nil when c is valid at now and stays valid for at least
// min (Remaining == min is enough). Otherwise it returns an error matching
// ErrNotYetValid (ValidAfter more than Skew after now), ErrExpired, or
// ErrExpiring (valid, but with less than min left).
//
// Fresh looks at time only: pair it with Verify, or on the fast path with
// Load (which refuses host certificates) and SameKey.
func Fresh(c *ssh.Certificate, now time.Time, min Threshold) error {
	w := WindowOf(c)
	if err := w.check(now); err != nil {
		return err
	}
	m := Margin(min, c)
	if left := w.Remaining(now); left < m {
		want := min.String()
		if min.Percent != 0 {
			want += " of " + quick.ShortDuration(w.Lifetime()) + " = " + quick.ShortDuration(m.Truncate(time.Second))
		}
		return fmt.Errorf("%w: %s left (until %s), less than min_validity %s",
			ErrExpiring, quick.ShortDuration(left.Truncate(time.Second)), stamp(w.Before), want)
	}
	return nil
}
