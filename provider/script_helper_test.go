package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// The script and command providers must work from a process that has no
// terminal at all, as under AiiDA (no tty, stdin /dev/null). The tests run
// the provider in a re-executed test binary, in a session of its own (so
// without a controlling terminal) and with stdin /dev/null. The job and its
// outcome travel in files; the fake secrets are read from the fixtures'
// 0600 files, never passed in the environment or argv.

const procHelperEnv = "HPC_AUTH_PROVIDER_HELPER_JOB"

type procJob struct {
	Kind    string // "script" or "command"
	Script  ScriptConfig
	Command CommandConfig

	Profile, Username, Key, Certificate string
	Terminal                            bool

	PasswordFile  string // the password, read by the helper's Secrets
	TOTPFile      string // the TOTP secret
	WrongPassword bool   // hand out the password with an extra character

	Timeout time.Duration
	Result  string // where the helper writes a procJobResult
}

type procJobResult struct {
	Err     string
	Is      map[string]bool
	Status  int    // ServiceError.Status
	Message string // ServiceError.Message

	Installed bool
	OpenedTTY bool          // the helper could open /dev/tty: it must not
	Codes     []string      // one-time codes handed out
	Passwords int           // times the password was asked for
	Elapsed   time.Duration // how long Renew took
	Fore      bool          // after Renew, our group is the terminal's foreground group
}

// procTestSecrets hands out the fixtures' password and fresh TOTP codes.
type procTestSecrets struct {
	password string
	secret   string
	res      *procJobResult
	last     int64
}

func (s *procTestSecrets) Password(ctx context.Context) (string, error) {
	s.res.Passwords++
	return s.password, nil
}

func (s *procTestSecrets) OTP(ctx context.Context) (string, error) {
	for {
		now := time.Now()
		if step := now.Unix() / 30; step != s.last {
			s.last = step
			c, err := totp.GenerateCode(s.secret, now)
			if err == nil {
				s.res.Codes = append(s.res.Codes, c)
			}
			return c, err
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Until(time.Unix((now.Unix()/30+1)*30, 0))):
		}
	}
}

// TestProcHelperProcess is not a test: it is the helper process's body.
func TestProcHelperProcess(t *testing.T) {
	path := os.Getenv(procHelperEnv)
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var job procJob
	if err := json.Unmarshal(data, &job); err != nil {
		t.Fatal(err)
	}
	res := procJobResult{Is: map[string]bool{}}
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		res.OpenedTTY = true
		f.Close()
	}
	pw, err := os.ReadFile(job.PasswordFile)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := os.ReadFile(job.TOTPFile)
	if err != nil {
		t.Fatal(err)
	}
	secrets := &procTestSecrets{password: string(pw), secret: strings.TrimSpace(string(sec)), res: &res}
	if job.WrongPassword {
		secrets.password += "x"
	}
	var p Provider
	switch job.Kind {
	case "script":
		p, err = NewScript(job.Script)
	case "command":
		p, err = NewCommand(job.Command)
	default:
		err = fmt.Errorf("unknown kind %q", job.Kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{
		Profile: job.Profile, Username: job.Username, Key: job.Key, Certificate: job.Certificate,
		Terminal: job.Terminal, Secrets: secrets,
		Log: slog.New(slog.DiscardHandler),
	}
	ctx, cancel := context.WithTimeout(context.Background(), job.Timeout)
	defer cancel()
	start := time.Now()
	r, err := p.Renew(ctx, req)
	res.Elapsed = time.Since(start)
	if err != nil {
		res.Err = err.Error()
		for name, s := range map[string]error{
			"rejected": ErrRejected, "unavailable": ErrUnavailable, "badanswer": ErrBadAnswer,
			"needsterminal": ErrNeedsTerminal, "config": ErrConfig,
		} {
			res.Is[name] = errors.Is(err, s)
		}
		var se *ServiceError
		if errors.As(err, &se) {
			res.Status, res.Message = se.Status, se.Message
		}
	} else if r != nil {
		res.Installed = r.Installed
	}
	if job.Terminal {
		if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
			res.Fore = procIsForeground(f)
			f.Close()
		}
	}
	out, _ := json.Marshal(res)
	if err := os.WriteFile(job.Result, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// procRunHelper runs job in a helper process without a terminal and
// returns its result and everything it wrote to stdout and stderr.
func procRunHelper(t *testing.T, job procJob) (procJobResult, string) {
	t.Helper()
	run := procStartHelper(t, job)
	return run.result(t)
}

// procHelperRun is a helper process that may still be running: several
// run at once whatever -parallel says, since they mostly wait.
type procHelperRun struct {
	job  procJob
	out  bytes.Buffer
	err  error
	done chan struct{}
}

func procStartHelper(t *testing.T, job procJob) *procHelperRun {
	t.Helper()
	cmd, _ := procHelperCmd(t, &job)
	r := &procHelperRun{job: job, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &r.out, &r.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	// cmd.Stdin nil: /dev/null
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = cmd.Wait()
		close(r.done)
	}()
	return r
}

func (r *procHelperRun) result(t *testing.T) (procJobResult, string) {
	t.Helper()
	<-r.done
	if r.err != nil {
		t.Fatalf("helper process: %v\n%s", r.err, r.out.String())
	}
	return procReadResult(t, r.job), r.out.String()
}

func procHelperCmd(t *testing.T, job *procJob) (*exec.Cmd, string) {
	t.Helper()
	dir := t.TempDir()
	job.Result = filepath.Join(dir, "result.json")
	if job.Timeout == 0 {
		job.Timeout = 30 * time.Second
	}
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	jobFile := filepath.Join(dir, "job.json")
	if err := os.WriteFile(jobFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcHelperProcess$", "-test.count=1",
		"-test.timeout="+strconv.Itoa(int((job.Timeout+30*time.Second)/time.Second))+"s")
	cmd.Env = append(os.Environ(), procHelperEnv+"="+jobFile)
	cmd.WaitDelay = 5 * time.Second
	return cmd, dir
}

func procReadResult(t *testing.T, job procJob) procJobResult {
	t.Helper()
	data, err := os.ReadFile(job.Result)
	if err != nil {
		t.Fatalf("helper wrote no result: %v", err)
	}
	var res procJobResult
	if err := json.Unmarshal(data, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// procGone reports whether pid has exited (a zombie waiting for a reaper
// counts as gone: it runs nothing).
func procGone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return errors.Is(err, os.ErrNotExist)
	}
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 {
		return s[i+2] == 'Z' || s[i+2] == 'X'
	}
	return false
}

// procAssertGone fails the test unless every pid in pidFile has exited.
// Processes killed with SIGKILL vanish at once, but reparented ones are
// reaped asynchronously; allow a moment for that.
func procAssertGone(t *testing.T, pidFile string) {
	t.Helper()
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		t.Fatal("empty pid file")
	}
	for _, f := range fields {
		pid, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !procGone(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Errorf("process %d is still running", pid)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
