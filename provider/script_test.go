package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hpc-auth/hpc-auth/internal/fakescripts"
)

// scriptCase is one run of the script provider against a fake centre script.
type scriptCase struct {
	name    string
	command func(p fakescripts.Paths) []string
	dialog  []DialogStep
	cert    func(key string) string // default key + "-cert.pub"
	wrongPw bool
	timeout time.Duration

	wantErr  string // sentinel name; "" for success
	wantMsg  string // substring of the error
	wantKeys bool   // the fake wrote a valid key and certificate
}

// scriptAiiDAPatterns are the AiiDA how-to's expect patterns, in order.
var scriptAiiDAPatterns = []DialogStep{
	{Expect: `[Uu]sername.*:`, Send: "{username}"},
	{Expect: `[Pp]assword.*:`, Send: "{password}"},
	{Expect: `[Oo]ne-[Tt]ime|OTP|TOTP|[Cc]ode.*:`, Send: "{otp}"},
}

// scriptNoPassphrase answers cscs-keygen.sh's one-key question.
var scriptNoPassphrase = DialogStep{Expect: `\[y/n\]`, Send: "n", NoEnter: true}

func scriptKeyCert(p fakescripts.Paths, fake string) []string {
	return []string{fake, "{key}", "{certificate}"}
}

func TestScriptAgainstFakeCentres(t *testing.T) {
	cases := []scriptCase{
		{
			name:     "cscs-keygen.sh with a one-key answer",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.CSCSBash) },
			dialog:   []DialogStep{scriptNoPassphrase},
			wantKeys: true,
		},
		{
			name:     "cscs-keygen.sh with the AiiDA how-to's patterns",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.CSCSBash) },
			dialog:   append(append([]DialogStep(nil), scriptAiiDAPatterns...), scriptNoPassphrase),
			wantKeys: true,
		},
		{
			// The default dialog must not answer the passphrase question:
			// its default (yes) would set a passphrase on the key.
			name:     "cscs-keygen.sh default dialog stops at the passphrase question",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.CSCSBash) },
			wantErr:  "rejected",
			wantMsg:  "unexpected prompt: Do you want to add a passphrase to your key? [y/n] (Default y)",
			wantKeys: true,
		},
		{
			name:     "cscs-keygen.py getpass",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.CSCSPython) },
			wantKeys: true,
		},
		{
			name:     "cscs-keygen.py getpass with the AiiDA how-to's patterns",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.CSCSPython) },
			dialog:   scriptAiiDAPatterns,
			wantKeys: true,
		},
		{
			name: "sshproxy.sh password+OTP",
			command: func(p fakescripts.Paths) []string {
				return []string{p.NERSC, "-u", "{username}", "-o", "{key}"}
			},
			wantKeys: true,
		},
		{
			name: "sshproxy.sh wrong password",
			command: func(p fakescripts.Paths) []string {
				return []string{p.NERSC, "-u", "{username}", "-o", "{key}"}
			},
			wrongPw: true,
			wantErr: "rejected",
			wantMsg: "Authentication failed. Failed login: jdoe",
		},
		{
			name:     "One-Time Password gets the code",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.OneTime) },
			wantKeys: true,
		},
		{
			name:     "LBNL PIN and echoed OTP",
			command:  func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.LBNL) },
			wantKeys: true,
		},
		{
			name:    "LBNL wrong PIN",
			command: func(p fakescripts.Paths) []string { return scriptKeyCert(p, p.LBNL) },
			wrongPw: true,
			wantErr: "rejected",
			wantMsg: "auth failed - status code: 401",
		},
		{
			name:    "unexpected question",
			command: func(p fakescripts.Paths) []string { return []string{p.Unexpected} },
			wantErr: "config",
			wantMsg: "unexpected prompt: Do you accept the terms of use of jdoe's account? [yes/no]:",
		},
		{
			name:    "early exit",
			command: func(p fakescripts.Paths) []string { return []string{p.EarlyExit} },
			wantErr: "config",
			wantMsg: "(4: exited before any credential was sent: get_keys: reading /etc/centre/keys.conf: No such file or directory",
		},
		{
			name:    "rejected code",
			command: func(p fakescripts.Paths) []string { return []string{p.Reject} },
			wantErr: "rejected",
			wantMsg: "Authentication failed.",
		},
		{
			name:    "command not found",
			command: func(p fakescripts.Paths) []string { return []string{filepath.Join(p.Dir, "no-such-script")} },
			wantErr: "config",
			wantMsg: "cannot run",
		},
	}
	// Start every run first, then check each: the runs mostly wait, so
	// they overlap whatever -parallel says.
	runs := make([]*scriptCaseRun, len(cases))
	for i, tc := range cases {
		runs[i] = scriptStartCase(t, tc)
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { scriptCheckCase(t, tc, runs[i]) })
	}
}

