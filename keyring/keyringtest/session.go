//go:build unix

// Package keyringtest runs a real, private Secret Service for tests:
// a D-Bus session bus (dbus-run-session) with gnome-keyring-daemon on it,
// in a temporary HOME and XDG_RUNTIME_DIR, torn down with the test.
//
// Typical use is to run the code under test in a child process:
//
//	env := keyringtest.Session(t)
//	cmd := exec.Command(hpcAuth, "secret", "check")
//	cmd.Env = keyringtest.Environ(env)
//
// go-keyring shares one D-Bus connection per process, so code that reaches
// the keyring in the test process itself (after Setenv) should use only one
// session per test binary.
//
// Requirements (Debian/Ubuntu): dbus (dbus-run-session, dbus-daemon),
// libglib2.0-bin (gdbus), gnome-keyring and libsecret-tools (secret-tool).
// A missing one fails the test with the command that installs it. Never
// install dbus-x11: with it, D-Bus clients without a session autolaunch buses
// that outlive them.
package keyringtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Password unlocks the test login keyring. It is a test value, not a secret.
const Password = "hpc-auth-test-keyring"

// Install is the command that installs what this package needs.
const Install = "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends dbus libglib2.0-bin gnome-keyring libsecret-tools"

const startTimeout = 20 * time.Second

// Session starts a session bus with gnome-keyring's Secret Service, whose
// login collection exists and is unlocked, and returns the environment
// that points a process at it: HOME, XDG_RUNTIME_DIR, XDG_DATA_HOME,
// XDG_CONFIG_HOME, XDG_CACHE_HOME and DBUS_SESSION_BUS_ADDRESS (the bus
// socket is $XDG_RUNTIME_DIR/bus, so a process without
// DBUS_SESSION_BUS_ADDRESS finds it too). The bus and the daemon are stopped
// by t.Cleanup; if either survives, the test fails.
func Session(t testing.TB) []string {
	t.Helper()
	return start(t, true)
}

// BusOnly starts a session bus on which no Secret Service runs (and none
// can be activated), for testing that case.
func BusOnly(t testing.TB) []string {
	t.Helper()
	return start(t, false)
}

// Environ returns the current environment with env applied on top, minus
// anything that could lead to the user's real session or a display:
// DBUS_SESSION_BUS_ADDRESS (unless env sets it), DISPLAY, WAYLAND_DISPLAY,
// GNOME_KEYRING_CONTROL.
func Environ(env []string) []string {
	drop := map[string]bool{"DBUS_SESSION_BUS_ADDRESS": true, "DISPLAY": true, "WAYLAND_DISPLAY": true, "GNOME_KEYRING_CONTROL": true}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop[k] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return append(out, env...)
}

