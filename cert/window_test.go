package cert

import (
	"errors"
	"math"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func window(after, before uint64) *ssh.Certificate {
	return &ssh.Certificate{CertType: ssh.UserCert, ValidAfter: after, ValidBefore: before}
}

// TestFresh walks the edges of the validity window with a pinned clock.
func TestFresh(t *testing.T) {
	a := uint64(t0.Unix())
	hour := window(a, a+3600) // [t0, t0+1h)
	epoch := window(0, a+3600)
	forever := window(a, ssh.CertTimeInfinity)
	alwaysForever := window(0, ssh.CertTimeInfinity)
	empty := window(a, a)
	d := func(s string) Threshold { th, err := ParseThreshold(s); must(t, err); return th }
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	tests := []struct {
		name string
		c    *ssh.Certificate
		now  time.Time
		min  Threshold
		want error
	}{
		{"start", hour, at(0), d("0s"), nil},
		{"exactly at ValidBefore", hour, at(time.Hour), d("0s"), ErrExpired},
		{"after ValidBefore", hour, at(2 * time.Hour), d("1h"), ErrExpired},
		{"one second before ValidBefore", hour, at(time.Hour - time.Second), d("0s"), nil},
		{"half a second before ValidBefore", hour, at(time.Hour - time.Second/2), d("0s"), nil},
		{"one second before, wanting two", hour, at(time.Hour - time.Second), d("2s"), ErrExpiring},
		{"remaining == min", hour, at(30 * time.Minute), d("30m"), nil},
		{"remaining == min - 1ns", hour, at(30*time.Minute + 1), d("30m"), ErrExpiring},
		{"remaining == min, 1s before end", hour, at(time.Hour - time.Second), d("1s"), nil},
		{"min longer than lifetime", hour, at(0), d("2h"), ErrExpiring},
		{"ValidAfter in the future", hour, at(-time.Hour), d("0s"), ErrNotYetValid},
		{"ValidAfter just beyond skew", hour, at(-Skew - time.Second), d("0s"), ErrNotYetValid},
		{"ValidAfter within skew", hour, at(-Skew), d("0s"), nil},
		{"ValidAfter 30s ahead", hour, at(-30 * time.Second), d("10m"), nil},
		{"ValidAfter 0", epoch, at(0), d("1h"), nil},
		{"ValidAfter 0, too short", epoch, at(time.Second), d("1h"), ErrExpiring},
		{"ValidAfter 0, percent means 0", epoch, at(time.Hour - time.Second), d("25%"), nil},
		{"ValidAfter 0, expired", epoch, at(time.Hour), d("0s"), ErrExpired},
		{"forever", forever, at(100 * 365 * 24 * time.Hour), d("1000h"), nil},
		{"forever, percent", forever, at(time.Hour), d("100%"), nil},
		{"forever, not yet valid", forever, at(-time.Hour), d("0s"), ErrNotYetValid},
		{"always and forever", alwaysForever, time.Unix(0, 0), d("1h"), nil},
		{"25%: exactly a quarter left", hour, at(45 * time.Minute), d("25%"), nil},
		{"25%: a second less", hour, at(45*time.Minute + time.Second), d("25%"), ErrExpiring},
		{"0%: last second", hour, at(time.Hour - time.Second), d("0%"), nil},
		{"0%: at the end", hour, at(time.Hour), d("0%"), ErrExpired},
		{"100%: at ValidAfter", hour, at(0), d("100%"), nil},
		{"100%: one second in", hour, at(time.Second), d("100%"), ErrExpiring},
		{"empty window", empty, at(0), d("0s"), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Fresh(tt.c, tt.now, tt.min)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Fresh = %v, want %v", err, tt.want)
			}
			// The three outcomes are distinct.
			if errors.Is(err, ErrExpiring) && (errors.Is(err, ErrExpired) || errors.Is(err, ErrNotYetValid)) {
				t.Errorf("ambiguous error %v", err)
			}
		})
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWindow(t *testing.T) {
	a := uint64(t0.Unix())
	w := WindowOf(window(a, a+3600))
	if !w.After.Equal(t0) || !w.Before.Equal(t0.Add(time.Hour)) || w.Forever || w.Lifetime() != time.Hour {
		t.Errorf("hour window: %+v, lifetime %v", w, w.Lifetime())
	}
	if r := w.Remaining(t0.Add(time.Hour)); r != 0 {
		t.Errorf("Remaining at ValidBefore = %v, want 0", r)
	}
	if r := w.Remaining(t0.Add(time.Hour - time.Second)); r != time.Second {
		t.Errorf("Remaining a second before = %v", r)
	}
	if r := w.Remaining(t0.Add(2 * time.Hour)); r >= 0 {
		t.Errorf("Remaining after = %v, want negative", r)
	}

	f := WindowOf(window(0, ssh.CertTimeInfinity))
	if !f.Forever || !f.Before.IsZero() || f.After.Unix() != 0 || f.Lifetime() != 0 || f.Remaining(t0) != math.MaxInt64 {
		t.Errorf("forever window: %+v", f)
	}
	if f := WindowOf(window(a, math.MaxInt64)); !f.Forever {
		t.Errorf("window beyond year 9999 should be forever: %+v", f)
	}
	if e := WindowOf(window(0, a)); e.After.Unix() != 0 || e.Lifetime() != 0 {
		t.Errorf("epoch window: %+v lifetime %v", e, e.Lifetime())
	}
	if e := WindowOf(window(a+10, a)); e.Lifetime() != 0 {
		t.Errorf("reversed window lifetime %v", e.Lifetime())
	}
	// Huge ValidAfter must not overflow.
	if h := WindowOf(window(math.MaxInt64, ssh.CertTimeInfinity)); h.After.Year() != 9999 {
		t.Errorf("huge ValidAfter: %v", h.After)
	}
}

func TestFreshMessage(t *testing.T) {
	a := uint64(t0.Unix())
	err := Fresh(window(a, a+3600), t0.Add(50*time.Minute), Threshold{Percent: 25})
	want := "certificate expires too soon: 10m left (until 2027-01-15T09:00:00Z), less than min_validity 25% of 1h = 15m"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}
