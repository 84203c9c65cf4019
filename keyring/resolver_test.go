package keyring

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func mustRef(t *testing.T, s, kind string) Ref {
	t.Helper()
	r, err := ParseRef(s, "daint", kind)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestResolverKeyring(t *testing.T) {
	ctx := context.Background()
	var logbuf bytes.Buffer
	r := &Resolver{Store: Memory(), Log: slog.New(slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	def := mustRef(t, "keyring", "totp")
	item := mustRef(t, "keyring:hpc-auth/daint/totp", "totp") // the same item, spelled out

	_, err := r.Get(ctx, def)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "service=hpc-auth account=daint/totp") {
		t.Fatalf("Get before Set: %v", err)
	}
	if err := r.Set(ctx, def, "s3cret-value\n"); err != nil {
		t.Fatal(err)
	}
	if v, err := r.Get(ctx, item); err != nil || v != "s3cret-value" {
		t.Fatalf("Get = %q, %v (trailing newline should go)", v, err)
	}
	if err := r.Set(ctx, def, " \n"); !errors.Is(err, ErrEmpty) {
		t.Errorf("Set(blank) = %v, want ErrEmpty", err)
	}
	if err := r.Delete(ctx, item); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, def); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete = %v, want ErrNotFound", err)
	}
	if strings.Contains(logbuf.String(), "s3cret") {
		t.Error("log shows the secret")
	}
	if !strings.Contains(logbuf.String(), "daint/totp") {
		t.Errorf("log does not name the item: %q", logbuf.String())
	}

	st := Memory()
	st.Set(ctx, "hpc-auth", "daint/password", "\r\n")
	if _, err := (&Resolver{Store: st}).Get(ctx, mustRef(t, "keyring", "password")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty item: %v", err)
	}
	if _, err := r.Get(ctx, Ref{}); !errors.Is(err, ErrBadRef) {
		t.Errorf("zero Ref: %v", err)
	}
}

func TestResolverReadOnly(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{Store: Memory()}
	for _, tc := range []struct{ ref, where string }{
		{"env:HPC_TOTP_SECRET", "environment variable HPC_TOTP_SECRET"},
		{"file:/etc/hpc/totp", "file /etc/hpc/totp"},
		{"cmd:pass show hpc/totp", "command pass"},
	} {
		ref := mustRef(t, tc.ref, "totp")
		for op, err := range map[string]error{
			"Set":    r.Set(ctx, ref, "value"),
			"Delete": r.Delete(ctx, ref),
		} {
			if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), tc.where) {
				t.Errorf("%s(%s) = %v, want ErrReadOnly naming %q", op, tc.ref, err, tc.where)
			}
			if strings.Contains(fmt.Sprint(err), "value") {
				t.Errorf("%s(%s) shows the value", op, tc.ref)
			}
		}
	}
}

func TestResolverEnv(t *testing.T) {
	ctx := context.Background()
	env := map[string]string{"HPC_PASSWORD": "pa ss ", "EMPTY": "  "}
	r := &Resolver{Env: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	if v, err := r.Get(ctx, mustRef(t, "env:HPC_PASSWORD", "password")); err != nil || v != "pa ss " {
		t.Errorf("Get = %q, %v", v, err)
	}
	if _, err := r.Get(ctx, mustRef(t, "env:EMPTY", "password")); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty variable: %v", err)
	}
	_, err := r.Get(ctx, mustRef(t, "env:UNSET", "password"))
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "env:UNSET") {
		t.Errorf("unset variable: %v", err)
	}
	// The default is the process environment.
	t.Setenv("HPC_AUTH_TEST_SECRET", "from-env")
	if v, err := (&Resolver{}).Get(ctx, mustRef(t, "env:HPC_AUTH_TEST_SECRET", "password")); err != nil || v != "from-env" {
		t.Errorf("os env: %q, %v", v, err)
	}
}

func TestResolverFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := &Resolver{}
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	get := func(p string) (string, error) { return r.Get(ctx, mustRef(t, "file:"+p, "password")) }

	ok := write("ok", "  s3cret-file\n\n", 0o600)
	if v, err := get(ok); err != nil || v != "s3cret-file" {
		t.Errorf("0600: %q, %v", v, err)
	}
	if v, err := get(write("ro", "s3cret-file", 0o400)); err != nil || v != "s3cret-file" {
		t.Errorf("0400: %q, %v", v, err)
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602, 0o620} {
		p := write("m"+strconv.FormatUint(uint64(mode), 8), "s3cret-file", mode)
		_, err := get(p)
		if !errors.Is(err, ErrInsecureFile) {
			t.Errorf("%04o: %v, want ErrInsecureFile", mode, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, fmt.Sprintf("%04o", mode)) || !strings.Contains(msg, "chmod 600 "+p) || !strings.Contains(msg, "group or others") {
			t.Errorf("%04o: message does not say why and how to fix: %q", mode, msg)
		}
		if strings.Contains(msg, "s3cret") {
			t.Errorf("message shows the content")
		}
	}
	// Symlinks are judged by their target.
	link := filepath.Join(dir, "link")
	os.Symlink(ok, link)
	if v, err := get(link); err != nil || v != "s3cret-file" {
		t.Errorf("symlink to 0600: %q, %v", v, err)
	}
	link2 := filepath.Join(dir, "link2")
	os.Symlink(filepath.Join(dir, "m644"), link2)
	if _, err := get(link2); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("symlink to 0644: %v", err)
	}

	if _, err := get(filepath.Join(dir, "missing")); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := get(write("empty", " \n", 0o600)); !errors.Is(err, ErrEmpty) {
		t.Errorf("empty: %v", err)
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	if _, err := get(sub); !errors.Is(err, ErrBadRef) {
		t.Errorf("directory: %v", err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := get(fifo); !errors.Is(err, ErrBadRef) { // and it did not hang
		t.Errorf("fifo: %v", err)
	}
	if _, err := get(write("big", strings.Repeat("x", maxSecretSize+1), 0o600)); !errors.Is(err, ErrBadRef) {
		t.Errorf("big: %v", err)
	}
	if os.Getuid() != 0 {
		if _, err := get(write("unreadable", "x", 0o000)); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("unreadable: %v", err)
		}
	}
}

func cmdRef(argv ...string) Ref { return Ref{Kind: Cmd, Argv: argv} }

func TestResolverCmd(t *testing.T) {
	ctx := context.Background()
	r := &Resolver{CmdTimeout: 10 * time.Second}

	if v, err := r.Get(ctx, mustRef(t, `cmd:printf '  s3cret-cmd\n\n'`, "totp")); err != nil || v != "s3cret-cmd" {
		t.Errorf("Get = %q, %v", v, err)
	}
	// Standard error is dropped, even on success.
	if v, err := r.Get(ctx, cmdRef("sh", "-c", "echo noise-on-stderr >&2; echo value")); err != nil || v != "value" {
		t.Errorf("Get = %q, %v", v, err)
	}
	// Standard input is the null device: reading it gives EOF at once.
	if v, err := r.Get(ctx, cmdRef("sh", "-c", `if read x; then echo got-input; else echo eof; fi; readlink /proc/$$/fd/0`)); err != nil || v != "eof\n/dev/null" {
		t.Errorf("stdin: %q, %v", v, err)
	}

	_, err := r.Get(ctx, cmdRef("sh", "-c", "echo LEAKED-on-stderr >&2; echo LEAKED-on-stdout; exit 3"))
	if !errors.Is(err, ErrCommand) || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "cmd:sh") {
		t.Errorf("failing command: %v", err)
	}
	if strings.Contains(fmt.Sprint(err), "LEAKED") {
		t.Errorf("error shows the command's output: %v", err)
	}
	if _, err := r.Get(ctx, cmdRef("hpc-auth-no-such-command")); !errors.Is(err, ErrCommand) {
		t.Errorf("missing command: %v", err)
	}
	if _, err := r.Get(ctx, cmdRef("true")); !errors.Is(err, ErrEmpty) {
		t.Errorf("no output: %v", err)
	}
	if _, err := r.Get(ctx, cmdRef("head", "-c", "100000", "/dev/zero")); !errors.Is(err, ErrCommand) {
		t.Errorf("huge output: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := r.Get(cctx, cmdRef("echo", "x")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// The child's environment is ours, unchanged: nothing added, nothing removed.
func TestResolverCmdEnvironment(t *testing.T) {
	t.Setenv("HPC_AUTH_TEST_MARKER", "visible")
	v, err := (&Resolver{}).Get(context.Background(), cmdRef("env", "-0"))
	if err != nil {
		t.Fatal(err)
	}
	// The output is trimmed, which may touch the outer ends of the first and
	// last entries: compare trimmed entries.
	norm := func(env []string) []string {
		out := make([]string, len(env))
		for i, kv := range env {
			out[i] = strings.TrimSpace(kv)
		}
		slices.Sort(out)
		return out
	}
	got := norm(strings.Split(strings.TrimRight(v, "\x00"), "\x00"))
	want := norm(os.Environ())
	if !slices.Equal(got, want) {
		t.Errorf("the command's environment differs from ours:\n got %d entries\nwant %d entries", len(got), len(want))
	}
}

func TestResolverCmdTimeoutKillsGroup(t *testing.T) {
	dir := t.TempDir()
	pids := filepath.Join(dir, "pids")
	r := &Resolver{CmdTimeout: 300 * time.Millisecond}
	start := time.Now()
	// sh and a grandchild sleep: both must die.
	_, err := r.Get(context.Background(), cmdRef("sh", "-c", `echo $$ > `+pids+`; sleep 10 & echo $! >> `+pids+`; wait`))
	took := time.Since(start)
	if !errors.Is(err, ErrCommand) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrCommand and DeadlineExceeded", err)
	}
	if took > 8*time.Second {
		t.Fatalf("Get returned after %v: the command was not killed", took)
	}
	b, _ := os.ReadFile(pids)
	f := strings.Fields(string(b))
	if len(f) != 2 {
		t.Fatalf("pids file: %q", b)
	}
	for _, s := range f {
		pid, _ := strconv.Atoi(s)
		waitGone(t, pid)
	}

	// A plain `sleep 10` (reaped by Wait once killed).
	start = time.Now()
	_, err = r.Get(context.Background(), cmdRef("sleep", "10"))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 8*time.Second {
		t.Fatalf("sleep 10: %v after %v", err, time.Since(start))
	}
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Errorf("pid %d still runs", pid)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// running: exists and is not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	j := strings.LastIndexByte(s, ')')
	return j > 0 && j+2 < len(s) && s[j+2] != 'Z' && s[j+2] != 'X'
}

// A cmd: secret's standard error must not reach our standard output or
// error, whatever happens: checked in a child process whose own output is
// captured.
func TestResolverCmdStderrNotInherited(t *testing.T) {
	if os.Getenv("HPC_AUTH_TEST_STDERR_CHILD") == "1" {
		r := &Resolver{}
		v, err := r.Get(context.Background(), cmdRef("sh", "-c", "echo LEAK-ONE >&2; echo ok"))
		fmt.Println("child-result", v, err)
		_, err = r.Get(context.Background(), cmdRef("sh", "-c", "echo LEAK-TWO >&2; exit 1"))
		fmt.Println("child-error", err)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestResolverCmdStderrNotInherited$", "-test.count=1")
	cmd.Env = append(os.Environ(), "HPC_AUTH_TEST_STDERR_CHILD=1", noRaceExitSleep())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "child-result ok <nil>") || !strings.Contains(string(out), "child-error") {
		t.Fatalf("child did not run the commands:\n%s", out)
	}
	if strings.Contains(string(out), "LEAK") {
		t.Errorf("a command's stderr reached our output:\n%s", out)
	}
}
