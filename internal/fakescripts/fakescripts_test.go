package fakescripts

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"
	"github.com/pquerna/otp/totp"
)

func TestInstallFixtures(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	for path, want := range map[string]os.FileMode{
		p.PasswordFile: 0o600, p.TOTPFile: 0o600, p.CAKey: 0o600,
		p.CSCSBash: 0o755, p.CSCSPython: 0o755, p.NERSC: 0o755, p.Sleeper: 0o755,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", filepath.Base(path), fi.Mode().Perm(), want)
		}
	}
	if got, _ := os.ReadFile(p.PasswordFile); string(got) != p.Password {
		t.Error("password file does not hold the password")
	}
}

func TestMkkeysSignsWithTestCA(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	key, cert := filepath.Join(p.Dir, "k"), filepath.Join(p.Dir, "k-cert.pub")
	out, err := exec.Command(filepath.Join(p.Dir, "fake-mkkeys.sh"), key, cert).CombinedOutput()
	if err != nil {
		t.Fatalf("fake-mkkeys.sh: %v\n%s", err, out)
	}
	if err := p.VerifyPair(key, cert); err != nil {
		t.Fatal(err)
	}
	other := Install(t, t.TempDir(), Options{})
	if err := other.VerifyPair(key, cert); err == nil {
		t.Fatal("VerifyPair accepted a certificate from another CA")
	}
}

// check runs the fake key service's check with the values on stdin.
func check(t *testing.T, p Paths, user, password, code string) int {
	t.Helper()
	cmd := exec.Command("python3", filepath.Join(p.Dir, "fakelib.py"), "check")
	cmd.Stdin = strings.NewReader(user + "\n" + password + "\n" + code + "\n")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func TestCheckAgreesWithPquernaTOTP(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	code, err := totp.GenerateCode(p.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if rc := check(t, p, p.Username, p.Password+"x", code); rc != 1 {
		t.Errorf("wrong password: status %d, want 1", rc)
	}
	if rc := check(t, p, "someone", p.Password, code); rc != 1 {
		t.Errorf("wrong user: status %d, want 1", rc)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if rc := check(t, p, p.Username, p.Password, wrong); rc != 1 {
		t.Errorf("wrong code: status %d, want 1", rc)
	}
	if rc := check(t, p, p.Username, p.Password, code); rc != 0 {
		t.Fatalf("right credentials: status %d, want 0", rc)
	}
	if rc := check(t, p, p.Username, p.Password, code); rc != 2 {
		t.Errorf("code used twice: status %d, want 2", rc)
	}
}

// Without a terminal the fakes refuse, as the real ones print no prompt.
func TestFakesNeedATerminal(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	key := filepath.Join(p.Dir, "key")
	for _, args := range [][]string{
		{p.CSCSBash, key, key + "-cert.pub"},
		{p.CSCSPython, key, key + "-cert.pub"},
		{p.NERSC, "-u", p.Username, "-o", key},
		{p.OneTime, key, key + "-cert.pub"},
		{p.LBNL, key, key + "-cert.pub"},
		{p.Unexpected},
		{p.Reject},
	} {
		var out bytes.Buffer
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 5 || !strings.Contains(out.String(), "not a terminal") {
			t.Errorf("%s without a terminal: %v, output %q; want status 5, \"not a terminal\"", filepath.Base(args[0]), err, out.String())
		}
	}
}

// drive runs a fake under a pty and types the answers, each after its
// prompt (an empty prompt: after a short pause), and returns the exit status.
func drive(t *testing.T, args []string, steps [][2]string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	c, err := expect.NewConsole(expect.WithStdout(&out), expect.WithDefaultTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Tty(), c.Tty(), c.Tty()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.Tty().Close()
	for _, s := range steps {
		if s[0] == "" {
			time.Sleep(100 * time.Millisecond) // a separate, later write
		} else if _, err := c.ExpectString(s[0]); err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("waiting for %q: %v; output %q", s[0], err, out.String())
		}
		if _, err := c.Send(s[1]); err != nil {
			t.Fatal(err)
		}
	}
	c.ExpectEOF()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func code(t *testing.T, p Paths) string {
	c, err := totp.GenerateCode(p.TOTPSecret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The fakes must catch a prompt answered twice, or the provider's tests
// would prove nothing.
func TestFakesCatchDoubleAnswers(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	key := filepath.Join(p.Dir, "key")
	cert := key + "-cert.pub"

	t.Run("code twice", func(t *testing.T) {
		c := code(t, p)
		rc, out := drive(t, []string{p.CSCSBash, key, cert}, [][2]string{
			{"Username : ", p.Username + "\r"},
			{"Password: ", p.Password + "\r"},
			{"Enter OTP (6-digit code): ", c + "\r" + c + "\r"},
		})
		if rc != 3 {
			t.Fatalf("status %d, want 3; output %q", rc, out)
		}
	})
	t.Run("enter after one-key answer", func(t *testing.T) {
		p := Install(t, t.TempDir(), Options{})
		rc, out := drive(t, []string{p.CSCSBash, key, cert}, [][2]string{
			{"Username : ", p.Username + "\r"},
			{"Password: ", p.Password + "\r"},
			{"Enter OTP (6-digit code): ", code(t, p) + "\r"},
			{"(Default y) ", "n\r"},
		})
		if rc != 3 {
			t.Fatalf("status %d, want 3; output %q", rc, out)
		}
	})
	t.Run("python code twice", func(t *testing.T) {
		p := Install(t, t.TempDir(), Options{})
		c := code(t, p)
		rc, out := drive(t, []string{p.CSCSPython, key, cert}, [][2]string{
			{"Username: ", p.Username + "\r"},
			{"Password: ", p.Password + "\r"},
			{"Enter OTP (6-digit code):", c + "\r"},
			{"", c + "\r"},
		})
		if rc != 3 {
			t.Fatalf("status %d, want 3; output %q", rc, out)
		}
	})
}

func TestCSCSBashByHand(t *testing.T) {
	p := Install(t, t.TempDir(), Options{})
	key := filepath.Join(p.Dir, "key")
	cert := key + "-cert.pub"
	rc, out := drive(t, []string{p.CSCSBash, key, cert}, [][2]string{
		{"Username : ", p.Username + "\r"},
		{"Password: ", p.Password + "\r"},
		{"Enter OTP (6-digit code): ", code(t, p) + "\r"},
		{"(Default y) ", "n"},
	})
	if rc != 0 {
		t.Fatalf("status %d; output %q", rc, out)
	}
	if err := p.VerifyPair(key, cert); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "\rSetting the environment : [") || !strings.Contains(out, "Completed.") {
		t.Errorf("no progress line in %q", out)
	}
}
