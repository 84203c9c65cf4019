package totp

import (
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B: 8 digits, 30 s, the RFC's ASCII seeds.
var rfcSeeds = map[Algorithm]string{
	SHA1:   "12345678901234567890",
	SHA256: "12345678901234567890123456789012",
	SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
}

var rfcVectors = []struct {
	unix int64
	step uint64
	code map[Algorithm]string
}{
	{59, 0x1, map[Algorithm]string{SHA1: "94287082", SHA256: "46119246", SHA512: "90693936"}},
	{1111111109, 0x23523EC, map[Algorithm]string{SHA1: "07081804", SHA256: "68084774", SHA512: "25091201"}},
	{1111111111, 0x23523ED, map[Algorithm]string{SHA1: "14050471", SHA256: "67062674", SHA512: "99943326"}},
	{1234567890, 0x273EF07, map[Algorithm]string{SHA1: "89005924", SHA256: "91819424", SHA512: "93441116"}},
	{2000000000, 0x3F940AA, map[Algorithm]string{SHA1: "69279037", SHA256: "90698825", SHA512: "38618901"}},
	{20000000000, 0x27BC86AA, map[Algorithm]string{SHA1: "65353130", SHA256: "77737706", SHA512: "47863826"}},
}

func TestRFC6238Vectors(t *testing.T) {
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		seed := []byte(rfcSeeds[alg])
		direct, err := New(seed, alg, 8, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// The same secret as a user would paste it: an otpauth URI.
		uri := fmt.Sprintf("otpauth://totp/RFC:test?secret=%s&algorithm=%s&digits=8&period=30",
			strings.TrimRight(base32.StdEncoding.EncodeToString(seed), "="), strings.ToLower(alg.String()))
		parsed, err := Parse(uri)
		if err != nil {
			t.Fatalf("%v: Parse(uri): %v", alg, err)
		}
		if parsed.ID() != direct.ID() {
			t.Errorf("%v: parsed and direct secrets have different IDs", alg)
		}
		for _, v := range rfcVectors {
			tm := time.Unix(v.unix, 0).UTC()
			for name, s := range map[string]*Secret{"New": direct, "Parse": parsed} {
				if got := s.Step(tm); got != v.step {
					t.Errorf("%v %s: Step(%d) = %#x, want %#x", alg, name, v.unix, got, v.step)
				}
				if got := s.Code(tm); got != v.code[alg] {
					t.Errorf("%v %s: Code(%d) = %s, want %s", alg, name, v.unix, got, v.code[alg])
				}
			}
		}
	}
}

// The vector measured with oathtool in the test-infrastructure notes.
func TestOathtoolVector(t *testing.T) {
	s, err := Parse("JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Code(time.Unix(1577836800, 0)); got != "646738" {
		t.Errorf("code = %s, want 646738", got)
	}
	if s.Algorithm != SHA1 || s.Digits != 6 || s.Period != 30*time.Second {
		t.Errorf("defaults = %v", s)
	}
}

func TestParseBase32Tolerance(t *testing.T) {
	key11 := []byte("hpc-auth-11") // 11 bytes: base32 needs padding
	padded := base32.StdEncoding.EncodeToString(key11)
	if !strings.HasSuffix(padded, "=") {
		t.Fatal("test secret should need padding")
	}
	unpadded := strings.TrimRight(padded, "=")
	ref, _ := New(key11, SHA1, 6, 30*time.Second)

	for _, in := range []string{
		padded,
		unpadded,
		strings.ToLower(unpadded),
		strings.ToLower(padded),
		groups(unpadded, " "),
		groups(strings.ToLower(unpadded), " "),
		groups(unpadded, "-"),
		groups(padded, "-"),
		"  " + groups(unpadded, "\t") + "\n",
		unpadded + "==", // wrong amount of padding: ignored
		unpadded[:4] + "\r\n" + unpadded[4:],
	} {
		s, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if s.ID() != ref.ID() {
			t.Errorf("Parse(%q) decoded to another key", in)
		}
	}
}

func groups(s, sep string) string {
	var parts []string
	for len(s) > 4 {
		parts = append(parts, s[:4])
		s = s[4:]
	}
	return strings.Join(append(parts, s), sep)
}

func TestParseBase32Bad(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		"JBSWY3DPEHPK3PX1",     // 1 is not base32
		"JBSWY3DPEHPK3PX8",     // nor 8
		"JBSWY3DP_EHPK3PXP",    // nor _
		"JBSWY3DP=EHPK3PXP",    // padding in the middle
		"JBSWY3DPEHPK3PXPA",    // 17 characters: impossible length
		"234567",               // a one-time code, not a secret
		"JBSWY3DP",             // 40 bits: too short
		"JBSWY3DPEHPK3PXPÄÖÜ",  // non-ASCII
		"JBSWY3DPEHPK3PXP\x00", // NUL
		strings.Repeat("A", 2000),
	} {
		_, err := Parse(in)
		if !errors.Is(err, ErrBadSecret) {
			t.Errorf("Parse(%q) = %v, want ErrBadSecret", in, err)
			continue
		}
		assertNoLeak(t, err, in)
	}
}

