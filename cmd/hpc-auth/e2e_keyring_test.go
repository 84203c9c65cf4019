package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
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
	"github.com/hpc-auth/hpc-auth/internal/sshtest"
	"github.com/hpc-auth/hpc-auth/keyring/keyringtest"
)

// e2eUseKeyring points h's runs at a keyringtest session: its bus address
// and runtime directory, nothing else of its environment (HOME stays h's).
func e2eUseKeyring(h *hpcHome, session []string) {
	for _, kv := range session {
		if k, _, _ := strings.Cut(kv, "="); k == "DBUS_SESSION_BUS_ADDRESS" || k == "XDG_RUNTIME_DIR" {
			h.env = append(h.env, kv)
		}
	}
}

// TestE2EKeyringRenew: the secrets come from a real Secret Service
// (gnome-keyring on a private session bus), stored the way users do it with
// secret-tool: the default `keyring` items (service hpc-auth, account
// PROFILE/KIND) and a `keyring:hpc/jdoe` item as in the AiiDA docs
// (secret-tool store ... service hpc username jdoe).
func TestE2EKeyringRenew(t *testing.T) {
	t.Parallel()
	session := keyringtest.Session(t)
	ca := e2eNewCA(t)
	sshd := sshtest.Start(t, ca)
	h := newHPCHome(t)
	e2eUseKeyring(h, session)

	cscs := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{CA: ca, Username: sshd.User}, "password = \"keyring\"\ntotp = \"keyring\"\n")
	lbnl := e2eHTTPSetup(t, h, e2ePresets[2], fakeservice.Options{CA: ca, Username: sshd.User}, "password = \"keyring:hpc/jdoe\"\ntotp = \"keyring\"\n")
	// Drop the setup's file: references: the keyring ones above come first
	// in each profile and a second key would be an error.
	strip := regexp.MustCompile(`(?m)^(password|totp) = "file:.*\n`)
	h.writeConfig(strip.ReplaceAllString(cscs.toml+"\n"+lbnl.toml, ""))
	for _, f := range []string{"cscs-password", "cscs-totp", "lbnl-password", "lbnl-totp"} {
		os.Remove(h.path("secrets/" + f))
	}

	keyringtest.Store(t, session, "hpc-auth", "cscs/password", cscs.password)
	keyringtest.Store(t, session, "hpc-auth", "cscs/totp", cscs.totp)
	keyringtest.Store(t, session, "hpc", "jdoe", lbnl.password)
	keyringtest.Store(t, session, "hpc-auth", "lbnl/totp", lbnl.totp)

	r := h.hpc("-p", "cscs", "secret", "check")
	if r.code != 0 || strings.Count(r.stdout, " present ") != 2 {
		t.Fatalf("secret check: %v", r)
	}
	scan := newE2ESecretScan(t, []string{cscs.password}, cscs.totp)
	scan.output(r)

	for _, svc := range []*e2eService{cscs, lbnl} {
		name := filepath.Base(svc.key)
		r := h.hpc("-p", name)
		scan.output(r)
		wantSilent(t, r)
		if svc.Requests() != 1 || svc.Issued() != 1 {
			t.Fatalf("%s: requests %d, issued %d; want 1 and 1", name, svc.Requests(), svc.Issued())
		}
		cert := svc.key + "-cert.pub"
		e2eCheckPair(t, svc.key, cert, ca.PublicKey(), sshd.User, true)
		if out, err := sshd.SSH(t, svc.key, cert, "echo", "logged-in"); err != nil || !strings.Contains(out, "logged-in") {
			t.Fatalf("%s: ssh with the renewed key: %v\n%s", name, err, out)
		}
		wantSilent(t, h.hpc("-p", name))
		if svc.Requests() != 1 {
			t.Fatalf("%s: the fast path reached the service", name)
		}
	}
	if err := sshd.SFTP(t, cscs.key, cscs.key+"-cert.pub"); err != nil {
		t.Fatal(err)
	}
	scan.dir(h.state)
	scan.check()
}