// Setenv applies env to the test process (restored after the test), for
// code under test that reaches the keyring in-process.
func Setenv(t testing.TB, env []string) {
	t.Helper()
	for _, k := range []string{"DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL", "DBUS_SESSION_BUS_ADDRESS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Lock locks the login collection, as a screen lock or `secret-tool lock`
// would. Reading it afterwards needs an unlock prompt, which cannot be shown
// in the test session.
func Lock(t testing.TB, env []string) {
	t.Helper()
	run(t, env, "", "gdbus", "call", "--session", "--dest", "org.freedesktop.secrets",
		"--object-path", "/org/freedesktop/secrets", "--method", "org.freedesktop.Secret.Service.Lock",
		"['/org/freedesktop/secrets/collection/login']")
}

// Store stores value with secret-tool under the attributes service and
// username, the way the AiiDA documentation tells users to.
func Store(t testing.TB, env []string, service, username, value string) {
	t.Helper()
	run(t, env, value, "secret-tool", "store", "--label=hpc-auth test", "service", service, "username", username)
}

// Lookup reads an item with secret-tool; found is false when there is none.
func Lookup(t testing.TB, env []string, service, username string) (value string, found bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "secret-tool", "lookup", "service", service, "username", username)
	cmd.Env = Environ(env)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 && out.Len() == 0 && errb.Len() == 0 {
		return "", false // secret-tool's "no such item"
	}
	if err != nil {
		t.Fatalf("secret-tool lookup: %v: %s", err, firstLine(errb.String()))
	}
	return out.String(), true
}

func run(t testing.TB, env []string, stdin string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = Environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, args[0], err, firstLine(errb.String()))
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// The session script runs under dbus-run-session. The keyring password
// arrives as the first line of standard input (never in argv or the
// environment); the rest of standard input holds the session open: when the
// test closes it, or dies, `cat` sees EOF, the script ends, and
// dbus-run-session stops the bus, which takes gnome-keyring-daemon with it.
const script = `
set -e
IFS= read -r pw
keyring=0
if [ "$HPC_AUTH_KT_SECRETS" = 1 ]; then
	printf '%s' "$pw" | gnome-keyring-daemon --daemonize --unlock --components=secrets >/dev/null
	# --unlock returns before the daemon owns its name; a client calling
	# now would activate a second daemon.
	gdbus wait --session --timeout 10 org.freedesktop.secrets
	keyring=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
		--method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.secrets | tr -cd 0-9)
fi
pw=
bus=$(gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
	--method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.DBus | tr -cd 0-9)
echo "ready $bus $keyring $DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null
`

func start(t testing.TB, secrets bool) []string {
	t.Helper()
	need := []string{"dbus-run-session", "dbus-daemon", "gdbus"}
	if secrets {
		need = append(need, "gnome-keyring-daemon", "secret-tool")
	}
	for _, bin := range need {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("keyringtest: %s not found; a real Secret Service is needed, install it with:\n\t%s", bin, Install)
		}
	}

	dir := t.TempDir()
	home, rundir := filepath.Join(dir, "home"), filepath.Join(dir, "run")
	for _, d := range []string{home, rundir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sock := filepath.Join(rundir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, []byte(busConfig(sock, secrets)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + home,
		"XDG_RUNTIME_DIR=" + rundir,
		"XDG_DATA_HOME=" + filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(home, ".cache"),
	}
	flag := "0"
	if secrets {
		flag = "1"
	}

	logPath := filepath.Join(dir, "session.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("dbus-run-session", "--config-file="+conf, "--", "sh", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(Environ(env), "HPC_AUTH_KT_SECRETS="+flag)
	cmd.Stderr = logf // never our stderr; shown when something fails
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Plain pipes rather than exec's: Wait must not depend on who else
	// (dbus-daemon, gnome-keyring-daemon) still holds a copy of them.
	inR, stdin, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin, cmd.Stdout = inR, outW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	if err != nil {
		stdin.Close()
		stdout.Close()
		t.Fatalf("keyringtest: start dbus-run-session: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	s := &session{t: t, cmd: cmd, stdin: stdin, exited: exited, logPath: logPath}

	if _, err := fmt.Fprintln(stdin, Password); err != nil {
		s.stop()
		t.Fatalf("keyringtest: %v\n%s", err, s.log())
	}
	ready := make(chan string, 1)
	go func() {
		defer stdout.Close()
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		ready <- line
		_, _ = br.WriteTo(discard{}) // until the session's processes are gone
	}()
	began := time.Now()
	var line string
	select {
	case line = <-ready:
	case <-time.After(startTimeout):
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != "ready" {
		s.stop()
		t.Fatalf("keyringtest: the session did not start (got %q); its log:\n%s", line, s.log())
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Logf("keyringtest: the session took %v to start", took.Round(time.Millisecond))
	}
	s.busPID, s.keyringPID = parsePID(f[1]), parsePID(f[2])
	t.Cleanup(s.stop)
	return append(env, "DBUS_SESSION_BUS_ADDRESS="+f[3])
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func parsePID(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

type session struct {
	t                  testing.TB
	cmd                *exec.Cmd
	stdin              interface{ Close() error }
	exited             chan struct{}
	logPath            string
	busPID, keyringPID int
}

func (s *session) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

// stop ends the session and makes sure nothing of it is left running.
func (s *session) stop() {
	s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.t.Errorf("keyringtest: dbus-run-session did not end when asked; killing it\n%s", s.log())
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
	}
	for _, p := range []struct {
		pid  int
		comm string
	}{{s.busPID, "dbus-daemon"}, {s.keyringPID, "gnome-keyring-d"}} {
		if p.pid <= 0 {
			continue
		}
		deadline := time.Now().Add(5 * time.Second)
		for alive(p.pid, p.comm) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(p.pid, p.comm) {
			syscall.Kill(p.pid, syscall.SIGKILL)
			s.t.Errorf("keyringtest: %s (pid %d) outlived the session; killed it", p.comm, p.pid)
		}
	}
}

// alive reports whether pid is a running (not zombie) process named comm,
// so that a recycled PID is never mistaken for ours.
func alive(pid int, comm string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	st := string(b)
	i, j := strings.IndexByte(st, '('), strings.LastIndexByte(st, ')')
	if i < 0 || j < i || j+2 >= len(st) {
		return false
	}
	return st[i+1:j] == comm && st[j+2] != 'Z' && st[j+2] != 'X'
}

func busConfig(sock string, activation bool) string {
	// Activation lets gnome-keyring ask gcr-prompter for unlock prompts
	// (which then fail fast: no display), as on a real headless machine. The
	// bus-only session must not activate a Secret Service on demand.
	servicedirs := ""
	if activation {
		servicedirs = "<standard_session_servicedirs/>"
	}
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path=` + xmlEscape(sock) + `</listen>
  <auth>EXTERNAL</auth>
  ` + servicedirs + `
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}
