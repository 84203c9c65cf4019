package provider

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"time"

	expect "github.com/Netflix/go-expect"
)

// ScriptConfig configures the script provider.
type ScriptConfig struct {
	// Command is the centre's interactive client and its arguments, which
	// may hold {username}, {key} and {certificate} (see Expand). Never a
	// secret: answers go through the terminal.
	Command []string
	// Dialog answers the script's prompts. Nil: the default dialog alone
	// (username, password, one-time code, password+OTP). Custom steps are
	// tried first; lines they do not take still go to the default dialog.
	Dialog []DialogStep
	// AnswerAfter is the least time the script must have been quiet before
	// a prompt is answered (the config's answer_after). Settle is used when
	// it is shorter.
	AnswerAfter time.Duration
	// Settle is how long the script must have written nothing before the
	// line it ends on counts as a prompt it waits on. Default 150ms.
	Settle time.Duration
	// Transcript is the file that keeps a scrubbed transcript of the last
	// run (mode 0600, replaced at each run). Empty: none.
	Transcript string
}

const (
	scriptDefaultSettle = 150 * time.Millisecond
	// An unknown question must stand this many settle times before we give
	// up on it: a status line ending in ":" may just precede slow work.
	scriptQuestionFactor = 10
	// scriptPendingMax bounds the output kept for finding the last line.
	scriptPendingMax = 64 << 10
	// scriptRecheck is how long we look for output that arrived while the
	// answer was being prepared (a fresh one-time code may take a while).
	scriptRecheck = 20 * time.Millisecond
)

type scriptProvider struct {
	cfg     ScriptConfig
	steps   []scriptStep
	service string
}

// NewScript returns a provider that runs the centre's interactive script
// under a pseudo-terminal and answers its prompts.
//
// The script runs in its own session with the pty as its controlling
// terminal: bash's `read -p` prints its prompt only on a terminal, and
// Python's getpass reads /dev/tty. A prompt is answered only once the script
// has been quiet for Settle (at least AnswerAfter) with the prompt as the
// last thing it wrote, and each prompt only once: patterns such as the AiiDA
// how-to's, which match "Enter OTP (6-digit code): " once for "OTP" and once
// for "code:", cannot make us type a code twice.
//
// Failures map to the sentinels as follows.
//   - The deadline passes (silence, or a prompt we do not recognise as a
//     question): ErrUnavailable.
//   - Before any password or code was typed, an unexpected question or a
//     non-zero exit: ErrConfig. Nothing was spent, and the fix is in the
//     profile (command, dialog) or the script's setup, not in the secrets.
//   - After a password or code was typed, a non-zero exit, an unexpected
//     question, or a prompt asking again for something already given:
//     ErrRejected. Most of these are a refused password or code; the rest
//     (a key was issued, then the script failed) we cannot tell apart from
//     the outside. Either way, running the script again spends a one-time
//     code, counts towards lockouts and may spend a daily key quota, so it
//     must not happen automatically: ErrRejected is never retried.
//
// The script writes the key files itself; success is Result{Installed: true}.
func NewScript(c ScriptConfig) (Provider, error) {
	if len(c.Command) == 0 || c.Command[0] == "" {
		return nil, fmt.Errorf("%w: script: command is empty", ErrConfig)
	}
	if !procSupported {
		return nil, fmt.Errorf("%w: script provider: %v", ErrConfig, "not supported on this operating system")
	}
	steps, err := scriptCompile(c.Dialog)
	if err != nil {
		return nil, err
	}
	if c.Settle <= 0 {
		c.Settle = scriptDefaultSettle
	}
	if c.AnswerAfter < 0 {
		return nil, fmt.Errorf("%w: answer_after is negative", ErrConfig)
	}
	return &scriptProvider{cfg: c, steps: steps, service: procService(c.Command)}, nil
}

// Renew runs the script once.
func (p *scriptProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
	ctx, cancel := procWithDeadline(ctx)
	defer cancel()
	args := make([]string, len(p.cfg.Command))
	for i, a := range p.cfg.Command {
		args[i] = Expand(a, req)
	}
	r := &scriptRun{
		p:      p,
		req:    req,
		log:    procLogger(req),
		start:  time.Now(),
		dialog: scriptDialog{steps: p.steps},
		quiet:  max(p.cfg.Settle, p.cfg.AnswerAfter),
	}
	r.question = scriptQuestionFactor * r.quiet
	r.tr.buf.WriteString(scriptTranscriptHeader(req.Profile, args, r.start))

	res, err := r.run(ctx, args)

	if err != nil {
		r.tr.note("failed: %v", err)
	} else {
		r.tr.note("succeeded")
	}
	if p.cfg.Transcript != "" {
		if werr := scriptWriteTranscript(p.cfg.Transcript, r.tr.text()); werr != nil {
			r.log.Warn("cannot write the script transcript", "path", p.cfg.Transcript, "err", werr)
		} else if err != nil {
			r.log.Info("script transcript kept", "path", p.cfg.Transcript)
		}
	}
	return res, err
}

