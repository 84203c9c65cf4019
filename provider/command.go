package provider

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// CommandConfig configures the command provider.
type CommandConfig struct {
	// Command obtains and installs the key by itself. Its arguments may hold
	// {username}, {key} and {certificate} (see Expand).
	Command []string
	// NeedsTerminal: the command talks to the user (a device code to type
	// into a browser, a password prompt). It then runs only when a human is
	// at a terminal, and gets that terminal.
	NeedsTerminal bool
}

// commandTailSize bounds the output of a headless command that we keep.
const commandTailSize = 4 << 10

type commandProvider struct {
	cfg     CommandConfig
	service string
}

// NewCommand returns a provider that runs a command which obtains and
// installs the key itself: browser or device flows, `step ssh login`, a
// service-account helper.
//
// Headless (the default) the command gets /dev/null as stdin and a pipe of
// ours as stdout and stderr, in a session of its own without a terminal: it
// cannot wait for a human who is not there, and cannot write into AiiDA's
// log. The last few KiB of its output are logged at Debug; on failure its last
// line is quoted in the error.
//
// With NeedsTerminal it fails fast with ErrNeedsTerminal unless
// Request.Terminal is set; otherwise it gets /dev/tty as stdin, stdout and
// stderr, in a process group of its own that is made the terminal's
// foreground group for the run (so it may read the terminal and receives
// Ctrl-C), after which the terminal is given back to us.
//
// The exit status is mapped like the sysexits of our own command line: 77
// ErrRejected, 65 ErrBadAnswer, 78 ErrConfig, anything else (69, 75, ...)
// ErrUnavailable. At the context's deadline the whole process group gets
// SIGTERM, then SIGKILL, and the error wraps ErrUnavailable.
func NewCommand(c CommandConfig) (Provider, error) {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return nil, fmt.Errorf("%w: command is empty", ErrConfig)
	}
	if !procSupported {
		return nil, fmt.Errorf("%w: command provider: not supported on this operating system", ErrConfig)
	}
	return &commandProvider{cfg: c, service: procService(c.Command)}, nil
}

// Expand replaces the placeholders {username}, {key} and {certificate} in a
// command argument with the request's values. Other text, including other
// braces, is left alone. Secrets have no placeholder here on purpose: a
// command line is visible to every user of the machine.
func Expand(arg string, req *Request) string {
	if req == nil || !strings.Contains(arg, "{") {
		return arg
	}
	return strings.NewReplacer(
		"{username}", req.Username,
		"{key}", req.Key,
		"{certificate}", req.Certificate,
	).Replace(arg)
}

func (p *commandProvider) fail(sentinel error, status int, msg string) error {
	return &ServiceError{Service: p.service, Status: status, Message: msg, Err: sentinel}
}

// Renew runs the command once.
func (p *commandProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
	if p.cfg.NeedsTerminal && !req.Terminal {
		return nil, p.fail(ErrNeedsTerminal, 0, "the command needs a terminal; run hpc-auth from one")
	}
	ctx, cancel := procWithDeadline(ctx)
	defer cancel()
	args := make([]string, len(p.cfg.Command))
	for i, a := range p.cfg.Command {
		args[i] = Expand(a, req)
	}
	cmd := exec.Command(args[0], args[1:]...)
	if p.cfg.NeedsTerminal {
		return p.runTerminal(ctx, req, cmd)
	}
	return p.runHeadless(ctx, req, cmd)
}

func (p *commandProvider) runHeadless(ctx context.Context, req *Request, cmd *exec.Cmd) (*Result, error) {
	log := procLogger(req)
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, p.fail(ErrUnavailable, 0, err.Error())
	}
	defer devnull.Close()
	// A pipe we own: the child never sees our stdout or stderr, and we can
	// close our end whatever the child's descendants do with theirs.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, p.fail(ErrUnavailable, 0, err.Error())
	}
	defer pr.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = devnull, pw, pw
	cmd.SysProcAttr = procSessionAttr(false)
	cmd.WaitDelay = procGrace
	start := time.Now()
	err = cmd.Start()
	pw.Close()
	if err != nil {
		return nil, p.fail(ErrConfig, 0, "cannot run: "+procClean(err.Error()))
	}
	tail := &procTail{max: commandTailSize}
	copied := make(chan struct{})
	go func() {
		io.Copy(tail, pr)
		close(copied)
	}()

	waitErr, timedOut := p.wait(ctx, cmd)

	// Stragglers holding the pipe are dead or escaped; read what is left
	// for a moment, then close our end.
	if !procWaitExited(copied, procDrain) {
		pr.Close()
		<-copied
	}
	out := string(tail.Bytes())
	log.Debug("command output", "command", p.service, "output", out)
	last := procClean(procLastLine(out))
	if timedOut {
		msg := fmt.Sprintf("timed out after %s", procRound(time.Since(start)))
		if last != "" {
			msg += "; last output: " + last
		}
		return nil, p.fail(ErrUnavailable, 0, msg)
	}
	return p.outcome(waitErr, last)
}

func (p *commandProvider) runTerminal(ctx context.Context, req *Request, cmd *exec.Cmd) (*Result, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, p.fail(ErrNeedsTerminal, 0, "the command needs a terminal, and /dev/tty cannot be opened")
	}
	defer tty.Close()
	if !procIsForeground(tty) {
		return nil, p.fail(ErrNeedsTerminal, 0, "the command needs the terminal, but hpc-auth runs in the background")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = procForegroundAttr(tty)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, p.fail(ErrConfig, 0, "cannot run: "+procClean(err.Error()))
	}
	waitErr, timedOut := p.wait(ctx, cmd)
	if err := procRestoreForeground(tty); err != nil {
		procLogger(req).Warn("cannot take the terminal back", "err", err)
	}
	if timedOut {
		return nil, p.fail(ErrUnavailable, 0, fmt.Sprintf("timed out after %s", procRound(time.Since(start))))
	}
	return p.outcome(waitErr, "")
}

// wait waits for the command within ctx; at the deadline it ends the whole
// group. Either way, no member of the group is left when it returns.
func (p *commandProvider) wait(ctx context.Context, cmd *exec.Cmd) (waitErr error, timedOut bool) {
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var werr error
	go func() {
		werr = cmd.Wait()
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		timedOut = true
		procTerminate(pid, exited, procGrace)
		if !procWaitExited(exited, procGrace) {
			// Stuck in the kernel; Wait's result is lost, the timeout stands.
			return nil, true
		}
	}
	procKillGroup(pid)
	return werr, timedOut
}

// outcome maps the exit status.
func (p *commandProvider) outcome(waitErr error, last string) (*Result, error) {
	if waitErr == nil {
		return &Result{Installed: true}, nil
	}
	ex, ok := procExitOf(waitErr)
	if !ok {
		return nil, p.fail(ErrUnavailable, 0, procClean(waitErr.Error()))
	}
	var sentinel error
	switch ex.code {
	case 77:
		sentinel = ErrRejected
	case 65:
		sentinel = ErrBadAnswer
	case 78:
		sentinel = ErrConfig
	default:
		sentinel = ErrUnavailable
	}
	msg := last
	if ex.signal != "" {
		msg = strings.TrimSuffix(ex.String()+": "+msg, ": ")
	}
	return nil, p.fail(sentinel, max(ex.code, 0), msg)
}
