package cert

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		in   string
		want Threshold
		str  string
	}{
		{"1h", Threshold{Duration: time.Hour}, "1h"},
		{"90s", Threshold{Duration: 90 * time.Second}, "1m30s"},
		{"1h30m", Threshold{Duration: 90 * time.Minute}, "1h30m"},
		{" 10m ", Threshold{Duration: 10 * time.Minute}, "10m"},
		{"0", Threshold{}, "0s"},
		{"0s", Threshold{}, "0s"},
		{"1h0m5s", Threshold{Duration: time.Hour + 5*time.Second}, "1h0m5s"},
		{"1.5s", Threshold{Duration: 1500 * time.Millisecond}, "1.5s"},
		{"25%", Threshold{Percent: 25}, "25%"},
		{"12.5%", Threshold{Percent: 12.5}, "12.5%"},
		{"100%", Threshold{Percent: 100}, "100%"},
		{"0%", Threshold{}, "0s"},
		{"33 %", Threshold{Percent: 33}, "33%"},
	}
	for _, tt := range tests {
		got, err := ParseThreshold(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseThreshold(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.str {
			t.Errorf("ParseThreshold(%q).String() = %q, want %q", tt.in, s, tt.str)
		}
	}
	for _, bad := range []string{"", " ", "-1h", "-5%", "101%", "100.5%", "%", "abc", "1x", "NaN%", "Inf%", "1h%", "25", "1 h"} {
		if got, err := ParseThreshold(bad); !errors.Is(err, ErrThreshold) {
			t.Errorf("ParseThreshold(%q) = %+v, %v; want ErrThreshold", bad, got, err)
		}
	}
}

func TestThresholdFor(t *testing.T) {
	hour := &ssh.Certificate{ValidAfter: uint64(t0.Unix()), ValidBefore: uint64(t0.Add(time.Hour).Unix())}
	epoch := &ssh.Certificate{ValidAfter: 0, ValidBefore: uint64(t0.Unix())}
	forever := &ssh.Certificate{ValidAfter: uint64(t0.Unix()), ValidBefore: ssh.CertTimeInfinity}
	tests := []struct {
		th   Threshold
		c    *ssh.Certificate
		want time.Duration
	}{
		{Threshold{Duration: 5 * time.Minute}, hour, 5 * time.Minute},
		{Threshold{Duration: 5 * time.Minute}, forever, 5 * time.Minute},
		{Threshold{Percent: 25}, hour, 15 * time.Minute},
		{Threshold{Percent: 12.5}, hour, 450 * time.Second},
		{Threshold{Percent: 100}, hour, time.Hour},
		{Threshold{}, hour, 0},
		{Threshold{Percent: 25}, forever, 0},
		{Threshold{Percent: 25}, epoch, 0},
	}
	for _, tt := range tests {
		if got := Margin(tt.th, tt.c); got != tt.want {
			t.Errorf("%vMargin(%d..%d) = %v, want %v", tt.th, tt.c.ValidAfter, tt.c.ValidBefore, got, tt.want)
		}
	}
}

func FuzzParseThreshold(f *testing.F) {
	for _, s := range []string{"1h", "90s", "1h30m", "25%", "12.5%", "0%", "100%", "-1h", "101%", "", "1e2%", "0x10%", "9223372036s", "1_0%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		th, err := ParseThreshold(s)
		if err != nil {
			if !errors.Is(err, ErrThreshold) {
				t.Fatalf("error without ErrThreshold: %v", err)
			}
			return
		}
		if th.Duration < 0 || th.Percent < 0 || th.Percent > 100 || (th.Duration != 0 && th.Percent != 0) {
			t.Fatalf("ParseThreshold(%q) = %+v", s, th)
		}
		back, err := ParseThreshold(th.String())
		if err != nil || back != th {
			t.Fatalf("round trip of %q via %q: %+v, %v", s, th.String(), back, err)
		}
		c := &ssh.Certificate{ValidAfter: 1, ValidBefore: ssh.CertTimeInfinity - 1}
		if d := Margin(th, c); d < 0 {
			t.Fatalf("negative margin %v", d)
		}
	})
}
