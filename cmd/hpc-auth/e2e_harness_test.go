package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"
)

// The end-to-end tests in e2e_*_test.go run the real hpc-auth binary (the
// test binary, which testscript.Main puts on PATH as hpc-auth and
// hpc-auth-engine) the way AiiDA does: no arguments beyond the user's,
// stdin on /dev/null, no controlling terminal (a new session), a private
// HOME, config and state directory, and no session bus or agent of the real
// user's. Helper names start with "hpc"/"e2e" to stay clear of e2e_test.go.

// hpcRunGuard is a hang guard for one hpc-auth run, not a speed claim:
// every wait inside hpc-auth has its own, much shorter deadline.
const hpcRunGuard = 90 * time.Second

// hpcHome is one user's private world.
type hpcHome struct {
	t      *testing.T
	dir    string // HOME
	ssh    string // HOME/.ssh, 0700
	config string // HOME/.config/hpc-auth/config.toml (HPC_AUTH_CONFIG)
	state  string // HPC_AUTH_STATE_DIR (not created: hpc-auth makes it)
	run    string // XDG_RUNTIME_DIR: an empty directory (no bus socket in it)
	// env is added to the environment of every run (later entries win).
	env []string
}

func newHPCHome(t *testing.T) *hpcHome {
	t.Helper()
	dir := t.TempDir()
	h := &hpcHome{
		t:      t,
		dir:    dir,
		ssh:    filepath.Join(dir, ".ssh"),
		config: filepath.Join(dir, ".config", "hpc-auth", "config.toml"),
		state:  filepath.Join(dir, ".local", "state", "hpc-auth"),
		run:    filepath.Join(dir, "run"),
	}
	for _, d := range []string{h.ssh, filepath.Dir(h.config), h.run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// path makes a path under HOME from a slash-separated relative one.
func (h *hpcHome) path(rel string) string { return filepath.Join(h.dir, filepath.FromSlash(rel)) }

// write writes a file under HOME (creating directories 0700) with exactly mode.
func (h *hpcHome) write(rel string, data []byte, mode os.FileMode) string {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		h.t.Fatal(err)
	}
	return p
}

// secretFile stores a secret for a file: reference (0600) and returns the path.
func (h *hpcHome) secretFile(name, value string) string {
	h.t.Helper()
	return h.write("secrets/"+name, []byte(value), 0o600)
}

func (h *hpcHome) writeConfig(toml string) {
	h.t.Helper()
	if err := os.WriteFile(h.config, []byte(toml), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// environ is the environment of a run: the test process's, minus anything
// that leads to the real user's files, session bus, agent or display.
func (h *hpcHome) environ(extra ...string) []string {
	drop := func(k string) bool {
		switch k {
		case "HOME", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY", "GNOME_KEYRING_CONTROL",
			"SSH_AUTH_SOCK", "SSH_AGENT_PID":
			return true
		}
		return strings.HasPrefix(k, "HPC_AUTH_") || strings.HasPrefix(k, "XDG_")
	}
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !drop(k) {
			env = append(env, kv)
		}
	}
	env = append(env,
		"HOME="+h.dir,
		"HPC_AUTH_CONFIG="+h.config,
		"HPC_AUTH_STATE_DIR="+h.state,
		"XDG_RUNTIME_DIR="+h.run,
		// Under -race every successful exit sleeps 1 s (the race runtime's
		// atexit_sleep_ms) unless told otherwise; races are still reported.
		"GORACE=atexit_sleep_ms=0 "+os.Getenv("GORACE"),
	)
	env = append(env, h.env...)
	return append(env, extra...)
}

// hpcResult is one finished run.
type hpcResult struct {
	args           []string
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r hpcResult) String() string {
	return fmt.Sprintf("hpc-auth %s: exit %d\nstdout: %q\nstderr: %q", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// hpc runs hpc-auth with stdin on /dev/null.
func (h *hpcHome) hpc(args ...string) hpcResult {
	h.t.Helper()
	return h.hpcRun(nil, nil, args...)
}

// hpcStdin runs hpc-auth with stdin from a pipe holding in.
func (h *hpcHome) hpcStdin(in string, args ...string) hpcResult {
	h.t.Helper()
	return h.hpcRun(strings.NewReader(in), nil, args...)
}

// hpcRun runs hpc-auth in a new session (so it has no controlling terminal,
// as under AiiDA's daemon) and kills its whole process group if it outlives
// hpcRunGuard.
func (h *hpcHome) hpcRun(stdin *strings.Reader, extraEnv []string, args ...string) hpcResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hpcRunGuard)
	defer cancel()
	cmd := exec.CommandContext(ctx, hpcAuthBinary(h.t), args...)
	cmd.Env = h.environ(extraEnv...)
	cmd.Dir = h.dir
	if stdin != nil {
		cmd.Stdin = stdin
	} // else /dev/null
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := hpcResult{args: args, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		h.t.Fatalf("hpc-auth %s did not finish within %v (hang guard)\nstderr: %s", strings.Join(args, " "), hpcRunGuard, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		h.t.Fatalf("hpc-auth %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// wantSilent checks a run that must succeed without a word (exit 0, no
// stdout, no stderr), as AiiDA expects before every connection.
func wantSilent(t *testing.T, r hpcResult) {
	t.Helper()
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Fatalf("want exit 0 and no output; got %v", r)
	}
}

// wantFail checks a failed run: the exact exit status, nothing on stdout, and
// exactly one stderr line, valid UTF-8, naming the profile. It returns the line.
func wantFail(t *testing.T, r hpcResult, code int, profile string) string {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d; got %v", code, r)
	}
	if r.stdout != "" {
		t.Errorf("want no stdout on failure; got %v", r)
	}
	if !utf8.ValidString(r.stderr) {
		t.Errorf("stderr is not valid UTF-8: %q", r.stderr)
	}
	if !strings.HasSuffix(r.stderr, "\n") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("want exactly one stderr line; got %q", r.stderr)
	}
	line := strings.TrimSuffix(r.stderr, "\n")
	if prefix := "hpc-auth: " + profile + ": "; !strings.HasPrefix(line, prefix) {
		t.Errorf("stderr line %q does not start with %q", line, prefix)
	}
	return line
}

// wantContains checks that s contains every one of subs.
func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

// e2eRandomBase32 is a fresh 160-bit TOTP secret, as services hand out.
func e2eRandomBase32(t testing.TB) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// e2ePassword is a password that exercises quoting and encoding everywhere
// it could leak: quotes, a backslash, $, a colon, '+', '%', '&' and non-ASCII.
func e2ePassword(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return `Pw"q"\$x:+%&=é-` + hex.EncodeToString(b)
}

// e2eNewCA makes an ed25519 SSH CA.
func e2eNewCA(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// e2eUserKey writes a fresh ed25519 key pair at path (0600) and path.pub
// (0644), and returns its public key.
func e2eUserKey(t testing.TB, path string) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "e2e")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sp), 0o644); err != nil {
		t.Fatal(err)
	}
	return sp
}

