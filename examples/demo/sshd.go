package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hpc-auth/hpc-auth/internal/sshtest"
)

// The login step runs a real OpenSSH sshd on 127.0.0.1 that trusts only the
// fake centre's user CA: the tests' server (internal/sshtest).

const (
	sshdPath      = "/usr/sbin/sshd" // sshd insists on being started by absolute path
	loginRemoteCm = "echo logged in as $(id -un) with the certificate"
)

// login starts sshd and logs in with ssh using c's renewed key and
// certificate. A missing sshd, or one we cannot run, skips the step with a
// note; a refused login fails the demo.
func (d *demo) login(c *centre) error {
	if _, err := os.Stat(sshdPath); err != nil {
		d.note("skipped: %s is not installed (apt-get install openssh-server openssh-client)", sshdPath)
		return nil
	}
	if _, err := exec.LookPath("ssh"); err != nil {
		d.note("skipped: no ssh client on PATH (apt-get install openssh-client)")
		return nil
	}
	dir := filepath.Join(d.dir, "sshd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	srv, err := sshtest.Launch(dir, c.srv.CAPublicKey())
	if err != nil {
		d.note("skipped: could not run sshd here (%v)", err)
		return nil
	}
	defer srv.Stop()
	port := srv.Port
	d.note("a real sshd on 127.0.0.1:%d that trusts only the fake CSCS CA (TrustedUserCAKeys,", port)
	d.note("AuthorizedKeysFile none); ssh also gets options that keep it away from your own")
	d.note("~/.ssh/config, keys, agent and known_hosts: -F /dev/null -o IdentitiesOnly=yes ...")
	cert := c.key + "-cert.pub"
	args := []string{
		"-F", "/dev/null",
		"-o", "BatchMode=yes",
		"-o", "IdentitiesOnly=yes",
		"-o", "IdentityAgent=none",
		"-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR",
		"-o", "ConnectTimeout=10",
		"-p", strconv.Itoa(port),
		"-i", c.key,
		"-o", "CertificateFile=" + cert,
		d.user + "@127.0.0.1", loginRemoteCm,
	}
	display := fmt.Sprintf("ssh -p %d -i %s -o CertificateFile=%s %s@127.0.0.1 '%s'", port, c.key, cert, d.user, loginRemoteCm)
	r, err := d.exec(display, 0, nil, "ssh", args...)
	if err != nil {
		return err
	}
	if !strings.Contains(r.stdout, "logged in as "+d.user) {
		return fmt.Errorf("ssh: the remote command did not run")
	}
	return nil
}
