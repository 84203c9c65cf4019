package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/internal/sshtest"
)

// e2eEnv is a private HOME with a test CA, a user key and a config whose
// profile uses the command provider with the given script body.
type e2eEnv struct {
	home, ca, key, config string
	env                   []string
}

func newE2E(t *testing.T, script, extraConfig string) *e2eEnv {
	t.Helper()
	home := t.TempDir()
	e := &e2eEnv{home: home, ca: filepath.Join(home, "ca"), key: filepath.Join(home, ".ssh", "id")}
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	for _, k := range []string{e.ca, e.key} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
	}
	renew := filepath.Join(home, "renew.sh")
	if err := os.WriteFile(renew, []byte("#!/bin/sh\nset -e\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	e.config = filepath.Join(home, "config.toml")
	cfg := fmt.Sprintf("[profiles.e2e]\nprovider = \"command\"\ncommand = [%q, \"{key}\"]\nkey = %q\n%s", renew, e.key, extraConfig)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := user.Current()
	e.env = append(os.Environ(), "HOME="+home, "HPC_AUTH_CONFIG="+e.config, "CA="+e.ca, "USER="+u.Username,
		"HPC_AUTH_STATE_DIR="+filepath.Join(home, "state"), "HPC_AUTH_PROFILE=")
	return e
}

func hpcAuthBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("hpc-auth") // testscript.Main put the test binary on PATH as hpc-auth
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConcurrentCallers starts 16 processes that all find an expired
// certificate at once, as AiiDA's daemon workers do; a slow provider makes
// them overlap. Exactly one renewal must happen, and all must exit 0.
func TestConcurrentCallers(t *testing.T) {
	e := newE2E(t, `echo renewal >> "$HOME/count"
sleep 1
ssh-keygen -q -s "$CA" -I concurrent -n "$USER" -V -1m:+24h "$1.pub"
`, "")
	bin := hpcAuthBinary(t)
	const n = 16
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(bin)
		cmds[i].Env = e.env
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("caller %d: %v: %s", i, err, outs[i])
		}
	}
	count, _ := os.ReadFile(filepath.Join(e.home, "count"))
	if got := strings.Count(string(count), "renewal"); got != 1 {
		t.Fatalf("%d renewals for 16 concurrent callers; want exactly 1", got)
	}
}

// TestLoginWithRenewedKey is the whole story: the certificate is missing, a
// command provider makes a fresh key and has it signed by the test CA,
// hpc-auth checks and accepts it, and a real OpenSSH sshd on 127.0.0.1 that
// trusts the CA lets ssh and sftp in with it.
func TestLoginWithRenewedKey(t *testing.T) {
	e := newE2E(t, `rm -f "$1" "$1.pub" "$1-cert.pub"
ssh-keygen -q -t ed25519 -N '' -f "$1"
ssh-keygen -q -s "$CA" -I e2e-login -n "$USER" -V -1m:+12h "$1.pub"
`, "")
	caPEM, err := os.ReadFile(e.ca)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := ssh.ParsePrivateKey(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, ca)
	os.Remove(e.key)
	os.Remove(e.key + ".pub")
	cmd := exec.Command(hpcAuthBinary(t))
	cmd.Env = e.env
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("hpc-auth: %v, output %q", err, out)
	}
	fi, err := os.Stat(e.key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key: %v %v", fi, err)
	}
	if out, err := srv.SSH(t, e.key, e.key+"-cert.pub", "echo", "logged-in"); err != nil || !strings.Contains(out, "logged-in") {
		t.Fatalf("ssh with the renewed key: %v: %s", err, out)
	}
	if err := srv.SFTP(t, e.key, e.key+"-cert.pub"); err != nil {
		t.Fatalf("sftp with the renewed key: %v", err)
	}
}
