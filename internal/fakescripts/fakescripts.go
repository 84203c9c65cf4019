// Package fakescripts installs fake HPC-centre key scripts for tests.
//
// The fakes behave like the centres' own interactive clients: they prompt
// only on a terminal (bash `read -p`, Python getpass on /dev/tty), check the
// username, password and TOTP code against fixtures, make a key pair with
// ssh-keygen, sign it with a test CA and write the key (0600) and the
// certificate where their arguments say. They need bash, python3 and
// ssh-keygen; no network.
//
// Every fake that reads a one-time code watches for a little while
// afterwards and exits 3 if anything more is typed: a prompt answered twice
// fails the run.
package fakescripts

import (
	"crypto/ed25519"
	"crypto/rand"
	"embed"
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
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

//go:embed scripts
var scripts embed.FS

// Options sets the fixtures. Zero values get defaults.
type Options struct {
	Username   string        // default "jdoe"
	Password   string        // default: random, with quotes, blanks, $ and \ in it
	TOTPSecret string        // base32; default: random 160 bits
	ExtraWait  time.Duration // how long a fake watches for extra input after the last answer; default 300ms
}

// Paths says where Install put things, and what the fixtures are.
type Paths struct {
	Dir string

	Username   string
	Password   string
	TOTPSecret string // base32, no padding

	PasswordFile string // 0600, the password without newline
	TOTPFile     string // 0600, the base32 secret
	CAKey        string // the test CA's private key, 0600
	CA           ssh.PublicKey

	// The fakes. Unless said otherwise they take KEY CERT arguments.
	CSCSBash   string // cscs-keygen.sh: "Username : ", "Password: ", "Enter OTP (6-digit code): ", then a one-key [y/n] question (answer n without Enter)
	CSCSPython string // cscs-keygen.py: input() "Username: ", getpass "Password: " and "Enter OTP (6-digit code):"
	NERSC      string // sshproxy.sh -u USER -o KEYFILE: "Enter the password+OTP for USER: "; writes KEYFILE-cert.pub
	OneTime    string // onetime.sh: "Username: ", "Password: ", "One-Time Password: "
	LBNL       string // lbnl.sh: "Username: ", "PIN: " (silent), "OTP: " (echoed); prints the password back
	Sleeper    string // sleeper.sh PIDFILE: never prompts; writes "SCRIPT CHILD STUBBORN" pids, children ignore SIGTERM
	Unexpected string // unexpected.sh: "Username: ", then a [yes/no] question
	EarlyExit  string // early-exit.sh: fails (status 4) before any prompt
	Reject     string // reject.sh: asks username, password and code, says "Authentication failed." and exits 1
}

// Install writes the fakes into dir (executable) with their fixtures. It
// fails the test if a tool they need (bash, python3, ssh-keygen) is missing.
func Install(t testing.TB, dir string, o Options) Paths {
	t.Helper()
	for _, tool := range []string{"bash", "python3", "ssh-keygen"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("fakescripts: %s is needed by the fake centre scripts: %v", tool, err)
		}
	}
	if strings.ContainsAny(dir, "'\n") {
		t.Fatalf("fakescripts: directory %q has a quote or newline", dir)
	}
	if o.Username == "" {
		o.Username = "jdoe"
	}
	if o.Password == "" {
		o.Password = `pw "q" $x \n ` + randomHex(t, 6)
	}
	if o.TOTPSecret == "" {
		b := make([]byte, 20)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		o.TOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	}
	if o.ExtraWait <= 0 {
		o.ExtraWait = 300 * time.Millisecond
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}

	err := fs.WalkDir(scripts, "scripts", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := scripts.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, d.Name()), data, 0o755)
	})
	if err != nil {
		t.Fatalf("fakescripts: %v", err)
	}

	p := Paths{
		Dir:          dir,
		Username:     o.Username,
		Password:     o.Password,
		TOTPSecret:   o.TOTPSecret,
		PasswordFile: filepath.Join(dir, "password"),
		TOTPFile:     filepath.Join(dir, "totp-secret"),
		CAKey:        filepath.Join(dir, "ca"),
		CSCSBash:     filepath.Join(dir, "cscs-keygen.sh"),
		CSCSPython:   filepath.Join(dir, "cscs-keygen.py"),
		NERSC:        filepath.Join(dir, "sshproxy.sh"),
		OneTime:      filepath.Join(dir, "onetime.sh"),
		LBNL:         filepath.Join(dir, "lbnl.sh"),
		Sleeper:      filepath.Join(dir, "sleeper.sh"),
		Unexpected:   filepath.Join(dir, "unexpected.sh"),
		EarlyExit:    filepath.Join(dir, "early-exit.sh"),
		Reject:       filepath.Join(dir, "reject.sh"),
	}
	write := func(path, data string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatalf("fakescripts: %v", err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatalf("fakescripts: %v", err)
		}
	}
	write(p.PasswordFile, o.Password, 0o600)
	write(p.TOTPFile, o.TOTPSecret, 0o600)

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "hpc-auth test CA")
	if err != nil {
		t.Fatal(err)
	}
	write(p.CAKey, string(pem.EncodeToMemory(block)), 0o600)
	if p.CA, err = ssh.NewPublicKey(pub); err != nil {
		t.Fatal(err)
	}
	write(p.CAKey+".pub", string(ssh.MarshalAuthorizedKey(p.CA)), 0o644)

	conf := fmt.Sprintf("# written by fakescripts.Install\nFAKE_USERNAME='%s'\nFAKE_PASSWORD_FILE='%s'\nFAKE_TOTP_FILE='%s'\nFAKE_CA_KEY='%s'\nFAKE_USED_FILE='%s'\nFAKE_EXTRA_WAIT='%.3f'\n",
		o.Username, p.PasswordFile, p.TOTPFile, p.CAKey, filepath.Join(dir, "used-codes"), o.ExtraWait.Seconds())
	if strings.Contains(o.Username, "'") {
		t.Fatalf("fakescripts: username %q has a quote", o.Username)
	}
	write(filepath.Join(dir, "fake.conf"), conf, 0o644)
	return p
}

