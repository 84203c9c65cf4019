package provider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Process handling shared by the script and command providers.
//
// Both run a program we do not control. The rules are the same for both:
// the program gets its own process group (its own session, for the script
// provider), it never inherits our stdout or stderr, and when we are done
// with it, for whatever reason, the whole group is signalled so that nothing
// it started keeps running after Renew returns.

const (
	// procGrace is how long a process group gets between SIGTERM and
	// SIGKILL. Short: Renew must return promptly after its deadline.
	procGrace = time.Second
	// procDrain bounds how long we keep reading a child's output after it
	// exited, in case something that escaped its group still holds the pipe.
	procDrain = 500 * time.Millisecond
	// procDefaultTimeout applies when the caller's context has no deadline:
	// every wait has one.
	procDefaultTimeout = 2 * time.Minute
	// procLineMax bounds a line quoted in an error message, in runes.
	procLineMax = 160
)

// procWithDeadline gives ctx a deadline if it has none.
func procWithDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, procDefaultTimeout)
}

// procLogger returns req.Log, or a logger that discards, so that a careless
// caller cannot make a provider panic.
func procLogger(req *Request) *slog.Logger {
	if req != nil && req.Log != nil {
		return req.Log
	}
	return slog.New(slog.DiscardHandler)
}

// procService names a command in messages: the base name of its program.
func procService(command []string) string {
	if len(command) == 0 {
		return "command"
	}
	name := command[0]
	if i := strings.LastIndexByte(name, '/'); i >= 0 && i < len(name)-1 {
		name = name[i+1:]
	}
	return procClean(name)
}

// procExit describes how a waited-for child ended.
type procExit struct {
	code   int    // exit status; -1 when killed by a signal or not known
	signal string // the signal that killed it, or ""
}

func (e procExit) String() string {
	if e.signal != "" {
		return "killed by " + e.signal
	}
	return fmt.Sprintf("exit status %d", e.code)
}

// procExitOf interprets cmd.Wait's error. ok is false when err says nothing
// about the exit (an I/O error of Wait itself).
func procExitOf(err error) (e procExit, ok bool) {
	if err == nil {
		return procExit{code: 0}, true
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return procExit{code: -1}, false
	}
	e.code = ee.ExitCode()
	e.signal = procSignalName(ee)
	return e, true
}

// procTail keeps the last max bytes written to it; safe for concurrent use.
// It bounds what a chatty child can make us hold in memory.
type procTail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *procTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

func (t *procTail) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]byte(nil), t.buf...)
}

// procEscapeRE matches terminal escape sequences: CSI (colours, cursor
// movement) and OSC (window titles), which carry no words worth quoting.
var procEscapeRE = regexp.MustCompile("\x1b\\[[0-?]*[ -/]*[@-~]|\x1b\\][^\x07\x1b]*(?:\x07|\x1b\\\\)|\x1b[@-_]")

// procLines splits terminal output into lines. A carriage return ends a
// line as a newline does: progress bars redraw a line with "\r", and the
// pty turns "\n" into "\r\n".
func procLines(s string) []string {
	s = procEscapeRE.ReplaceAllString(s, "")
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
}

// procLastLine returns the last line of out that holds more than blanks,
// unchanged (trailing blanks kept), or "".
func procLastLine(out string) string {
	lines := procLines(out)
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(procStripControl(lines[i])) != "" {
			return procStripControl(lines[i])
		}
	}
	return ""
}

// procStripControl drops control characters and invalid UTF-8 (a terminal
// would not show them either), keeping tabs as blanks.
func procStripControl(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) }) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				continue
			}
			b.WriteRune(r)
		case r == '\t':
			b.WriteByte(' ')
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// procClean makes s fit to be quoted in a one-line message: no escapes or
// control characters, valid UTF-8, trimmed, at most procLineMax runes.
func procClean(s string) string {
	s = procEscapeRE.ReplaceAllString(s, "")
	s = strings.Join(strings.Fields(procStripControl(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s))), " ")
	if utf8.RuneCountInString(s) > procLineMax {
		r := []rune(s)
		s = string(r[:procLineMax-1]) + "…"
	}
	return s
}

// procRound makes a duration readable in a message.
func procRound(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// procWaitExited waits for exited, but not forever: after SIGKILL a process
// dies at once unless it is stuck in the kernel, and Renew must return.
func procWaitExited(exited <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
		return false
	}
}
