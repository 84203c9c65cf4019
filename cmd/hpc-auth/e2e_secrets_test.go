package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
)

// e2eSecretScan collects everything hpc-auth showed or left behind (its
// output, the state directory's files) and checks at the end that none of
// it holds a password, the TOTP secret, or a code of any time step from two
// before the scan began to two after it ended (issue 3).
type e2eSecretScan struct {
	t         *testing.T
	user      string // for the Basic-auth forms; may be empty
	passwords []string
	totp      string // base32
	start     time.Time
	texts     map[string]string // where -> content
}

func newE2ESecretScan(t *testing.T, passwords []string, totpSecret string) *e2eSecretScan {
	return &e2eSecretScan{t: t, passwords: passwords, totp: totpSecret, start: time.Now(), texts: map[string]string{}}
}

// output adds a run's stdout and stderr.
func (s *e2eSecretScan) output(r hpcResult) {
	n := len(s.texts)
	s.texts[fmt.Sprintf("stdout of run %d (hpc-auth %s)", n, strings.Join(r.args, " "))] = r.stdout
	s.texts[fmt.Sprintf("stderr of run %d (hpc-auth %s)", n, strings.Join(r.args, " "))] = r.stderr
}

// dir adds every file under dir (state json, log, ledger, transcript,
// locks), if it exists.
func (s *e2eSecretScan) dir(dir string) {
	s.t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s.texts[p] = string(b)
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// check fails the test for every secret found (see findings).
func (s *e2eSecretScan) check() {
	s.t.Helper()
	if len(s.texts) == 0 {
		s.t.Fatal("secret scan: nothing to scan")
	}
	for _, f := range s.findings() {
		s.t.Error(f)
	}
}

// findings looks for every form a secret could take in the texts: as is,
// escaped for Go, JSON and URLs, base64 (Basic auth), partially (a
// truncated message), and the TOTP secret in either case. A code counts
// only as a whole number, so that it is not found inside serial numbers or
// times.
func (s *e2eSecretScan) findings() []string {
	var codes []string
	first := s.start.Unix()/30 - 2
	last := time.Now().Unix()/30 + 2
	for step := first; step <= last; step++ {
		c, err := hotp.GenerateCodeCustom(s.totp, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return []string{fmt.Sprintf("secret scan: TOTP secret: %v", err)}
		}
		codes = append(codes, c)
	}
	needles := map[string]string{} // needle -> what it is
	add := func(what, v string) {
		if len(v) >= 6 {
			needles[v] = what
		}
	}
	for i, pw := range s.passwords {
		what := fmt.Sprintf("password %d", i)
		add(what, pw)
		add(what+" (Go-quoted)", strings.Trim(strconv.Quote(pw), `"`))
		if b, err := json.Marshal(pw); err == nil {
			add(what+" (JSON)", strings.Trim(string(b), `"`))
		}
		add(what+" (query-escaped)", url.QueryEscape(pw))
		add(what+" (path-escaped)", url.PathEscape(pw))
		add(what+" (base64)", base64.StdEncoding.EncodeToString([]byte(pw)))
		// The tail of the test passwords is random hex: any 8 characters
		// of it give away a truncated or partly scrubbed password.
		for i := max(len(pw)-12, 0); i+8 <= len(pw); i++ {
			add(what+" (a part of it)", pw[i:i+8])
		}
		for _, c := range codes {
			add(what+"+code (base64)", base64.StdEncoding.EncodeToString([]byte(pw+c)))
			if s.user != "" {
				add("Basic auth "+what+"+code", base64.StdEncoding.EncodeToString([]byte(s.user+":"+pw+c)))
			}
		}
	}
	sec := strings.TrimRight(s.totp, "=")
	for _, v := range []string{strings.ToUpper(sec), strings.ToLower(sec)} {
		add("TOTP secret", v)
		for i := 0; i+12 <= len(v); i += 6 {
			add("part of the TOTP secret", v[i:i+12])
		}
	}
	codeRE := regexp.MustCompile(`(?:^|[^0-9])(` + strings.Join(codes, "|") + `)(?:[^0-9]|$)`)
	var found []string
	for where, text := range s.texts {
		for needle, what := range needles {
			if strings.Contains(text, needle) {
				found = append(found, fmt.Sprintf("%s holds the %s", where, what))
			}
		}
		if m := codeRE.FindStringSubmatch(text); m != nil {
			found = append(found, fmt.Sprintf("%s holds the TOTP code %s of the test's time window", where, m[1]))
		}
	}
	return found
}

// TestE2ESecretScanFinds proves that the scan would see a leak in each
// form it looks for (a scan that finds nothing proves nothing otherwise).
func TestE2ESecretScanFinds(t *testing.T) {
	t.Parallel()
	pw := e2ePassword(t)
	sec := e2eRandomBase32(t)
	code, err := hotp.GenerateCodeCustom(sec, uint64(time.Now().Unix()/30), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	jsonPW, _ := json.Marshal(pw)
	leaks := map[string]string{
		"raw password":   "msg=x password=" + pw,
		"slog-quoted":    fmt.Sprintf("msg=%q", "received "+pw),
		"JSON":           `{"received": ` + string(jsonPW) + `}`,
		"truncated echo": "(received ..." + pw[len(pw)-14:len(pw)-3],
		"basic auth":     "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("jdoe:"+pw+code)),
		"secret":         "secret=" + sec,
		"lower secret":   "secret=" + strings.ToLower(sec),
		"code":           "otp=" + code + "\n",
		"code at start":  code,
	}
	for name, leak := range leaks {
		s := newE2ESecretScan(t, []string{pw}, sec)
		s.user = "jdoe"
		s.texts["clean"] = "key_id=root-17963154180010 step=59877180 " + code + "1 x" + code + "7"
		s.texts[name] = leak
		f := s.findings()
		if len(f) == 0 {
			t.Errorf("%s: the scan does not see %q", name, leak)
		}
		for _, x := range f {
			if strings.HasPrefix(x, "clean ") {
				t.Errorf("false alarm: %s", x)
			}
		}
	}
}

// TestE2ESecretsNeverLeak runs renewals that succeed and that fail (a wrong
// password, against a careless service that echoes the credentials it
// received in its error answer), quietly and with -v, plus status, and
// scans every output and every file in the state directories for the
// passwords, the TOTP secret and the codes of the test's time window.
//
// Each renewal uses its own state directory: the TOTP ledger in a shared
// one would make each wait for a fresh 30 s time step.
func TestE2ESecretsNeverLeak(t *testing.T) {
	t.Parallel()
	for _, p := range e2ePresets {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			svc := e2eHTTPSetup(t, h, p, fakeservice.Options{EchoCredentials: true}, "")
			h.writeConfig(svc.toml)
			wrong := e2ePassword(t)
			scan := newE2ESecretScan(t, []string{svc.password, wrong}, svc.totp)
			scan.user = svc.user
			states := map[string]string{}
			state := func(name string) string {
				d := filepath.Join(h.dir, "states", name)
				states[name] = d
				return "HPC_AUTH_STATE_DIR=" + d
			}
			run := func(env string, args ...string) hpcResult {
				r := h.hpcRun(nil, []string{env}, args...)
				scan.output(r)
				return r
			}

			h.secretFile(p.name+"-password", wrong)
			wantFail(t, run(state("fail")), 77, p.name)
			r := run(state("fail"), "-v")
			if r.code != 77 {
				t.Fatalf("the cooldown run: %v", r)
			}
			r = run(state("fail-verbose"), "-v")
			if r.code != 77 || !strings.Contains(r.stderr, "DEBUG") {
				t.Fatalf("want exit 77 and debug output; got %v", r)
			}
			run(state("fail"), "status", "--json")

			h.secretFile(p.name+"-password", svc.password)
			r = run(state("ok"), "-v")
			if r.code != 0 || !strings.Contains(r.stderr, "DEBUG") {
				t.Fatalf("want exit 0 and debug output; got %v", r)
			}
			run(state("ok"), "-v")
			run(state("ok"), "status", "--json")
			run(state("ok"), "status")
			if svc.Issued() != 1 {
				t.Fatalf("issued %d; want 1", svc.Issued())
			}
			for name, d := range states {
				if _, err := os.Stat(filepath.Join(d, "totp-steps.json")); err != nil {
					t.Errorf("state %s: no TOTP ledger (%v): was a code spent?", name, err)
				}
				e2eWantPrivateState(t, d)
				scan.dir(d)
			}
			scan.check()
		})
	}
}