// e2eSignCert writes a user certificate for pub, signed by ca, valid from
// after to before, at path (0644).
func e2eSignCert(t testing.TB, ca ssh.Signer, pub ssh.PublicKey, principal string, after, before time.Time, path string) {
	t.Helper()
	c := &ssh.Certificate{
		Key: pub, Serial: 1, CertType: ssh.UserCert, KeyId: "e2e-preinstalled",
		ValidPrincipals: []string{principal},
		ValidAfter:      uint64(after.Unix()), ValidBefore: uint64(before.Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{"permit-pty": ""}},
	}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, ssh.MarshalAuthorizedKey(c), 0o644); err != nil {
		t.Fatal(err)
	}
}

// e2eCheckPair checks what hpc-auth installed: the key is 0600, the
// certificate 0644 and a user certificate for principal, for that key,
// signed by ca and valid now; with wantPub, key.pub is 0644 and is the key's.
func e2eCheckPair(t *testing.T, key, certPath string, ca ssh.PublicKey, principal string, wantPub bool) *ssh.Certificate {
	t.Helper()
	e2eWantMode(t, key, 0o600)
	e2eWantMode(t, certPath, 0o644)
	pemBytes, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatalf("installed key %s: %v", key, err)
	}
	text, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(text)
	if err != nil {
		t.Fatalf("installed certificate %s: %v", certPath, err)
	}
	c, ok := pk.(*ssh.Certificate)
	if !ok {
		t.Fatalf("%s holds no certificate", certPath)
	}
	if !bytes.Equal(c.Key.Marshal(), signer.PublicKey().Marshal()) {
		t.Fatalf("the certificate does not certify the installed key")
	}
	if !bytes.Equal(c.SignatureKey.Marshal(), ca.Marshal()) {
		t.Fatalf("the certificate is signed by %s, want the CA %s", ssh.FingerprintSHA256(c.SignatureKey), ssh.FingerprintSHA256(ca))
	}
	if c.CertType != ssh.UserCert {
		t.Fatalf("not a user certificate")
	}
	var checker ssh.CertChecker // signature, validity window, principal
	if err := checker.CheckCert(principal, c); err != nil {
		t.Fatalf("certificate: %v", err)
	}
	if wantPub {
		e2eWantMode(t, key+".pub", 0o644)
		pubText, err := os.ReadFile(key + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
		if err != nil {
			t.Fatalf("%s.pub: %v", key, err)
		}
		if !bytes.Equal(pub.Marshal(), signer.PublicKey().Marshal()) {
			t.Fatalf("%s.pub is not the public half of the installed key", key)
		}
	}
	return c
}

func e2eWantMode(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != mode {
		t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), mode)
	}
}

// e2eSnapshot reads every regular file under dir (name -> content), to
// prove later that nothing changed, appeared or vanished.
func e2eSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	snap := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		snap[p] = fmt.Sprintf("%v %s", info.Mode(), b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func e2eSameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, b := range before {
		a, ok := after[p]
		switch {
		case !ok:
			t.Errorf("%s: %s vanished", what, p)
		case a != b:
			t.Errorf("%s: %s changed", what, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: %s appeared", what, p)
		}
	}
}

// e2eWantPrivateState checks the state directory: 0700, every file in it 0600.
func e2eWantPrivateState(t *testing.T, dir string) {
	t.Helper()
	e2eWantMode(t, dir, 0o700)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			e2eWantMode(t, filepath.Join(dir, e.Name()), 0o600)
		}
	}
}
