package keyring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
	"time"
)

// runCommand runs argv without a shell and returns its trimmed standard
// output.
//
// The child gets /dev/null as standard input (a password manager must not
// wait for, or steal, our input), our environment unchanged (nothing is
// added: no secret ever travels that way), and its own process group, which
// is killed when the timeout passes and again once the command is done, so
// nothing it started lingers. Its standard error is counted and dropped: it
// may echo a secret, and our stderr ends up in AiiDA's logs.
func runCommand(ctx context.Context, argv []string, timeout time.Duration, log *slog.Logger) (string, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	out := &limitedBuffer{buf: make([]byte, 0, 4096), max: maxSecretSize}
	stderr := &countingDiscard{}
	cmd.Stdin = nil // the null device
	cmd.Stdout = out
	cmd.Stderr = stderr
	// If something outside the process group keeps the pipes open, stop
	// waiting for it soon after the command itself has ended.
	cmd.WaitDelay = time.Second
	ownGroup(cmd)

	log.Debug("running secret command", "cmd", argv[0], "timeout", timeout)
	start := time.Now()
	err := cmd.Run()
	_ = killGroup(cmd) // leftovers in the group; ESRCH when there are none
	defer clear(out.buf)
	log.Debug("secret command finished", "cmd", argv[0], "took", time.Since(start).Round(time.Millisecond),
		"stdout_bytes", len(out.buf), "stderr_bytes_dropped", stderr.n)

	switch {
	case parent.Err() != nil:
		return "", fmt.Errorf("%w: interrupted: %w", ErrCommand, parent.Err())
	case ctx.Err() != nil:
		return "", fmt.Errorf("%w: no result within %s, killed: %w", ErrCommand, timeout, ctx.Err())
	case out.overflow:
		return "", fmt.Errorf("%w: more than %d bytes of output, not a secret", ErrCommand, maxSecretSize)
	case err != nil:
		var ee *exec.ExitError
		var xe *exec.Error
		switch {
		case errors.As(err, &ee):
			return "", fmt.Errorf("%w: %s: %s (its error output is not shown, as it may contain secrets; run the command yourself to see it)",
				ErrCommand, argv[0], ee.ProcessState)
		case errors.As(err, &xe):
			return "", fmt.Errorf("%w: %v", ErrCommand, xe.Err)
		case errors.Is(err, exec.ErrWaitDelay):
			// The command succeeded, but something it started kept the
			// output open; that something was killed with the group.
		default:
			return "", fmt.Errorf("%w: %s: %v", ErrCommand, argv[0], err)
		}
	}
	return strings.TrimSpace(string(out.buf)), nil
}

// limitedBuffer keeps at most max bytes; more is an error that stops the copy.
type limitedBuffer struct {
	buf      []byte
	max      int
	overflow bool
}

var errTooMuch = errors.New("too much output")

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if len(b.buf)+len(p) > b.max {
		b.overflow = true
		return 0, errTooMuch
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

type countingDiscard struct{ n int }

func (c *countingDiscard) Write(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}
