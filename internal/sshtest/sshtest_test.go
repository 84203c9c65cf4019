package sshtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// userKey is a fresh ed25519 user key written as an OpenSSH private key file (0600).
type userKey struct {
	path string
	pub  ssh.PublicKey
}

func newUserKey(t *testing.T, dir string) userKey {
	t.Helper()
	priv, sig := newKey(t)
	path := filepath.Join(dir, "id_ed25519")
	writePrivateKey(t, path, priv)
	return userKey{path: path, pub: sig.PublicKey()}
}

// certFile signs k with ca for principals, valid [after, before), and writes it
// next to the key; it returns the certificate path.
func (k userKey) certFile(t *testing.T, ca ssh.Signer, principals []string, after, before time.Time) string {
	t.Helper()
	c := &ssh.Certificate{
		Key:             k.pub,
		Serial:          1,
		CertType:        ssh.UserCert,
		KeyId:           "sshtest",
		ValidPrincipals: principals,
		ValidAfter:      uint64(after.Unix()),
		ValidBefore:     uint64(before.Unix()),
		Permissions: ssh.Permissions{Extensions: map[string]string{
			"permit-pty":              "",
			"permit-port-forwarding":  "",
			"permit-agent-forwarding": "",
			"permit-X11-forwarding":   "",
			"permit-user-rc":          "",
		}},
	}
	if err := c.SignCert(rand.Reader, ca); err != nil {
		t.Fatalf("sign cert: %v", err)
	}
	path := k.path + "-cert.pub"
	writeFile(t, path, ssh.MarshalAuthorizedKey(c), 0o644)
	return path
}

func TestLoginWithCertificate(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	now := time.Now()
	k := newUserKey(t, t.TempDir())
	cert := k.certFile(t, s.CA, []string{s.Principal()}, now.Add(-time.Minute), now.Add(5*time.Minute))

	out, err := s.SSH(t, k.path, cert, "id", "-un")
	if err != nil {
		t.Fatalf("ssh with a valid certificate: %v\n%s\nsshd log:\n%s", err, out, s.Log())
	}
	if got := strings.TrimSpace(out); got != s.User {
		t.Errorf("remote id -un = %q, want %q", got, s.User)
	}
	if out, err := s.SSH(t, k.path, cert); err != nil || out != "" {
		t.Errorf("ssh default command: out=%q err=%v", out, err)
	}
	if !strings.Contains(s.Log(), "ID sshtest (serial 1)") {
		t.Errorf("sshd did not log the certificate login:\n%s", s.Log())
	}
	if err := s.SFTP(t, k.path, cert); err != nil {
		t.Fatalf("sftp with a valid certificate: %v\nsshd log:\n%s", err, s.Log())
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	s := Start(t, nil)
	now := time.Now()
	_, otherCA := newKey(t)
	day := 24 * time.Hour

	tests := []struct {
		name      string
		cert      func(k userKey) string
		serverLog string // why sshd refused
	}{
		{"expired", func(k userKey) string {
			return k.certFile(t, s.CA, []string{s.Principal()}, now.Add(-2*day), now.Add(-day))
		}, "Certificate invalid: expired"},
		{"not yet valid", func(k userKey) string {
			return k.certFile(t, s.CA, []string{s.Principal()}, now.Add(day), now.Add(2*day))
		}, "Certificate invalid: not yet valid"},
		{"other CA", func(k userKey) string {
			return k.certFile(t, otherCA, []string{s.Principal()}, now.Add(-time.Minute), now.Add(5*time.Minute))
		}, ""}, // sshd logs an untrusted CA only at DEBUG2
		{"wrong principal", func(k userKey) string {
			return k.certFile(t, s.CA, []string{"not-" + s.Principal()}, now.Add(-time.Minute), now.Add(5*time.Minute))
		}, "name is not a listed principal"},
		{"plain key, no certificate", func(k userKey) string { return os.DevNull }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newUserKey(t, t.TempDir())
			cert := tt.cert(k)
			out, err := s.SSH(t, k.path, cert)
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 255 {
				t.Fatalf("ssh err = %v, want exit status 255 (refused)\n%s", err, out)
			}
			if !strings.Contains(out, "Permission denied (publickey)") {
				t.Errorf("ssh output = %q, want Permission denied (publickey)", out)
			}
			if tt.serverLog != "" && !strings.Contains(s.Log(), tt.serverLog) {
				t.Errorf("sshd log lacks %q:\n%s", tt.serverLog, s.Log())
			}
			if err := s.SFTP(t, k.path, cert); err == nil {
				t.Errorf("sftp succeeded, want refusal")
			}
		})
	}
	if strings.Contains(s.Log(), "Accepted") {
		t.Errorf("sshd accepted a login it should have refused:\n%s", s.Log())
	}
}

func TestStartWithGivenCA(t *testing.T) {
	t.Parallel()
	_, ca := newKey(t)
	s := Start(t, ca)
	if s.CA != ca {
		t.Errorf("Server.CA is not the CA passed to Start")
	}
	b, err := os.ReadFile(s.CAPublicKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil || !bytes.Equal(pub.Marshal(), ca.PublicKey().Marshal()) {
		t.Errorf("CAPublicKeyFile holds %q (err %v), want the CA public key", b, err)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	if s.Principal() != u.Username || s.User != u.Username {
		t.Errorf("Principal() = %q, User = %q, want %q", s.Principal(), s.User, u.Username)
	}
	if want := fmt.Sprintf("127.0.0.1:%d", s.Port); s.Addr != want || s.Port == 0 {
		t.Errorf("Addr = %q, Port = %d", s.Addr, s.Port)
	}
	st, err := os.Stat(filepath.Join(s.Dir, "host_ed25519"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("host key mode = %v (err %v), want 0600", st.Mode().Perm(), err)
	}

	// Two servers at once get different ports and do not trust each other's CA.
	s2 := Start(t, nil)
	if s2.Port == s.Port {
		t.Fatalf("two servers on port %d", s.Port)
	}
	now := time.Now()
	k := newUserKey(t, t.TempDir())
	cert := k.certFile(t, s.CA, []string{s.Principal()}, now.Add(-time.Minute), now.Add(5*time.Minute))
	if out, err := s.SSH(t, k.path, cert); err != nil {
		t.Fatalf("login to the server trusting the CA: %v\n%s", err, out)
	}
	if _, err := s2.SSH(t, k.path, cert); err == nil {
		t.Fatalf("login to a server with another CA succeeded")
	}
}

// fatalRecorder captures Fatalf and ends the goroutine the way testing.T does.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A missing sshd must fail the test with an actionable message, never skip.
// Not parallel: it swaps sshdPath, and parallel tests only start after it returns.
func TestMissingSSHDFails(t *testing.T) {
	old := sshdPath
	sshdPath = filepath.Join(t.TempDir(), "no-such-sshd")
	defer func() { sshdPath = old }()

	rec := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Start(rec, nil)
	}()
	<-done
	if !strings.Contains(rec.msg, "openssh-server is missing: run make test (scripts/install-test-deps.sh)") {
		t.Errorf("Fatalf message = %q", rec.msg)
	}
}

// A port taken between picking and binding makes sshd fail to bind; Start retries.
// Not parallel: it swaps pickPort.
func TestStartRetriesTakenPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().(*net.TCPAddr).Port

	old := pickPort
	defer func() { pickPort = old }()
	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return taken, nil
		}
		return old()
	}
	s := Start(t, nil)
	if calls != 2 || s.Port == taken {
		t.Fatalf("calls = %d, port = %d (taken %d), want a retry on a new port", calls, s.Port, taken)
	}
}
