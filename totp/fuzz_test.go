package totp

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"JBSWY3DPEHPK3PXP",
		"jbsw y3dp ehpk 3pxp",
		"JBSW-Y3DP-EHPK-3PXP====",
		"otpauth://totp/ACME:jdoe?secret=" + testB32 + "&algorithm=SHA256&digits=8&period=60",
		"otpauth://totp/x?secret=" + testB32 + "&algorithm=MD5",
		"otpauth://totp/x?secret=" + testB32 + "&digits=9&period=0",
		"otpauth://hotp/x?secret=" + testB32 + "&counter=3",
		"otpauth:totp?secret=" + testB32,
		"otpauth://totp/x?secret=%zz",
		"https://example.org/?secret=" + testB32,
		"otpauth-migration://offline?data=abc",
		"",
		"=",
		"234567",
	} {
		f.Add(s)
	}
	t0 := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrBadSecret) && !errors.Is(err, ErrBadURI) {
				t.Fatalf("error %v wraps neither sentinel", err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not UTF-8: %q", err)
			}
			assertNoLeak(t, err, in)
			return
		}
		if s.Digits < 6 || s.Digits > 8 || s.Period < time.Second || s.Period > time.Hour {
			t.Fatalf("Parse accepted %v", s)
		}
		code := s.Code(t0)
		if len(code) != s.Digits {
			t.Fatalf("code has %d digits, want %d", len(code), s.Digits)
		}
		for _, c := range code {
			if c < '0' || c > '9' {
				t.Fatalf("code %q is not numeric", code)
			}
		}
		if len(s.ID()) != 32 {
			t.Fatalf("ID length %d", len(s.ID()))
		}
		assertNoKey(t, s.String()+s.ID(), s)
	})
}