// e2eDBusProcesses lists the dbus-daemon and dbus-launch processes whose
// environment holds mark: those that a process started with mark in its
// environment left behind (other tests' buses do not have it).
func e2eDBusProcesses(t *testing.T, mark string) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, d := range dirs {
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue // gone
		}
		name := strings.TrimSpace(string(comm))
		if !strings.HasPrefix(name, "dbus-") {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range strings.Split(string(env), "\x00") {
			if kv == mark {
				found = append(found, fmt.Sprintf("%s (pid %s)", name, filepath.Base(d)))
			}
		}
	}
	return found
}

// TestE2EHeadlessKeyring: as under cron, an AiiDA daemon or an SSH login,
// there is no session bus (DBUS_SESSION_BUS_ADDRESS unset, an empty
// XDG_RUNTIME_DIR). With keyring references hpc-auth fails fast with 78 and
// one line that names the keyring and the fix; it never reaches the key
// service and never starts a bus (a dbus-launch on PATH records any call,
// and no dbus process carrying the run's environment appears).
func TestE2EHeadlessKeyring(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(fmt.Sprintf("/run/user/%d/bus", os.Getuid())); err == nil {
		// hpc-auth rightly uses the standard per-user bus; there is no
		// headless case to test on this machine.
		t.Skipf("/run/user/%d/bus exists (a desktop session): cannot test the headless case here", os.Getuid())
	}
	h := newHPCHome(t)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "password = \"keyring\"\ntotp = \"keyring\"\n")
	strip := regexp.MustCompile(`(?m)^(password|totp) = "file:.*\n`)
	h.writeConfig(strip.ReplaceAllString(svc.toml, ""))

	trap := h.path("trap")
	launched := filepath.Join(trap, "launched")
	for _, name := range []string{"dbus-launch", "dbus-daemon"} {
		h.write("trap/"+name, []byte("#!/bin/sh\necho \"$0 $*\" >> '"+launched+"'\nexit 1\n"), 0o755)
	}
	b := make([]byte, 8)
	rand.Read(b)
	mark := "HPC_AUTH_E2E_MARK=" + hex.EncodeToString(b)
	env := []string{"PATH=" + trap + string(os.PathListSeparator) + os.Getenv("PATH"), mark}
	if e2eUnset(h.environ(env...), "DBUS_SESSION_BUS_ADDRESS") {
		t.Fatal("the run's environment has DBUS_SESSION_BUS_ADDRESS")
	}

	check := func(r hpcResult) {
		t.Helper()
		if r.took > 10*time.Second { // a hang guard, not a speed claim
			t.Errorf("hpc-auth %s took %v without a session bus", strings.Join(r.args, " "), r.took)
		}
		if b, err := os.ReadFile(launched); err == nil {
			t.Errorf("hpc-auth tried to start a bus: %s", b)
		}
		if ps := e2eDBusProcesses(t, mark); len(ps) > 0 {
			t.Errorf("hpc-auth left D-Bus processes behind: %v", ps)
		}
		if svc.Requests() != 0 {
			t.Errorf("the key service was contacted without secrets")
		}
	}

	r := h.hpcRun(nil, env, "--force")
	line := wantFail(t, r, 78, "cscs")
	wantContains(t, "stderr line", line, "keyring", "D-Bus session bus", "env:, file:")
	check(r)

	r = h.hpcRun(nil, env) // no certificate at all: the same
	wantFail(t, r, 78, "cscs")
	check(r)

	r = h.hpcRun(nil, env, "secret", "check")
	if r.code != 78 || !regexp.MustCompile(`(?m)^password +unreadable`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^totp +unreadable`).MatchString(r.stdout) {
		t.Errorf("secret check without a bus: want 78 and both unreadable; got %v", r)
	}
	wantContains(t, "secret check's stderr", r.stderr, "hpc-auth: cscs: ", "keyring")
	check(r)

	r = h.hpcRun(nil, env, "totp")
	wantFail(t, r, 78, "cscs")
	check(r)
}

func e2eUnset(env []string, key string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return true
		}
	}
	return false
}

// TestE2ELockedKeyring: the login collection is locked (a screen lock, or
// `secret-tool lock`), and nobody can answer an unlock prompt: 78, and the
// line says "locked".
func TestE2ELockedKeyring(t *testing.T) {
	t.Parallel()
	session := keyringtest.Session(t)
	h := newHPCHome(t)
	e2eUseKeyring(h, session)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "password = \"keyring\"\ntotp = \"keyring\"\n")
	strip := regexp.MustCompile(`(?m)^(password|totp) = "file:.*\n`)
	h.writeConfig(strip.ReplaceAllString(svc.toml, ""))
	keyringtest.Store(t, session, "hpc-auth", "cscs/password", svc.password)
	keyringtest.Store(t, session, "hpc-auth", "cscs/totp", svc.totp)
	keyringtest.Lock(t, session)

	r := h.hpc("--force")
	line := wantFail(t, r, 78, "cscs")
	wantContains(t, "stderr line", line, "locked")
	if r.took > 10*time.Second { // a hang guard, not a speed claim
		t.Errorf("hpc-auth took %v on a locked keyring", r.took)
	}
	if svc.Requests() != 0 {
		t.Errorf("the key service was contacted without secrets")
	}
	r = h.hpc("secret", "check")
	if r.code != 78 || !strings.Contains(r.stdout, "locked") {
		t.Errorf("secret check on a locked keyring: want 78 and \"locked\"; got %v", r)
	}
}

