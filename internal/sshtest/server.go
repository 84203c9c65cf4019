// Package sshtest runs a real OpenSSH server on loopback for tests, so that a test can
// prove that a certificate hpc-auth produced really logs in (with the real ssh and sftp
// clients), instead of only checking that it parses.
//
// The server trusts exactly one user CA (TrustedUserCAKeys) and nothing else: no
// authorized_keys, no passwords, no keyboard-interactive. A login therefore succeeds
// only with a valid certificate signed by that CA for the current user.
//
// A missing sshd is a test failure, never a skip: CI installs it via
// scripts/install-test-deps.sh.
package sshtest

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
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshdPath is where sshd must live: sshd refuses to re-exec unless started by
// absolute path. A variable so the "missing sshd" message can be tested.
var sshdPath = "/usr/sbin/sshd"

// privsepDir must exist before sshd starts, even in -D mode; /run is emptied at boot
// and apt never starts the service here, so nobody else creates it.
const privsepDir = "/run/sshd"

const (
	missingServer = "openssh-server is missing: run make test (scripts/install-test-deps.sh)"
	missingClient = "openssh-client is missing: run make test (scripts/install-test-deps.sh)"

	startDeadline = 10 * time.Second // until the port answers with our host key
	stopDeadline  = 5 * time.Second  // SIGTERM → wait; then SIGKILL
	bindAttempts  = 5                // a freshly picked free port can be taken by someone else
)

// Server is a running sshd on 127.0.0.1 that trusts CA for user certificates.
type Server struct {
	Addr            string     // "127.0.0.1:PORT"
	Port            int        // TCP port sshd listens on
	User            string     // login user: whoever runs the tests
	Dir             string     // private directory with config, host key, CA key and log
	CA              ssh.Signer // the trusted user CA
	CAPublicKeyFile string     // CA public key in authorized_keys format (TrustedUserCAKeys)

	hostKey ssh.PublicKey
	stop    func()
	logFile string
}

// Start runs sshd for the duration of the test and stops it in t.Cleanup.
// If ca is nil a fresh ed25519 CA is generated (available as Server.CA).
func Start(t testing.TB, ca ssh.Signer) *Server {
	t.Helper()
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("%s (%v)", missingServer, err)
	}
	if ca == nil {
		_, ca = newKey(t)
	}
	s, err := Launch(t.TempDir(), ssh.MarshalAuthorizedKey(ca.PublicKey()))
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	s.CA = ca
	t.Cleanup(s.Stop)
	return s
}

// Launch runs sshd in dir (private to the caller) trusting the CA whose
// authorized_keys line is caPub, until Stop. It needs no testing.TB, so that
// the demo runs the same server; Start is the tests' wrapper.
func Launch(dir string, caPub []byte) (*Server, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll(privsepDir, 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", privsepDir, err)
		}
	}
	s := &Server{
		User:            u.Username,
		Dir:             dir,
		CAPublicKeyFile: filepath.Join(dir, "ca.pub"),
		logFile:         filepath.Join(dir, "sshd.log"),
	}
	if err := os.WriteFile(s.CAPublicKeyFile, caPub, 0o644); err != nil {
		return nil, err
	}
	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	host, err := ssh.NewSignerFromKey(hostPriv)
	if err != nil {
		return nil, err
	}
	s.hostKey = host.PublicKey()
	// 0600: sshd refuses host keys that others can read.
	block, err := ssh.MarshalPrivateKey(hostPriv, "")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "host_ed25519"), pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}

	var lastErr error
	for range bindAttempts {
		port, err := pickPort()
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		stop, err := s.run(port)
		if err == nil {
			s.Port, s.Addr = port, net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			s.stop = stop
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, errBind) {
			break
		}
	}
	return nil, fmt.Errorf("start sshd: %v\nsshd log:\n%s", lastErr, s.Log())
}

// Stop stops sshd and its connection children.
func (s *Server) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// Principal is the name to put into certificates: the login user.
func (s *Server) Principal() string { return s.User }