func randomHex(t testing.TB, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// VerifyPair checks what a fake wrote: the key file is private (0600), the
// certificate is a user certificate for p.Username signed by the test CA,
// valid now, and certifies the key in keyPath.
func (p Paths) VerifyPair(keyPath, certPath string) error {
	fi, err := os.Stat(keyPath)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() != 0o600 {
		return fmt.Errorf("key %s has mode %v, want 0600", keyPath, fi.Mode().Perm())
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return err
	}
	signer, err := ssh.ParsePrivateKey(keyPEM)
	if err != nil {
		return fmt.Errorf("key %s: %v", keyPath, err)
	}
	certText, err := os.ReadFile(certPath)
	if err != nil {
		return err
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(certText)
	if err != nil {
		return fmt.Errorf("certificate %s: %v", certPath, err)
	}
	cert, ok := pk.(*ssh.Certificate)
	if !ok {
		return fmt.Errorf("%s holds a plain key, not a certificate", certPath)
	}
	if string(cert.SignatureKey.Marshal()) != string(p.CA.Marshal()) {
		return fmt.Errorf("certificate %s is signed by %s, not by the test CA", certPath, ssh.FingerprintSHA256(cert.SignatureKey))
	}
	// CheckCert verifies the signature, the validity period and the principal.
	var checker ssh.CertChecker
	if err := checker.CheckCert(p.Username, cert); err != nil {
		return fmt.Errorf("certificate %s: %v", certPath, err)
	}
	if cert.CertType != ssh.UserCert {
		return errors.New("not a user certificate")
	}
	if string(cert.Key.Marshal()) != string(signer.PublicKey().Marshal()) {
		return fmt.Errorf("certificate %s does not certify key %s", certPath, keyPath)
	}
	return nil
}
