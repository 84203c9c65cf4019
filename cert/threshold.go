package cert

import (
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// Threshold is min_validity: how much validity a certificate must have left
// before it is renewed, as a fixed Duration or a Percent of the
// certificate's whole lifetime. See package validity, which the fast path
// shares.
type Threshold = quick.Threshold

// ParseThreshold parses a Go duration ("1h", "90s", "1h30m") or a
// percentage ("25%", "12.5%"); errors wrap ErrThreshold.
func ParseThreshold(s string) (Threshold, error) { return quick.ParseThreshold(s) }

// Margin returns the margin t demands of c, as a duration (see
// quick.Threshold.Of).
func Margin(t Threshold, c *ssh.Certificate) time.Duration {
	return t.Of(WindowOf(c).Lifetime())
}
