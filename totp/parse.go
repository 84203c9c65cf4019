package totp

import (
	"encoding/base32"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Parse reads a TOTP secret: base32 (case, blanks, dashes and missing
// padding tolerated; 6 digits, 30 s, SHA1) or an otpauth://totp/ URI.
//
// URIs are read strictly: the type must be totp, the secret present,
// algorithm SHA1, SHA256 or SHA512, digits 6 to 8 and period 1 to 3600
// seconds; absent parameters take the usual defaults. Errors wrap
// ErrBadSecret or ErrBadURI and never contain any part of the input that
// could be the secret.
func Parse(s string) (*Secret, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, fmt.Errorf("%w: empty", ErrBadSecret)
	case hasPrefixFold(s, "otpauth-migration:"):
		return nil, fmt.Errorf("%w: Google Authenticator export URIs (otpauth-migration://) hold several accounts in a private format; use the account's otpauth://totp/ URI or its base32 secret", ErrBadURI)
	case hasPrefixFold(s, "otpauth:"):
		return parseURI(s)
	case strings.Contains(s, "://"):
		return nil, fmt.Errorf("%w: not an otpauth:// URI", ErrBadURI)
	}
	key, err := decodeBase32(s)
	if err != nil {
		return nil, err
	}
	return &Secret{key: key, Algorithm: SHA1, Digits: defaultDigits, Period: defaultPeriod}, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// decodeBase32 accepts base32 as people copy it: any case, grouped with
// blanks or dashes, with or without the = padding.
func decodeBase32(s string) ([]byte, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '-':
		case 'a' <= c && c <= 'z':
			b.WriteByte(c - 'a' + 'A')
		case 'A' <= c && c <= 'Z', '2' <= c && c <= '7', c == '=':
			b.WriteByte(c)
		default:
			return nil, fmt.Errorf("%w: not base32 (letters A-Z and digits 2-7; blanks, dashes and padding are ignored)", ErrBadSecret)
		}
	}
	n := strings.TrimRight(b.String(), "=")
	if strings.Contains(n, "=") {
		return nil, fmt.Errorf("%w: padding (=) in the middle", ErrBadSecret)
	}
	if n == "" {
		return nil, fmt.Errorf("%w: empty", ErrBadSecret)
	}
	switch len(n) % 8 {
	case 1, 3, 6:
		return nil, fmt.Errorf("%w: %d base32 characters is not a possible length (a character missing or extra?)", ErrBadSecret, len(n))
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(n)
	if err != nil {
		return nil, fmt.Errorf("%w: not valid base32", ErrBadSecret)
	}
	if len(key) < minKeyBytes {
		return nil, fmt.Errorf("%w: only %d bits, at least %d expected (is this a one-time code rather than the secret?)", ErrBadSecret, len(key)*8, minKeyBytes*8)
	}
	if len(key) > maxKeyBytes {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrBadSecret, maxKeyBytes)
	}
	return key, nil
}

func parseURI(s string) (*Secret, error) {
	bad := func(format string, a ...any) (*Secret, error) {
		return nil, fmt.Errorf("%w: %s", ErrBadURI, fmt.Sprintf(format, a...))
	}
	// url.Parse's and ParseQuery's errors quote the input: never pass them on.
	u, err := url.Parse(s)
	if err != nil {
		return bad("not a valid URI")
	}
	if !strings.EqualFold(u.Scheme, "otpauth") || u.Opaque != "" {
		return bad("want otpauth://totp/LABEL?secret=...")
	}
	switch strings.ToLower(u.Host) {
	case "totp":
	case "hotp":
		return bad("HOTP (counter-based) codes are not supported, only TOTP (otpauth://totp/...)")
	default:
		return bad("type must be totp (otpauth://totp/...)")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("query is not valid")
	}
	param := func(name string) (string, bool, error) {
		v, ok := q[name]
		switch {
		case !ok:
			return "", false, nil
		case len(v) > 1:
			return "", true, fmt.Errorf("%w: %s given more than once", ErrBadURI, name)
		}
		return v[0], true, nil
	}

	sec := &Secret{Algorithm: SHA1, Digits: defaultDigits, Period: defaultPeriod}

	v, ok, err := param("secret")
	if err != nil {
		return nil, err
	}
	if !ok || strings.TrimSpace(v) == "" {
		return bad("no secret parameter")
	}
	if sec.key, err = decodeBase32(v); err != nil {
		return nil, fmt.Errorf("%w: secret parameter: %w", ErrBadURI, err)
	}

	if v, ok, err = param("algorithm"); err != nil {
		return nil, err
	} else if ok {
		switch strings.ToUpper(v) {
		case "SHA1":
			sec.Algorithm = SHA1
		case "SHA256":
			sec.Algorithm = SHA256
		case "SHA512":
			sec.Algorithm = SHA512
		default:
			return bad("unknown algorithm%s (want SHA1, SHA256 or SHA512)", quoteShort(v))
		}
	}

	if v, ok, err = param("digits"); err != nil {
		return nil, err
	} else if ok {
		d, ok := smallUint(v)
		if !ok || d < 6 || d > 8 {
			return bad("digits%s must be 6, 7 or 8", quoteShort(v))
		}
		sec.Digits = d
	}

	if v, ok, err = param("period"); err != nil {
		return nil, err
	} else if ok {
		p, ok := smallUint(v)
		if !ok || p < 1 || time.Duration(p)*time.Second > maxPeriod {
			return bad("period%s must be a whole number of seconds from 1 to %d", quoteShort(v), int(maxPeriod/time.Second))
		}
		sec.Period = time.Duration(p) * time.Second
	}
	return sec, nil
}

// smallUint parses 1 to 5 ASCII digits: no sign, no blanks, no hex.
func smallUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 5 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// quoteShort quotes a parameter value for an error message when it is short
// and plain (" \"SHA-256\""), else nothing: a long value may be a misplaced
// secret.
func quoteShort(v string) string {
	if v == "" {
		return " (empty)"
	}
	if len(v) > 8 {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return " " + strconv.Quote(v)
}