type scriptCaseRun struct {
	p                     fakescripts.Paths
	key, cert, transcript string
	run                   *procHelperRun
}

func scriptStartCase(t *testing.T, tc scriptCase) *scriptCaseRun {
	dir := t.TempDir()
	r := &scriptCaseRun{p: fakescripts.Install(t, filepath.Join(dir, "centre"), fakescripts.Options{})}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	r.key = filepath.Join(home, "centre-key")
	r.cert = r.key + "-cert.pub"
	if tc.cert != nil {
		r.cert = tc.cert(r.key)
	}
	r.transcript = filepath.Join(dir, "state", "profile.transcript")
	r.run = procStartHelper(t, procJob{
		Kind: "script",
		Script: ScriptConfig{
			Command:    tc.command(r.p),
			Dialog:     tc.dialog,
			Settle:     50 * time.Millisecond,
			Transcript: r.transcript,
		},
		Profile: "test", Username: r.p.Username, Key: r.key, Certificate: r.cert,
		PasswordFile: r.p.PasswordFile, TOTPFile: r.p.TOTPFile, WrongPassword: tc.wrongPw,
		Timeout: tc.timeout,
	})
	return r
}

func scriptCheckCase(t *testing.T, tc scriptCase, r *scriptCaseRun) {
	res, out := r.run.result(t)
	p, key, cert, transcript := r.p, r.key, r.cert, r.transcript
	t.Logf("Renew: err=%q installed=%v", res.Err, res.Installed)
	if res.OpenedTTY {
		t.Fatal("the helper process has a terminal; the test proves nothing")
	}
	switch {
	case tc.wantErr == "" && res.Err != "":
		t.Fatalf("Renew: %s\nhelper output:\n%s\ntranscript:\n%s", res.Err, out, scriptReadFile(t, transcript))
	case tc.wantErr != "" && !res.Is[tc.wantErr]:
		t.Fatalf("Renew: error %q is not %s\ntranscript:\n%s", res.Err, tc.wantErr, scriptReadFile(t, transcript))
	case tc.wantErr == "" && !res.Installed:
		t.Fatal("Renew succeeded without Installed")
	}
	if tc.wantMsg != "" && !strings.Contains(res.Err, tc.wantMsg) {
		t.Errorf("error %q does not say %q", res.Err, tc.wantMsg)
	}
	if tc.wantKeys {
		if err := p.VerifyPair(key, cert); err != nil {
			t.Errorf("key pair: %v\ntranscript:\n%s", err, scriptReadFile(t, transcript))
		}
	}
	if len(res.Codes) > 1 || res.Passwords > 1 {
		t.Errorf("asked for %d codes and %d passwords; want at most one each", len(res.Codes), res.Passwords)
	}
	scriptCheckTranscript(t, transcript, p, res, out)
}

func scriptReadFile(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return string(data)
}

// scriptCheckTranscript: the transcript exists, is private, and holds no
// secret, not even where the script echoed one back. Neither do the error
// and the helper's output.
func scriptCheckTranscript(t *testing.T, path string, p fakescripts.Paths, res procJobResult, out string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("transcript: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("transcript mode %v, want 0600", fi.Mode().Perm())
	}
	text := scriptReadFile(t, path)
	secrets := append([]string{p.Password, p.Password + "x", p.TOTPSecret}, res.Codes...)
	for _, where := range []struct{ name, s string }{
		{"transcript", text}, {"error", res.Err}, {"helper output", out},
	} {
		for _, s := range secrets {
			if strings.Contains(where.s, s) {
				t.Errorf("the %s holds a secret", where.name)
			}
		}
	}
	if !strings.Contains(text, "# hpc-auth script transcript") || strings.Count(text, "# hpc-auth script transcript") != 1 {
		t.Errorf("transcript has no single header:\n%s", text)
	}
}

