package engine

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// TestAgent: with agent = true a renewal loads the key and certificate into
// a real ssh-agent, with a lifetime that ends with the certificate.
func TestAgent(t *testing.T) {
	if _, err := exec.LookPath("ssh-agent"); err != nil {
		t.Fatal("ssh-agent (openssh-client) is missing: run make test")
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var conn net.Conn
	var err error
	for i := 0; i < 200; i++ {
		if conn, err = net.Dial("unix", sock); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("ssh-agent did not start: %v", err)
	}
	defer conn.Close()
	t.Setenv("SSH_AUTH_SOCK", sock)

	r := newRig(t)
	r.now = time.Now() // the agent's clock is the real one
	r.p.Agent = true
	if _, err := r.e.Refresh(context.Background(), r.p, Options{}); err != nil {
		t.Fatal(err)
	}
	keys, err := agent.NewClient(conn).List()
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, k := range keys {
		pub, err := ssh.ParsePublicKey(k.Blob)
		if err != nil {
			continue
		}
		if c, ok := pub.(*ssh.Certificate); ok && c.CertType == ssh.UserCert && k.Comment == "hpc-auth:t" {
			found = true
		}
	}
	if !found {
		t.Fatalf("certificate not in the agent: %v", keys)
	}
}
