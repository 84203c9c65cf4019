package main

import (
	"bytes"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/hpc-auth/hpc-auth/keyring/keyringtest"
)

// TestE2ESecretSetFromTerminal: `secret set` reads from the terminal
// without echo, as a person types it after the prompt, and the value lands
// in the real keyring item.
func TestE2ESecretSetFromTerminal(t *testing.T) {
	t.Parallel()
	session := keyringtest.Session(t)
	h := newHPCHome(t)
	e2eUseKeyring(h, session)
	h.writeConfig("[profiles.daint]\nprovider = \"cscs-legacy\"\nkey = \"~/.ssh/daint\"\n")
	password := e2ePassword(t)

	cmd := exec.Command(hpcAuthBinary(t), "secret", "set", "password")
	cmd.Env = h.environ()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tty.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	prompted := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 1024)
		for {
			n, err := ptmx.Read(buf)
			out.Write(buf[:n])
			if strings.Contains(out.String(), "Password for daint: ") {
				select {
				case <-prompted:
				default:
					close(prompted)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-prompted:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no prompt; output %q", out.String())
	}
	time.Sleep(200 * time.Millisecond) // the person types after the prompt
	io.WriteString(ptmx, password+"\r")
	werr := make(chan error, 1)
	go func() { werr <- cmd.Wait() }()
	select {
	case err := <-werr:
		if err != nil {
			t.Fatalf("secret set: %v; output %q", err, out.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("secret set hung")
	}
	<-done
	if strings.Contains(out.String(), password) {
		t.Fatal("the password was echoed on the terminal")
	}
	if !strings.Contains(out.String(), "stored the password of daint") {
		t.Fatalf("output %q", out.String())
	}
	if v, ok := keyringtest.Lookup(t, session, "hpc-auth", "daint/password"); !ok || v != password {
		t.Fatal("the keyring item does not hold what was typed")
	}
}