// scriptRun is the state of one run.
type scriptRun struct {
	p      *scriptProvider
	req    *Request
	log    *slog.Logger
	start  time.Time
	dialog scriptDialog
	tr     scriptTranscript

	quiet    time.Duration // silence before answering
	question time.Duration // silence before giving up on a question

	c        *expect.Console
	pending  string    // output since the last answer
	lastOut  time.Time // when the script last wrote
	eof      bool
	answered int  // answers typed
	secret   bool // a password or code was typed
	password string
	hasPass  bool
}

func (r *scriptRun) run(ctx context.Context, args []string) (*Result, error) {
	// No logger, no observers: go-expect logs every byte sent when given one.
	c, err := expect.NewConsole()
	if err != nil {
		return nil, r.fail(ErrUnavailable, 0, "cannot open a pseudo-terminal: "+err.Error())
	}
	r.c = c
	defer c.Close()
	if err := procSetWinsize(c.Tty(), 24, 80); err != nil {
		r.log.Debug("cannot set the pty size", "err", err)
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Tty(), c.Tty(), c.Tty()
	cmd.SysProcAttr = procSessionAttr(true)
	if err := cmd.Start(); err != nil {
		return nil, r.fail(ErrConfig, 0, "cannot run: "+procClean(err.Error()))
	}
	// Our copy of the pts must go, or we never see the end of the output.
	c.Tty().Close()
	pid := cmd.Process.Pid
	r.log.Debug("script started", "command", args, "pid", pid)

	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		close(exited)
	}()
	// At the deadline: hang up the terminal (which unblocks our reads and
	// sends SIGHUP), then terminate the group.
	watched := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(watched)
		c.Close()
		procTerminate(pid, exited, procGrace)
	})
	defer func() {
		if !stop() {
			<-watched // it ran: let it finish, nothing outlives Renew
		}
		// Whatever happened, nothing of the script's survives the run.
		procTerminate(pid, exited, procGrace)
		procWaitExited(exited, procGrace)
	}()

	if err := r.converse(ctx, pid, exited); err != nil {
		return nil, err
	}
	select {
	case <-exited:
	case <-ctx.Done():
		return nil, r.timeout("waiting for the script to finish")
	}
	procKillGroup(pid)
	return r.outcome(waitErr)
}

// read reads what the script writes until it has been quiet for d (or the
// terminal closes), and records it.
func (r *scriptRun) read(d time.Duration) error {
	chunk, err := r.c.Expect(expect.EOF, expect.PTSClosed, scriptChunk, expect.WithTimeout(d))
	now := time.Now()
	if chunk != "" {
		r.tr.output(chunk)
		r.pending += chunk
		if len(r.pending) > scriptPendingMax {
			r.pending = r.pending[len(r.pending)-scriptPendingMax:]
		}
		r.lastOut = now
	}
	switch {
	case err == nil && len(chunk) >= scriptChunkSize:
		return nil // a full chunk of a script that keeps writing
	case err == nil:
		r.eof = true
		return nil
	case os.IsTimeout(err):
		if chunk != "" {
			r.lastOut = now.Add(-d) // the deadline was re-armed after each rune
		}
		return nil
	}
	return err
}

// scriptChunkSize bounds what one read holds: go-expect buffers everything
// it reads until a matcher matches, and a script that never stops writing
// would never let the quiet-time matcher (the read timeout) fire.
const scriptChunkSize = 4 << 10

// scriptChunk ends a read once it holds scriptChunkSize bytes. An EOF that
// ends a read therefore always comes with less.
func scriptChunk(o *expect.ExpectOpts) error {
	o.Matchers = append(o.Matchers, scriptChunkMatcher{})
	return nil
}

type scriptChunkMatcher struct{}

func (scriptChunkMatcher) Match(v any) bool {
	b, ok := v.(*bytes.Buffer)
	return ok && b.Len() >= scriptChunkSize
}

func (scriptChunkMatcher) Criteria() any { return scriptChunkSize }