const testB32 = "JBSWY3DPEHPK3PXPJBSWY3DP" // 15 bytes

func TestParseURI(t *testing.T) {
	for _, tc := range []struct {
		uri    string
		alg    Algorithm
		digits int
		period time.Duration
	}{
		{"otpauth://totp/ACME:jdoe?secret=" + testB32 + "&issuer=ACME", SHA1, 6, 30 * time.Second},
		{"otpauth://totp/ACME:jdoe?secret=" + testB32 + "&algorithm=SHA256&digits=8&period=60", SHA256, 8, time.Minute},
		{"otpauth://totp/x?secret=" + testB32 + "&algorithm=sha512&digits=7", SHA512, 7, 30 * time.Second},
		{"otpauth://totp/x?algorithm=SHA1&secret=" + testB32 + "&period=1", SHA1, 6, time.Second},
		{"otpauth://totp/x?secret=" + testB32 + "&period=3600&digits=6", SHA1, 6, time.Hour},
		{"OTPAUTH://TOTP/x?secret=" + strings.ToLower(testB32), SHA1, 6, 30 * time.Second},
		{"otpauth://totp/x?secret=" + url.QueryEscape(groups(testB32, " ")+"="), SHA1, 6, 30 * time.Second},
		{"otpauth://totp/?secret=" + testB32, SHA1, 6, 30 * time.Second},                   // no label
		{"otpauth://totp/a%20b?secret=" + testB32 + "&image=x", SHA1, 6, 30 * time.Second}, // unknown parameters are ignored
		{" otpauth://totp/x?secret=" + testB32 + "\n", SHA1, 6, 30 * time.Second},
	} {
		s, err := Parse(tc.uri)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.uri, err)
			continue
		}
		if s.Algorithm != tc.alg || s.Digits != tc.digits || s.Period != tc.period {
			t.Errorf("Parse(%q) = %v, want %v %d %v", tc.uri, s, tc.alg, tc.digits, tc.period)
		}
		if code := s.Code(time.Unix(1700000000, 0)); len(code) != tc.digits {
			t.Errorf("Parse(%q): code has %d digits", tc.uri, len(code))
		}
	}
}