// Log returns what sshd has logged so far (useful to assert why a login was refused,
// e.g. "Certificate invalid: expired").
func (s *Server) Log() string {
	b, _ := os.ReadFile(s.logFile)
	return string(b)
}

var errBind = errors.New("port already in use")

// run starts sshd on port and waits until it serves our host key. It returns a stop
// function, or errBind when the port was taken between picking and binding.
func (s *Server) run(port int) (stop func(), err error) {
	cfg := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfg, []byte(s.config(port)), 0o644); err != nil {
		return nil, err
	}

	// sshd logs with -e to stderr; it goes to a file, never to our own stdout/stderr.
	log, err := os.OpenFile(s.logFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(sshdPath, "-D", "-e", "-f", cfg)
	cmd.Dir = s.Dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"} // nothing of ours, no secrets
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	stop = func() {
		// The whole group: the listener and any connection children still around.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(stopDeadline):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(startDeadline)
	for {
		select {
		case <-exited:
			if bytes.Contains([]byte(s.Log()), []byte("Address already in use")) {
				return nil, fmt.Errorf("port %d: %w", port, errBind)
			}
			return nil, fmt.Errorf("sshd exited early: %v", waitErr)
		default:
		}
		err := s.probe(addr, exited)
		if err == nil {
			return stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("sshd did not serve %s within %v: %v", addr, startDeadline, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// errOurHostKey marks a successful probe: we saw our host key and stop there.
var errOurHostKey = errors.New("host key matched")

// probe does an SSH handshake up to host-key verification, which proves the port is
// served by *our* sshd and not by whoever grabbed the port in the meantime.
// It gives up as soon as sshd exits (a port stolen by a silent listener would
// otherwise hold the handshake until its deadline).
func (s *Server) probe(addr string, exited <-chan struct{}) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-exited:
		case <-done:
		}
		conn.Close()
	}()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	cfg := &ssh.ClientConfig{
		User: s.User,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if bytes.Equal(key.Marshal(), s.hostKey.Marshal()) {
				return errOurHostKey
			}
			return errors.New("unexpected host key: another server is on this port")
		},
		Timeout: 2 * time.Second,
	}
	_, _, _, err = ssh.NewClientConn(conn, addr, cfg)
	if errors.Is(err, errOurHostKey) {
		return nil
	}
	if err == nil {
		return errors.New("handshake unexpectedly succeeded without host key check")
	}
	return err
}

func (s *Server) config(port int) string {
	return config(port, filepath.Join(s.Dir, "host_ed25519"), filepath.Join(s.Dir, "sshd.pid"), s.CAPublicKeyFile)
}

// config is an sshd_config for 127.0.0.1:port that lets in exactly the
// user certificates signed by the CA in caFile (no authorized_keys, no
// passwords).
func config(port int, hostKey, pidFile, caFile string) string {
	return fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s
PidFile %s
TrustedUserCAKeys %s
AuthorizedKeysFile none
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PermitRootLogin prohibit-password
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
Subsystem sftp internal-sftp
`, port, hostKey, pidFile, caFile)
}

var pickPort = freePort // replaced in tests to force a bind conflict

// freePort asks the kernel for a free loopback port. It is free only at that moment,
// so Start retries when sshd then fails to bind it.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func newKey(t testing.TB) (ed25519.PrivateKey, ssh.Signer) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatalf("sshtest: generate ed25519 key: %v", err)
	}
	sig, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatalf("sshtest: signer: %v", err)
	}
	return priv, sig
}

// writePrivateKey writes an OpenSSH private key file; 0600 because sshd and ssh
// reject private keys readable by others.
func writePrivateKey(t testing.TB, path string, priv ed25519.PrivateKey) {
	t.Helper()
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatalf("sshtest: marshal private key: %v", err)
	}
	writeFile(t, path, pem.EncodeToMemory(block), 0o600)
}

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
}
