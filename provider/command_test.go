package provider

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	expect "github.com/Netflix/go-expect"

	"github.com/hpc-auth/hpc-auth/internal/fakescripts"
)

func commandRenew(t *testing.T, cfg CommandConfig, req *Request, timeout time.Duration) (*Result, error) {
	t.Helper()
	p, err := NewCommand(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if req.Log == nil {
		req.Log = procLogger(nil)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return p.Renew(ctx, req)
}

func TestCommandInstalls(t *testing.T) {
	dir := t.TempDir()
	req := &Request{Username: "jdoe", Key: filepath.Join(dir, "k"), Certificate: filepath.Join(dir, "k-cert.pub")}
	res, err := commandRenew(t, CommandConfig{Command: []string{"sh", "-c",
		`[ "$1" = jdoe ] && echo key > "$2" && echo cert > "$3" && echo "installed for {username}"`, "sh",
		"{username}", "{key}", "{certificate}"}}, req, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Installed {
		t.Error("Installed is false")
	}
	for _, f := range []string{req.Key, req.Certificate} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
}

func TestCommandExitStatus(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{77, ErrRejected}, {65, ErrBadAnswer}, {78, ErrConfig},
		{69, ErrUnavailable}, {75, ErrUnavailable}, {1, ErrUnavailable}, {2, ErrUnavailable},
	} {
		_, err := commandRenew(t, CommandConfig{Command: []string{"sh", "-c",
			`echo "working..."; echo "the last words" >&2; echo; exit $1`, "sh", strconv.Itoa(tc.status)}},
			&Request{}, 10*time.Second)
		if !errors.Is(err, tc.want) {
			t.Errorf("exit %d: %v, want %v", tc.status, err, tc.want)
			continue
		}
		var se *ServiceError
		if !errors.As(err, &se) || se.Status != tc.status || se.Message != "the last words" || se.Service != "sh" {
			t.Errorf("exit %d: %#v, want status %d and the last line", tc.status, se, tc.status)
		}
	}
}

func TestCommandNotFound(t *testing.T) {
	_, err := commandRenew(t, CommandConfig{Command: []string{filepath.Join(t.TempDir(), "nope")}}, &Request{}, 10*time.Second)
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("%v, want ErrConfig", err)
	}
	if _, err := NewCommand(CommandConfig{}); !errors.Is(err, ErrConfig) {
		t.Fatalf("empty command: %v, want ErrConfig", err)
	}
}

// At the deadline the whole group goes, including a grandchild and a child
// that ignores SIGTERM.
func TestCommandTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pids")
	_, err := commandRenew(t, CommandConfig{Command: []string{"sh", "-c", `
		sleep 100 &
		a=$!
		sh -c 'trap "" TERM HUP; while :; do sleep 0.2; done' &
		b=$!
		echo "$$ $a $b" > "$1.tmp" && mv "$1.tmp" "$1"
		echo "waiting for the browser"
		sleep 100`, "sh", pidFile}}, &Request{}, time.Second)
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "timed out after") ||
		!strings.Contains(err.Error(), "waiting for the browser") {
		t.Fatalf("%v, want ErrUnavailable: timed out after ...; last output", err)
	}
	procAssertGone(t, pidFile)
}

func TestCommandNeedsTerminal(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	_, err := commandRenew(t, CommandConfig{Command: []string{"touch", marker}, NeedsTerminal: true},
		&Request{Terminal: false}, 10*time.Second)
	if !errors.Is(err, ErrNeedsTerminal) {
		t.Fatalf("%v, want ErrNeedsTerminal", err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran")
	}
}

// From a process without a terminal (as under AiiDA): a needs_terminal
// command fails fast, even when the request claims a terminal, and a
// headless command's output, including a straggler's, never reaches our
// stdout or stderr.
func TestCommandWithoutTerminal(t *testing.T) {
	dir := t.TempDir()
	p := fakescripts.Install(t, filepath.Join(dir, "centre"), fakescripts.Options{})
	marker := filepath.Join(dir, "ran")
	for _, claim := range []bool{false, true} {
		res, _ := procRunHelper(t, procJob{
			Kind:         "command",
			Command:      CommandConfig{Command: []string{"touch", marker}, NeedsTerminal: true},
			Terminal:     claim,
			PasswordFile: p.PasswordFile, TOTPFile: p.TOTPFile,
		})
		if res.OpenedTTY {
			t.Fatal("the helper process has a terminal; the test proves nothing")
		}
		if !res.Is["needsterminal"] {
			t.Errorf("Terminal=%v: %q, want ErrNeedsTerminal", claim, res.Err)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran")
	}

	res, out := procRunHelper(t, procJob{
		Kind: "command",
		Command: CommandConfig{Command: []string{"sh", "-c", `
			echo OUT-MARKER; echo ERR-MARKER >&2
			(sleep 0.5; echo LATE-MARKER; echo LATE-MARKER >&2) &
			exit 0`}},
		PasswordFile: p.PasswordFile, TOTPFile: p.TOTPFile,
	})
	if res.Err != "" || !res.Installed {
		t.Fatalf("Renew: %q", res.Err)
	}
	if strings.Contains(out, "MARKER") {
		t.Fatalf("the command's output reached ours:\n%s", out)
	}
}

// With a terminal, the command gets it, in the foreground: it can read what
// the user types. Afterwards the terminal is ours again.
func TestCommandGetsTheTerminal(t *testing.T) {
	dir := t.TempDir()
	p := fakescripts.Install(t, filepath.Join(dir, "centre"), fakescripts.Options{})
	typed := filepath.Join(dir, "typed")
	job := procJob{
		Kind: "command",
		Command: CommandConfig{NeedsTerminal: true, Command: []string{"sh", "-c",
			`printf 'Enter the device code: '; IFS= read -r line; printf '%s' "$line" > "$1"; echo ok`, "sh", typed}},
		Terminal:     true,
		PasswordFile: p.PasswordFile, TOTPFile: p.TOTPFile,
		Timeout: 20 * time.Second,
	}
	cmd, _ := procHelperCmd(t, &job)
	c, err := expect.NewConsole(expect.WithDefaultTimeout(20 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Tty(), c.Tty(), c.Tty()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c.Tty().Close()
	if _, err := c.ExpectString("Enter the device code: "); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatal(err)
	}
	c.Send("ABCD-1234\r")
	c.ExpectEOF()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	res := procReadResult(t, job)
	if res.Err != "" || !res.Installed {
		t.Fatalf("Renew: %q", res.Err)
	}
	if got, _ := os.ReadFile(typed); string(got) != "ABCD-1234" {
		t.Errorf("the command read %q", got)
	}
	if !res.Fore {
		t.Error("the terminal was not given back")
	}
}

func TestExpand(t *testing.T) {
	req := &Request{Username: "jdoe", Key: "/h/.ssh/k", Certificate: "/h/.ssh/k-cert.pub"}
	for in, want := range map[string]string{
		"{username}@{key}:{certificate}": "jdoe@/h/.ssh/k:/h/.ssh/k-cert.pub",
		"--user={username}":              "--user=jdoe",
		"{password} {otp} {}":            "{password} {otp} {}",
		"plain":                          "plain",
	} {
		if got := Expand(in, req); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}
