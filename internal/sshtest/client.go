package sshtest

import (
	"bytes"
	"context"
	"errors"
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

// clientTimeout bounds every ssh/sftp run; a loopback login takes ~0.3 s.
const clientTimeout = 20 * time.Second

// SSH logs in with the real ssh client using only the given private key file and
// certificate file (no agent, no config, no other identities) and runs args
// (default "true"). It returns ssh's combined output and its error
// (an *exec.ExitError with code 255 when the login was refused).
// An empty cert lets ssh fall back to its default "<key>-cert.pub".
func (s *Server) SSH(t testing.TB, key, cert string, args ...string) (out string, err error) {
	t.Helper()
	if len(args) == 0 {
		args = []string{"true"}
	}
	argv := append(s.clientOptions(key, cert), "-p", strconv.Itoa(s.Port), s.User+"@127.0.0.1", "--")
	return s.runClient(t, "ssh", append(argv, args...)...)
}

// SFTP logs in with the real sftp client like SSH does, then puts a small file into a
// fresh directory on the server, lists it, gets it back and compares the content.
func (s *Server) SFTP(t testing.TB, key, cert string) error {
	t.Helper()
	local, remote := t.TempDir(), t.TempDir() // same machine: "remote" is just another dir
	want := []byte("hpc-auth sftp round trip " + time.Now().Format(time.RFC3339Nano) + "\n")
	src := filepath.Join(local, "up.txt")
	dst := filepath.Join(remote, "file.txt")
	back := filepath.Join(local, "down.txt")
	writeFile(t, src, want, 0o600)
	batch := filepath.Join(local, "batch")
	writeFile(t, batch, []byte(fmt.Sprintf("put %s %s\nls -l %s\nget %s %s\n",
		sftpQuote(src), sftpQuote(dst), sftpQuote(dst), sftpQuote(dst), sftpQuote(back))), 0o600)

	argv := append([]string{"-b", batch, "-P", strconv.Itoa(s.Port)}, s.clientOptions(key, cert)...)
	out, err := s.runClient(t, "sftp", append(argv, s.User+"@127.0.0.1")...)
	if err != nil {
		return fmt.Errorf("%w\n%s", err, out)
	}
	if !strings.Contains(out, "file.txt") {
		return fmt.Errorf("sftp ls did not show the uploaded file:\n%s", out)
	}
	got, err := os.ReadFile(back)
	if err != nil {
		return fmt.Errorf("sftp get: %w\n%s", err, out)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("sftp round trip changed the file: got %q, want %q", got, want)
	}
	return nil
}

// clientOptions isolates the client from the user's ~/.ssh/config, agent and keys, and
// from known_hosts (the host key is fresh for every server).
func (s *Server) clientOptions(key, cert string) []string {
	opts := []string{
		"-F", "/dev/null",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes",
		"-o", "LogLevel=ERROR",
		"-o", "IdentityAgent=none",
		"-o", "ConnectTimeout=10",
		"-i", key,
	}
	if cert != "" {
		opts = append(opts, "-o", "CertificateFile="+cert)
	}
	return opts
}

// runClient runs an OpenSSH client with a deadline, in its own process group (killed
// whole on timeout), with stdin from /dev/null and output captured, never inherited.
func (s *Server) runClient(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s (%v)", missingClient, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = clientEnv()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s: no result within %v: %w", name, clientTimeout, errors.Join(ctx.Err(), err))
	} else if err != nil {
		err = fmt.Errorf("%s: %w", name, err)
	}
	return out.String(), err
}

// clientEnv is our environment without the agent socket, so nothing but the given
// key file can authenticate (IdentityAgent=none covers ssh; this covers sftp's ssh too).
func clientEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SSH_AUTH_SOCK=") || strings.HasPrefix(kv, "SSH_AGENT_PID=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// sftpQuote quotes a path for an sftp batch file (t.TempDir names have no quotes).
func sftpQuote(p string) string { return `"` + p + `"` }