func TestParseURIBad(t *testing.T) {
	const sec = "secret=" + testB32
	for _, tc := range []struct{ uri, why string }{
		{"otpauth://totp/x?" + sec + "&algorithm=MD5", "algorithm"},
		{"otpauth://totp/x?" + sec + "&algorithm=SHA-256", "algorithm"},
		{"otpauth://totp/x?" + sec + "&algorithm=", "algorithm"},
		{"otpauth://totp/x?" + sec + "&algorithm=SHA1&algorithm=SHA256", "more than once"},
		{"otpauth://totp/x?" + sec + "&digits=5", "digits"},
		{"otpauth://totp/x?" + sec + "&digits=9", "digits"},
		{"otpauth://totp/x?" + sec + "&digits=six", "digits"},
		{"otpauth://totp/x?" + sec + "&digits=-6", "digits"},
		{"otpauth://totp/x?" + sec + "&digits=%2B6", "digits"},
		{"otpauth://totp/x?" + sec + "&digits=", "digits"},
		{"otpauth://totp/x?" + sec + "&period=0", "period"},
		{"otpauth://totp/x?" + sec + "&period=-30", "period"},
		{"otpauth://totp/x?" + sec + "&period=abc", "period"},
		{"otpauth://totp/x?" + sec + "&period=30s", "period"},
		{"otpauth://totp/x?" + sec + "&period=3601", "period"},
		{"otpauth://totp/x?" + sec + "&period=99999999999999999999", "period"},
		{"otpauth://totp/x?" + sec + "&period=", "period"},
		{"otpauth://totp/x?issuer=ACME", "no secret"},
		{"otpauth://totp/x?secret=", "no secret"},
		{"otpauth://totp/x", "no secret"},
		{"otpauth://totp/x?secret=JBSWY3DPEHPK3PX1", "base32"},
		{"otpauth://totp/x?secret=JBSWY3DP", "bits"},
		{"otpauth://totp/x?" + sec + "&" + sec, "more than once"},
		{"otpauth://hotp/x?" + sec + "&counter=1", "HOTP"},
		{"otpauth://steam/x?" + sec, "type"},
		{"otpauth://totp:80/x?" + sec, "type"},
		{"otpauth:totp?" + sec, "otpauth://totp/"},
		{"https://totp/x?" + sec, "otpauth://"},
		{"otpauth-migration://offline?data=" + testB32, "otpauth-migration"},
		{"otpauth://totp/x?secret=%zz" + testB32, "query"},
		{"otpauth://totp/%zz?" + sec, "valid URI"},
	} {
		_, err := Parse(tc.uri)
		if !errors.Is(err, ErrBadURI) {
			t.Errorf("Parse(%q) = %v, want ErrBadURI", tc.uri, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("Parse(%q) = %q, want it to mention %q", tc.uri, err, tc.why)
		}
		assertNoLeak(t, err, tc.uri)
	}
}

func TestIDAndPrinting(t *testing.T) {
	s1, _ := Parse(testB32)
	s2, _ := Parse("otpauth://totp/other:label?secret=" + strings.ToLower(testB32) + "&period=30&digits=6&algorithm=SHA1")
	s3, _ := Parse("otpauth://totp/x?secret=" + testB32 + "&digits=8")
	s4, _ := Parse("JBSWY3DPEHPK3PXP")
	if s1.ID() != s2.ID() {
		t.Error("same key and parameters written two ways: IDs differ")
	}
	if s1.ID() == s3.ID() || s1.ID() == s4.ID() {
		t.Error("different secrets share an ID")
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(s1.ID()) {
		t.Errorf("ID %q is not 32 hex digits", s1.ID())
	}
	for _, out := range []string{
		fmt.Sprint(s1), fmt.Sprintf("%v %+v %#v %s", s1, *s1, s1, *s1), s1.ID(),
	} {
		assertNoKey(t, out, s1)
	}
}

// assertNoLeak fails if the error message contains any run of 16 or more
// base32 characters from the input: no error may quote a secret.
func assertNoLeak(t *testing.T, err error, input string) {
	t.Helper()
	msg := err.Error()
	for _, run := range regexp.MustCompile(`[A-Za-z2-7]{16,}`).FindAllString(input, -1) {
		if strings.Contains(strings.ToUpper(msg), strings.ToUpper(run)) {
			t.Errorf("error %q quotes the input", msg)
		}
	}
}

func assertNoKey(t *testing.T, out string, s *Secret) {
	t.Helper()
	b32 := strings.TrimRight(base32.StdEncoding.EncodeToString(s.key), "=")
	if strings.Contains(strings.ToUpper(out), b32[:16]) || strings.Contains(out, string(s.key)) ||
		strings.Contains(out, fmt.Sprint(s.key)) || strings.Contains(out, fmt.Sprintf("%x", s.key)) {
		t.Errorf("output shows the key: %q", out)
	}
}

func TestNewRejects(t *testing.T) {
	key := []byte(rfcSeeds[SHA1])
	for _, tc := range []struct {
		alg    Algorithm
		digits int
		period time.Duration
	}{
		{Algorithm(7), 6, 30 * time.Second},
		{SHA1, 5, 30 * time.Second},
		{SHA1, 9, 30 * time.Second},
		{SHA1, 6, 0},
		{SHA1, 6, -time.Second},
		{SHA1, 6, 1500 * time.Millisecond},
		{SHA1, 6, 2 * time.Hour},
	} {
		if _, err := New(key, tc.alg, tc.digits, tc.period); !errors.Is(err, ErrBadSecret) {
			t.Errorf("New(%v, %d, %v) = %v, want ErrBadSecret", tc.alg, tc.digits, tc.period, err)
		}
	}
	if _, err := New(nil, SHA1, 6, 30*time.Second); !errors.Is(err, ErrBadSecret) {
		t.Errorf("New(nil key) = %v", err)
	}
}

func TestStepAndRemaining(t *testing.T) {
	s, _ := Parse(testB32)
	base := time.Unix(1700000010, 0) // 1700000010 = 56666667*30
	for _, tc := range []struct {
		t    time.Time
		step uint64
		left time.Duration
	}{
		{base, 56666667, 30 * time.Second},
		{base.Add(29*time.Second + 999*time.Millisecond), 56666667, time.Millisecond},
		{base.Add(30 * time.Second), 56666668, 30 * time.Second},
		{base.Add(-time.Nanosecond), 56666666, time.Nanosecond},
	} {
		if got := s.Step(tc.t); got != tc.step {
			t.Errorf("Step(%v) = %d, want %d", tc.t, got, tc.step)
		}
		if got := s.Remaining(tc.t); got != tc.left {
			t.Errorf("Remaining(%v) = %v, want %v", tc.t, got, tc.left)
		}
	}
	if s.Step(time.Unix(-5, 0)) != 0 {
		t.Error("negative time should be step 0")
	}
}