// The LBNL fake prints the password and echoes the code; the transcript
// keeps the text around them but not the secrets.
func TestScriptTranscriptScrubsEchoedSecrets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := fakescripts.Install(t, filepath.Join(dir, "centre"), fakescripts.Options{})
	key := filepath.Join(dir, "key")
	transcript := filepath.Join(dir, "state", "lbnl.transcript")
	// An old transcript, world-readable, is replaced.
	if err := os.MkdirAll(filepath.Dir(transcript), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(transcript, []byte("OLD RUN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, out := procRunHelper(t, procJob{
		Kind: "script",
		Script: ScriptConfig{
			Command: []string{p.LBNL, "{key}", "{certificate}"}, Settle: 50 * time.Millisecond,
			Transcript: transcript,
		},
		Username: p.Username, Key: key, Certificate: key + "-cert.pub",
		PasswordFile: p.PasswordFile, TOTPFile: p.TOTPFile,
	})
	if res.Err != "" {
		t.Fatalf("Renew: %s", res.Err)
	}
	text := scriptReadFile(t, transcript)
	scriptCheckTranscript(t, transcript, p, res, out)
	for _, want := range []string{`"password": "***"`, `"mfa": "***"`, "PIN: ", "OTP: \n[hpc-auth: answered one-time code prompt with \"***\" + Enter]\n***\n", "answered password prompt with \"***\" + Enter"} {
		if !strings.Contains(text, want) {
			t.Errorf("transcript lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "OLD RUN") {
		t.Error("the old transcript was not replaced")
	}
}

// A script that never prompts: the deadline ends the run with
// ErrUnavailable, and neither the script nor its background children (one
// ignores SIGTERM and SIGHUP) survive.
func TestScriptDeadlineLeavesNothingRunning(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := fakescripts.Install(t, filepath.Join(dir, "centre"), fakescripts.Options{})
	pidFile := filepath.Join(dir, "pids")
	res, _ := procRunHelper(t, procJob{
		Kind: "script",
		Script: ScriptConfig{
			Command: []string{p.Sleeper, pidFile}, Settle: 50 * time.Millisecond,
			Transcript: filepath.Join(dir, "t"),
		},
		Username: p.Username, PasswordFile: p.PasswordFile, TOTPFile: p.TOTPFile,
		Timeout: 1500 * time.Millisecond,
	})
	if !res.Is["unavailable"] {
		t.Fatalf("Renew: %q, want ErrUnavailable", res.Err)
	}
	if !strings.Contains(res.Err, "timed out after") || !strings.Contains(res.Err, "last output: Contacting the key service...") {
		t.Errorf("error %q does not say it timed out, and where", res.Err)
	}
	procAssertGone(t, pidFile)
}

func TestNewScriptValidates(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  ScriptConfig
		want string
	}{
		{"empty command", ScriptConfig{}, "command is empty"},
		{"bad regexp", ScriptConfig{Command: []string{"x"}, Dialog: []DialogStep{{Expect: "ok", Send: "a"}, {Expect: "(", Send: "b"}}}, "dialog step 2: expect: error parsing regexp"},
		{"empty expect", ScriptConfig{Command: []string{"x"}, Dialog: []DialogStep{{Send: "a"}}}, "dialog step 1: expect is empty"},
		{"typo placeholder", ScriptConfig{Command: []string{"x"}, Dialog: []DialogStep{{Expect: "P", Send: "{pasword}"}}}, "unknown placeholder {pasword}"},
		{"sends nothing", ScriptConfig{Command: []string{"x"}, Dialog: []DialogStep{{Expect: "P", NoEnter: true}}}, "sends nothing"},
	} {
		_, err := NewScript(tc.cfg)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrConfig saying %q", tc.name, err, tc.want)
		}
	}
	if _, err := NewScript(ScriptConfig{Command: []string{"x"}, Dialog: []DialogStep{{Expect: `(?i)code`, Send: "{password}{otp}"}}}); err != nil {
		t.Error(err)
	}
}