// TestE2ESecretCommands: secret set (from standard input, no terminal),
// check and delete, and totp, against a real Secret Service, cross-checked
// with secret-tool; and secret set/delete refusing references that do not
// name a keyring item.
func TestE2ESecretCommands(t *testing.T) {
	t.Parallel()
	session := keyringtest.Session(t)
	h := newHPCHome(t)
	e2eUseKeyring(h, session)
	pwFile := h.secretFile("pw", "from-a-file")
	h.writeConfig(fmt.Sprintf(`default_profile = "daint"
[profiles.daint]
provider = "cscs-legacy"
key = "~/.ssh/daint"
[profiles.jdoe]
provider = "lbnl-msm"
key = "~/.ssh/jdoe"
password = "keyring:hpc/jdoe"
[profiles.envp]
provider = "nersc"
key = "~/.ssh/envp"
password = "env:HPC_PASSWORD"
totp = "file:%s"
`, pwFile))
	password := e2ePassword(t)
	secret := e2eRandomBase32(t)
	scan := newE2ESecretScan(t, []string{password}, secret)
	run := func(stdin string, args ...string) hpcResult {
		t.Helper()
		r := h.hpcStdin(stdin, args...)
		scan.output(r)
		return r
	}
	// For the two commands whose purpose is to show the current code.
	runShowingCode := func(stdin string, args ...string) hpcResult {
		t.Helper()
		r := h.hpcStdin(stdin, args...)
		scan.output(hpcResult{args: r.args, stderr: r.stderr})
		return r
	}
	lookup := func(service, account string) (string, bool) {
		t.Helper()
		return keyringtest.Lookup(t, session, service, account)
	}

	// Nothing stored yet.
	r := run("", "secret", "check")
	if r.code != 78 || !regexp.MustCompile(`(?m)^password +missing`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^totp +missing`).MatchString(r.stdout) {
		t.Fatalf("secret check with nothing stored: %v", r)
	}
	wantContains(t, "stderr", r.stderr, "secret set")

	// The password, piped (a trailing newline is not part of it).
	r = run(password+"\n", "secret", "set", "password", "--stdin")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("secret set password: %v", r)
	}
	wantContains(t, "stdout", r.stdout, "service=hpc-auth account=daint/password")
	if v, ok := lookup("hpc-auth", "daint/password"); !ok || v != password {
		t.Fatalf("secret-tool finds %v (found %v), not the password just set", len(v), ok)
	}

	// A TOTP secret that is not base32 is refused and not stored.
	r = run("not a base32 secret!\n", "secret", "set", "totp", "--stdin")
	wantFail(t, r, 78, "daint")
	if _, ok := lookup("hpc-auth", "daint/totp"); ok {
		t.Fatal("an invalid TOTP secret was stored")
	}

	// A valid one (lower case, in groups, as some services show it) is
	// stored as given and its current code shown for comparison.
	shown := strings.ToLower(secret[:16]) + " " + strings.ToLower(secret[16:])
	r = runShowingCode(shown+"\n", "secret", "set", "totp", "--stdin")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("secret set totp: %v", r)
	}
	m := regexp.MustCompile(`(?m)^current code: ([0-9]{6}) \(([0-9]+)s left\)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("secret set totp does not show the current code: %q", r.stdout)
	}
	e2eWantCurrentCode(t, secret, m[1], m[2])
	if v, ok := lookup("hpc-auth", "daint/totp"); !ok || strings.TrimSpace(v) != shown {
		t.Fatalf("secret-tool does not find the TOTP secret just set (found %v)", ok)
	}

	r = run("", "secret", "check")
	if r.code != 0 || !regexp.MustCompile(`(?m)^password +present`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^totp +present`).MatchString(r.stdout) {
		t.Fatalf("secret check with both stored: %v", r)
	}

	r = runShowingCode("", "totp")
	m = regexp.MustCompile(`^([0-9]{6}) \(([0-9]+)s left\)\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || r.stderr != "" {
		t.Fatalf("totp: want a 6-digit code and the seconds left; got %v", r)
	}
	e2eWantCurrentCode(t, secret, m[1], m[2])

	r = run("", "secret", "delete", "totp")
	if r.code != 0 {
		t.Fatalf("secret delete totp: %v", r)
	}
	if _, ok := lookup("hpc-auth", "daint/totp"); ok {
		t.Fatal("secret-tool still finds the deleted TOTP secret")
	}
	if _, ok := lookup("hpc-auth", "daint/password"); !ok {
		t.Fatal("deleting the TOTP secret deleted the password")
	}
	r = run("", "secret", "check")
	if r.code != 78 || !regexp.MustCompile(`(?m)^password +present`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^totp +missing`).MatchString(r.stdout) {
		t.Fatalf("secret check after delete: %v", r)
	}
	wantFail(t, run("", "secret", "delete", "totp"), 78, "daint")
	wantFail(t, run("", "totp"), 78, "daint")

	// keyring:hpc/jdoe is the item `secret-tool store ... service hpc username jdoe` makes.
	r = run(password, "-p", "jdoe", "secret", "set", "password", "--stdin")
	if r.code != 0 {
		t.Fatalf("secret set for keyring:hpc/jdoe: %v", r)
	}
	if v, ok := lookup("hpc", "jdoe"); !ok || v != password {
		t.Fatal("secret-tool does not find the password under service hpc, username jdoe")
	}

	// env: and file: references are read-only: 78, saying where the secret comes from.
	line := wantFail(t, run(password, "-p", "envp", "secret", "set", "password", "--stdin"), 78, "envp")
	wantContains(t, "stderr line", line, "HPC_PASSWORD")
	line = wantFail(t, run(secret, "-p", "envp", "secret", "set", "totp", "--stdin"), 78, "envp")
	wantContains(t, "stderr line", line, pwFile)
	line = wantFail(t, run("", "-p", "envp", "secret", "delete", "password"), 78, "envp")
	wantContains(t, "stderr line", line, "HPC_PASSWORD")

	// Without --stdin and without a terminal there is nothing to read from.
	line = wantFail(t, run("", "secret", "set", "password"), 78, "daint")
	wantContains(t, "stderr line", line, "--stdin")

	scan.dir(h.state)
	scan.check()
}

// e2eWantCurrentCode checks a code and its seconds left against the
// secret: the code of the current step or, across a step boundary during
// the run, of the one before; the seconds within a step.
func e2eWantCurrentCode(t *testing.T, secret, code, left string) {
	t.Helper()
	now := time.Now().Unix() / 30
	var want []string
	for _, step := range []int64{now - 1, now} {
		c, err := hotp.GenerateCodeCustom(secret, uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, c)
	}
	if code != want[0] && code != want[1] {
		t.Errorf("code %s is not the secret's current code (%v)", code, want)
	}
	if n, err := strconv.Atoi(left); err != nil || n < 1 || n > 30 {
		t.Errorf("%q seconds left is not within a 30 s step", left)
	}
}
