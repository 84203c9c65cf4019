package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/internal/sshtest"
)

// The login step runs a real OpenSSH sshd on 127.0.0.1 that trusts only the
// fake centre's user CA, the way internal/sshtest does for the tests (which
// needs a testing.TB, so it is not reused here).

const (
	sshdPath      = "/usr/sbin/sshd" // sshd insists on being started by absolute path
	privsepDir    = "/run/sshd"      // must exist when sshd runs as root
	sshdStart     = 10 * time.Second
	sshdStop      = 5 * time.Second
	bindAttempts  = 5
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
	port, stop, err := d.startSSHD(c.srv.CAPublicKey())
	if err != nil {
		d.note("skipped: could not run sshd here (%v)", err)
		return nil
	}
	defer stop()
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

// startSSHD runs sshd on a free loopback port and waits until that port
// serves our host key. It retries a few ports: a port picked free may be
// taken before sshd binds it.
func (d *demo) startSSHD(caPub []byte) (port int, stop func(), err error) {
	dir := filepath.Join(d.dir, "sshd")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, nil, err
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll(privsepDir, 0o755); err != nil {
			return 0, nil, err
		}
	}
	caFile := filepath.Join(dir, "user-ca.pub")
	if err := os.WriteFile(caFile, caPub, 0o644); err != nil {
		return 0, nil, err
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return 0, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		return 0, nil, err
	}
	hostKeyFile := filepath.Join(dir, "host_ed25519")
	if err := os.WriteFile(hostKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		return 0, nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return 0, nil, err
	}
	for range bindAttempts {
		port, err = sshtest.FreePort()
		if err != nil {
			return 0, nil, err
		}
		cfg := sshtest.Config(port, hostKeyFile, filepath.Join(dir, "sshd.pid"), caFile)
		cfgFile := filepath.Join(dir, "sshd_config")
		if err = os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
			return 0, nil, err
		}
		stop, err = runSSHD(dir, cfgFile, port, signer.PublicKey())
		if err == nil || !errors.Is(err, errBind) {
			return port, stop, err
		}
	}
	return 0, nil, err
}

var errBind = errors.New("port already in use")

func runSSHD(dir, cfgFile string, port int, hostKey ssh.PublicKey) (stop func(), err error) {
	logFile := filepath.Join(dir, "sshd.log")
	log, err := os.OpenFile(logFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfgFile)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Stdout, cmd.Stderr = log, log // never our own stdout/stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(sshdStop):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	lastLogLine := func() string {
		b, _ := os.ReadFile(logFile)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		return lines[len(lines)-1]
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(sshdStart)
	for {
		select {
		case <-exited:
			if b, _ := os.ReadFile(logFile); bytes.Contains(b, []byte("Address already in use")) {
				return nil, errBind
			}
			return nil, fmt.Errorf("sshd exited: %v: %s", waitErr, lastLogLine())
		default:
		}
		if probe(addr, hostKey) == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("sshd did not answer on %s within %v: %s", addr, sshdStart, lastLogLine())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errOurHostKey = errors.New("host key matched")

// probe does an SSH handshake up to host-key verification, which proves that
// our sshd, not someone else, serves the port.
func probe(addr string, hostKey ssh.PublicKey) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	cfg := &ssh.ClientConfig{
		User: "probe",
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), hostKey.Marshal()) {
				return errOurHostKey
			}
			return errors.New("another server is on this port")
		},
		Timeout: 2 * time.Second,
	}
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if errors.Is(err, errOurHostKey) {
		return nil
	}
	if err == nil {
		return errors.New("handshake succeeded without a host key check")
	}
	return err
}
