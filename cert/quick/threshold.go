package quick

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Threshold is min_validity: how much validity a certificate must have left
// before it is renewed, either as a fixed Duration or as a Percent of the
// certificate's whole lifetime (so that one setting suits a centre issuing
// 1-day certificates and one issuing 1-hour ones). At most one is set; the
// zero Threshold means "valid at all".
//
// "0%" parses to the zero Threshold and prints as "0s": both mean the same.
type Threshold struct {
	Duration time.Duration
	Percent  float64 // 0 < Percent <= 100 when set
}

// ParseThreshold parses a Go duration ("1h", "90s", "1h30m") or a
// percentage ("25%", "12.5%"). Negative values, percentages above 100 and
// the empty string are refused.
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Threshold{}, fmt.Errorf("%w: empty", ErrThreshold)
	}
	if num, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || math.IsNaN(p) || math.IsInf(p, 0) {
			return Threshold{}, fmt.Errorf("%w: %q is not a percentage", ErrThreshold, s)
		}
		if p < 0 || p > 100 {
			return Threshold{}, fmt.Errorf("%w: %q is not between 0%% and 100%%", ErrThreshold, s)
		}
		return Threshold{Percent: p}, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Threshold{}, fmt.Errorf("%w: %q is neither a duration (like 1h30m) nor a percentage (like 25%%)", ErrThreshold, s)
	}
	if d < 0 {
		return Threshold{}, fmt.Errorf("%w: %q is negative", ErrThreshold, s)
	}
	return Threshold{Duration: d}, nil
}

// String formats t so that ParseThreshold reads it back: "1h30m", "25%".
func (t Threshold) String() string {
	if t.Percent != 0 {
		return strconv.FormatFloat(t.Percent, 'f', -1, 64) + "%"
	}
	return ShortDuration(t.Duration)
}

// ShortDuration formats d without the zero units time.Duration.String adds: "1h" not "1h0m0s".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// Of returns the margin t demands of a certificate whose whole lifetime is
// lifetime. A percentage is of the lifetime; for a certificate without a
// bounded lifetime (lifetime 0: forever, or valid since the epoch) a
// percentage means 0: anything else would either never or always ask for
// renewal.
func (t Threshold) Of(lifetime time.Duration) time.Duration {
	if t.Percent == 0 {
		return t.Duration
	}
	return time.Duration(float64(lifetime) * t.Percent / 100)
}

// ErrThreshold: a min_validity that is neither a duration nor a percentage.
var ErrThreshold = errors.New("invalid min_validity")

// Skew is how far in the future a certificate's ValidAfter may lie and the
// certificate still count as valid. A key service stamps ValidAfter with its
// own clock; when ours is a little behind, a certificate issued a second ago
// would otherwise look "not yet valid" and be refused or renewed at once,
// although the cluster (whose clock is the service's) accepts it.
const Skew = time.Minute