// converse answers prompts until the script closes the terminal.
func (r *scriptRun) converse(ctx context.Context, pid int, exited <-chan struct{}) error {
	r.lastOut = time.Now()
	var exitedAt time.Time
	for !r.eof {
		err := r.read(r.p.cfg.Settle)
		if ctx.Err() != nil {
			return r.timeout("waiting for a prompt")
		}
		if err != nil {
			// The console failed under us: treat it as the end of output.
			r.log.Debug("reading the script's terminal", "err", err)
			return nil
		}
		if r.eof {
			return nil
		}
		select {
		case <-exited:
			// The script is gone but something holds the terminal: kill the
			// group, read what is left for a moment, answer nothing more.
			if exitedAt.IsZero() {
				exitedAt = time.Now()
				procKillGroup(pid)
			}
			if time.Since(exitedAt) > procDrain {
				return nil
			}
			continue
		default:
		}

		now := time.Now()
		silent := now.Sub(r.lastOut)
		line := procLastLine(r.pending)
		verdict, act := r.dialog.decide(line)
		switch verdict {
		case scriptWait:
			continue
		case scriptUnexpected:
			if silent < r.question {
				continue
			}
			return r.unexpected(line, "unexpected prompt")
		case scriptAgain:
			if silent < r.quiet {
				continue
			}
			return r.unexpected(line, "asked again after "+act.String()+" was answered")
		}
		if silent < r.quiet {
			continue
		}
		answer, err := r.expand(ctx, act)
		if err != nil {
			return err
		}
		// The prompt must still be the last thing written: an answer is
		// typed only to a script that waits for it.
		before := len(r.pending)
		if err := r.read(scriptRecheck); err != nil || r.eof || len(r.pending) != before {
			if ctx.Err() != nil {
				return r.timeout("waiting for a prompt")
			}
			continue
		}
		if err := r.send(act, line, answer); err != nil {
			if ctx.Err() != nil {
				return r.timeout("answering a prompt")
			}
			return r.fail(ErrUnavailable, 0, "cannot write to the script's terminal: "+procClean(err.Error()))
		}
	}
	return nil
}

// expand fills in an answer's placeholders, asking for secrets only now.
func (r *scriptRun) expand(ctx context.Context, act scriptAction) (string, error) {
	var ferr error
	out := scriptPlaceholderRE.ReplaceAllStringFunc(act.send, func(ph string) string {
		if ferr != nil {
			return ""
		}
		var v string
		switch ph {
		case "{username}":
			if r.req.Username == "" {
				ferr = r.fail(ErrConfig, 0, "the script asks for a username, but the profile has none")
			}
			v = r.req.Username
		case "{key}":
			v = r.req.Key
		case "{certificate}":
			v = r.req.Certificate
		case "{password}":
			v, ferr = r.secretValue(ctx, "password")
		case "{otp}":
			v, ferr = r.secretValue(ctx, "otp")
		default:
			return ph // not reached: scriptCompile rejects unknown placeholders
		}
		return v
	})
	return out, ferr
}

func (r *scriptRun) secretValue(ctx context.Context, which string) (string, error) {
	if r.req.Secrets == nil {
		return "", r.fail(ErrConfig, 0, "the script asks for a "+which+", but none is configured")
	}
	var (
		v   string
		err error
	)
	switch {
	case which == "password" && r.hasPass:
		return r.password, nil
	case which == "password":
		v, err = r.req.Secrets.Password(ctx)
		if err == nil {
			r.password, r.hasPass = v, true
		}
	default:
		v, err = r.req.Secrets.OTP(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", r.timeout("getting the " + which)
		}
		return "", fmt.Errorf("%s: the script asks for the %s: %w", r.p.service, which, err)
	}
	r.tr.secret(v)
	return v, nil
}

// send types an answer.
func (r *scriptRun) send(act scriptAction, line, answer string) error {
	shown := "***"
	if act.uses&(scriptUsesPassword|scriptUsesOTP) == 0 {
		shown = r.tr.scrub(answer)
	}
	enter := ""
	if act.enter {
		enter = " + Enter"
		answer += "\r" // what a terminal's Enter key sends
	}
	prompt := r.tr.scrub(procClean(line))
	r.log.Debug("answering the script", "prompt", prompt, "as", act.String())
	r.tr.note("answered %s with %q%s", act.String(), shown, enter)
	if act.uses&(scriptUsesPassword|scriptUsesOTP) != 0 {
		// Counted before the write: a partial write may have been read.
		r.secret = true
	}
	_, err := r.c.Send(answer)
	if err != nil {
		return err
	}
	r.dialog.done(act)
	r.answered++
	r.pending = ""
	r.lastOut = time.Now()
	return nil
}
