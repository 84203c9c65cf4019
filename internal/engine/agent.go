package engine

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/hpc-auth/hpc-auth/internal/config"
)

// addToAgent loads the new key and certificate into ssh-agent, with a
// lifetime equal to the validity left, so the agent drops the identity when
// the certificate expires instead of piling up dead identities until ssh
// exceeds MaxAuthTries.
func addToAgent(p *config.Profile, c *ssh.Certificate, now time.Time) error {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if sock == "" {
		return errors.New("SSH_AUTH_SOCK is not set (no agent)")
	}
	pem, err := os.ReadFile(p.Key)
	if err != nil {
		return err
	}
	priv, err := ssh.ParseRawPrivateKey(pem)
	if err != nil {
		return fmt.Errorf("reading %s: %w", p.Key, err)
	}
	var life uint32
	if c.ValidBefore != ssh.CertTimeInfinity {
		left := int64(c.ValidBefore) - now.Unix()
		if left <= 0 {
			return errors.New("certificate already expired")
		}
		if left > int64(^uint32(0)) {
			left = int64(^uint32(0))
		}
		life = uint32(left)
	}
	conn, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	ag := agent.NewClient(conn)
	key := agent.AddedKey{PrivateKey: priv, Certificate: c, Comment: "hpc-auth:" + p.Name, LifetimeSecs: life}
	if err := ag.Add(key); err != nil {
		// Some agents refuse constrained keys with a bare failure; an
		// identity without a lifetime is still better than none.
		key.LifetimeSecs = 0
		if err2 := ag.Add(key); err2 != nil {
			return err
		}
	}
	return nil
}