func TestScriptClassify(t *testing.T) {
	for line, want := range map[string]scriptKind{
		"Username : ":                          scriptUsername,
		"Username: ":                           scriptUsername,
		"login as: ":                           scriptUsername,
		"Password: ":                           scriptPassword,
		"jdoe@daint's password:":               scriptPassword,
		"Password for user jdoe:":              scriptPassword,
		"PIN: ":                                scriptPassword,
		"Enter OTP (6-digit code): ":           scriptOTP,
		"Enter OTP (6-digit code):":            scriptOTP,
		"One-Time Password: ":                  scriptOTP,
		"One-time password (OATH) for `jdoe':": scriptOTP,
		"OTP: ":                                scriptOTP,
		"Verification code: ":                  scriptOTP,
		"Enter your TOTP token:":               scriptOTP,
		"Code: ":                               scriptOTP,
		"Enter the password+OTP for jdoe: ":    scriptPasswordOTP,
		"Enter your password + OTP:":           scriptPasswordOTP,
		"Password+OTP: ":                       scriptPasswordOTP,
		"\x1b[1mPassword:\x1b[0m ":             scriptPassword,
		"Enter new passphrase (empty for no passphrase): ":                scriptQuestion,
		"Enter same passphrase again: ":                                   scriptQuestion,
		"Retype new password:":                                            scriptQuestion,
		"Enter passphrase for key '/home/j/.ssh/id':":                     scriptQuestion,
		"Do you want to add a passphrase to your key? [y/n] (Default y) ": scriptQuestion,
		"Continue (yes/no)":                                               scriptQuestion,
		"Proceed? ":                                                       scriptQuestion,
		"Choose [1-3]":                                                    scriptQuestion,
		"Select account:":                                                 scriptQuestion,
		"Your favourite colour:":                                          scriptQuestion,
		"Password is empty.":                                              scriptNone,
		"OTP is not valid, OTP must contains only six digits.":            scriptNone,
		"Setting the environment : [##########------------------------------] 25%  Authenticating to the SSH key service...": scriptNone,
		"Successfully obtained ssh key /home/j/.ssh/nersc":                                                                   scriptNone,
		"":    scriptNone,
		"   ": scriptNone,
	} {
		if got := scriptClassify(line); got != want {
			t.Errorf("scriptClassify(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestScriptLastLine(t *testing.T) {
	for out, want := range map[string]string{
		"Username : jdoe\r\nPassword: ":                         "Password: ",
		"\rSetting : [##--] 25%  A...\rSetting : [####] 50%  B": "Setting : [####] 50%  B",
		"Prompt: \r\n\r\n":                                      "Prompt: ",
		"\x1b[31mError\x1b[0m: bad\r\n":                         "Error: bad",
		"":                                                      "",
		"a\x00b\x07: ":                                          "ab: ",
	} {
		if got := procLastLine(out); got != want {
			t.Errorf("procLastLine(%q) = %q, want %q", out, got, want)
		}
	}
}

func TestScriptDialogOrder(t *testing.T) {
	steps, err := scriptCompile([]DialogStep{
		{Expect: `Token:`, Send: "{otp}", Optional: true},
		{Expect: `\[y/n\]`, Send: "n", NoEnter: true},
		{Expect: `Last:`, Send: "x"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d := scriptDialog{steps: steps}
	step := func(line string, wantVerdict scriptVerdict, wantStep int, wantKind scriptKind) {
		t.Helper()
		v, a := d.decide(line)
		if v != wantVerdict || (v == scriptAnswer && (a.step != wantStep || a.kind != wantKind)) {
			t.Fatalf("decide(%q) = %v step %d kind %v; want %v step %d kind %v", line, v, a.step, a.kind, wantVerdict, wantStep, wantKind)
		}
		if v == scriptAnswer {
			d.done(a)
		}
	}
	step("Password: ", scriptAnswer, -1, scriptPassword) // the default dialog fills in
	step("Last:", scriptUnexpected, 0, 0)                // blocked by the required [y/n] step
	step("Add passphrase? [y/n] ", scriptAnswer, 1, 0)   // optional Token: skipped
	step("Token:", scriptAnswer, -1, scriptOTP)          // step 1 is behind us: default dialog
	step("Password: ", scriptAgain, 0, 0)                // asked again
	step("Add passphrase? [y/n] ", scriptAgain, 0, 0)
	step("Progress 50%", scriptWait, 0, 0)
	step("Last:", scriptAnswer, 2, 0)
}

// FuzzClassifyPrompt feeds arbitrary script output through what the default
// dialog does with it: find the last line, classify it, quote it.
func FuzzClassifyPrompt(f *testing.F) {
	for _, s := range []string{
		"Username : ", "Password: ", "Enter OTP (6-digit code):", "One-Time Password: ",
		"Enter the password+OTP for jdoe: ", "[y/n] (Default y) \n", "\rProgress: [##] 50%",
		"\x1b[1mPIN:\x1b[0m", "Password:\xff\xfe", "a\r\nb\r\n\r\n", "::::", "password + password + otp:",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		line := procLastLine(out)
		k := scriptClassify(line)
		if k > scriptPasswordOTP {
			t.Fatalf("kind %d", k)
		}
		trimmed := strings.TrimSpace(procStripControl(line))
		if k >= scriptUsername && !strings.HasSuffix(trimmed, ":") {
			t.Fatalf("%q classified %v without a colon at the end", line, k)
		}
		if k != scriptClassify(line+"  ") {
			t.Fatalf("trailing blanks change the class of %q", line)
		}
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("last line %q holds a line break", line)
		}
		q := procClean(line)
		if strings.ContainsFunc(q, func(r rune) bool { return r < ' ' || r == 0x7f }) || !utf8.ValidString(q) {
			t.Fatalf("quoted %q is not clean", q)
		}
		var d scriptDialog
		if v, a := d.decide(line); v == scriptAnswer && (a.step != -1 || a.kind != k) {
			t.Fatalf("default dialog answered %q as %v, classified %v", line, a.kind, k)
		}
	})
}

// A script that never stops writing never looks quiet; the deadline must
// still end it (the console is closed under the read).
func TestScriptChattyDeadline(t *testing.T) {
	t.Parallel()
	p, err := NewScript(ScriptConfig{Command: []string{"bash", "-c", `while :; do echo "Password: spam"; done`}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err = p.Renew(ctx, &Request{Log: procLogger(nil)})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "timed out after") {
		t.Fatalf("%v, want ErrUnavailable: timed out", err)
	}
}
