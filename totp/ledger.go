package totp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gofrs/flock"
)

// DefaultMinLeft is how much of a time step must remain for its code to be
// sent: network and a centre's script take a moment, and a code that expires
// on the way is a failed login that counts towards a lockout.
const DefaultMinLeft = 3 * time.Second

// lockTimeout bounds the wait for the ledger's lock; holders keep it for
// milliseconds, so running into this means something is badly wrong.
const lockTimeout = 10 * time.Second

// keepFor is how long an entry is kept after its step ended.
const keepFor = 24 * time.Hour

// Ledger hands out codes from time steps never sent before, and remembers
// the last step sent for each secret (by ID, never the secret) in a small
// JSON file, so that processes and profiles sharing one secret never reuse
// a step. The file is replaced atomically under its own flock (Path+".lock");
// the directory is created 0700, the files 0600.
//
// The zero values of the optional fields mean: the real clock, a real sleep,
// DefaultMinLeft, and no logging.
type Ledger struct {
	Path    string                                     // the ledger file, under the state directory
	Now     func() time.Time                           // clock
	Sleep   func(context.Context, time.Duration) error // waits, or returns ctx's error
	MinLeft time.Duration                              // 0 means DefaultMinLeft; negative means none
	Log     *slog.Logger                               // waits are logged at Info, never a code
}

// ledgerFile is the file's format. Version lets a future hpc-auth change it.
type ledgerFile struct {
	Version int                    `json:"version"`
	Secrets map[string]ledgerEntry `json:"secrets"`
}

type ledgerEntry struct {
	Step uint64 `json:"step"`     // last time step whose code was handed out
	End  int64  `json:"step_end"` // when that step ended (Unix seconds), for pruning
}

// Next returns a code from a time step that no one has been given before
// for this secret, records the step, and returns the code.
//
// When the current step was already used, or less than MinLeft of it
// remains, Next waits for the next step (logging the wait at Info) as long as
// ctx's deadline allows. If the deadline would pass first, Next fails with an
// error wrapping ErrStepUsed and context.DeadlineExceeded, except when the
// step is unused and merely short of MinLeft: then its code is still better
// than none, and Next returns it.
func (l *Ledger) Next(ctx context.Context, s *Secret) (string, error) {
	if l.Path == "" {
		return "", errors.New("totp ledger: no path")
	}
	if err := s.check(); err != nil {
		return "", err
	}
	id := s.ID()
	log := l.log().With("secret_id", id[:8])
	minLeft := l.minLeft(s.Period)
	for round := 0; ; round++ {
		if round > 100 { // the clock does not advance: a broken Now or Sleep
			return "", fmt.Errorf("%w: the clock does not move on", ErrStepUsed)
		}
		code, wait, reason, err := l.reserve(ctx, s, id, minLeft, log)
		if err != nil || code != "" {
			return code, err
		}
		log.Info("waiting for a fresh TOTP time step", "wait", wait.Round(time.Millisecond), "reason", reason)
		if err := l.sleep(ctx, wait); err != nil {
			return "", fmt.Errorf("%w: interrupted while waiting for the next step: %w", ErrStepUsed, err)
		}
	}
}

// reserve does one round under the lock: either it records a step and
// returns its code, or it says how long to wait and why.
func (l *Ledger) reserve(ctx context.Context, s *Secret, id string, minLeft time.Duration, log *slog.Logger) (code string, wait time.Duration, reason string, err error) {
	unlock, err := l.lock(ctx)
	if err != nil {
		return "", 0, "", err
	}
	defer unlock()

	led, err := l.read()
	if err != nil {
		// A damaged ledger must not block logins for good: start afresh.
		// The worst case is one reused step, which the server rejects once.
		log.Warn("TOTP ledger unreadable, starting a new one", "path", l.Path, "err", err)
		led = &ledgerFile{}
	}
	if led.Secrets == nil {
		led.Secrets = map[string]ledgerEntry{}
	}

	now := l.now()
	step := s.Step(now)
	left := s.Remaining(now)
	last, seen := led.Secrets[id]
	fresh := !seen || last.Step < step

	var next uint64
	switch {
	case fresh && left >= minLeft:
		return l.record(led, s, id, step, now, log)
	case fresh:
		next = step + 1
		reason = fmt.Sprintf("only %v left in the current step", left.Round(time.Millisecond))
	default:
		next = last.Step + 1
		reason = "the current step's code was already sent"
		if last.Step > step {
			reason = "a later step was already sent (clock turned back?)"
		}
	}
	wait = s.StepStart(next).Sub(now)
	if dl, ok := ctx.Deadline(); ok && now.Add(wait).After(dl) {
		if fresh {
			log.Info("sending a TOTP code close to the end of its step: no time to wait for the next", "left", left.Round(time.Millisecond))
			return l.record(led, s, id, step, now, log)
		}
		return "", 0, "", fmt.Errorf("%w: %s; the next fresh code comes at %s, after the deadline: %w",
			ErrStepUsed, reason, s.StepStart(next).Format(time.TimeOnly), context.DeadlineExceeded)
	}
	return "", wait, reason, nil
}

func (l *Ledger) record(led *ledgerFile, s *Secret, id string, step uint64, now time.Time, log *slog.Logger) (string, time.Duration, string, error) {
	end := s.StepStart(step + 1)
	led.Secrets[id] = ledgerEntry{Step: step, End: end.Unix()}
	for k, e := range led.Secrets {
		if now.Sub(time.Unix(e.End, 0)) > keepFor {
			delete(led.Secrets, k)
		}
	}
	led.Version = 1
	if err := l.write(led); err != nil {
		return "", 0, "", fmt.Errorf("totp ledger: %w", err)
	}
	log.Debug("TOTP code handed out", "step", step, "left", s.Remaining(now).Round(time.Millisecond))
	return s.codeAt(step), 0, "", nil
}

func (l *Ledger) lock(ctx context.Context) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(l.Path), 0o700); err != nil {
		return nil, fmt.Errorf("totp ledger: %w", err)
	}
	fl := flock.New(l.Path+".lock", flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	ok, err := fl.TryLockContext(lctx, 10*time.Millisecond)
	if err == nil && !ok {
		err = errors.New("not obtained")
	}
	if err != nil {
		fl.Close()
		return nil, fmt.Errorf("totp ledger: lock %s: %w", fl.Path(), err)
	}
	return func() { fl.Unlock() }, nil
}

func (l *Ledger) read() (*ledgerFile, error) {
	f, err := os.Open(l.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &ledgerFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, err
	}
	var led ledgerFile
	if err := json.Unmarshal(b, &led); err != nil {
		return nil, err
	}
	return &led, nil
}

// write replaces the file atomically: a crash leaves the old or the new
// ledger, never half of one.
func (l *Ledger) write(led *ledgerFile) error {
	b, err := json.MarshalIndent(led, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(l.Path), ".totp-ledger-*") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly once renamed
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), l.Path)
	}
	return err
}

func (l *Ledger) now() time.Time {
	if l.Now == nil {
		return time.Now()
	}
	return l.Now()
}

func (l *Ledger) sleep(ctx context.Context, d time.Duration) error {
	if l.Sleep != nil {
		return l.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// minLeft never asks for more than half a step: with short periods a fixed
// margin could otherwise never be met.
func (l *Ledger) minLeft(period time.Duration) time.Duration {
	m := l.MinLeft
	switch {
	case m == 0:
		m = DefaultMinLeft
	case m < 0:
		m = 0
	}
	return min(m, period/2)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func (l *Ledger) log() *slog.Logger {
	if l.Log == nil {
		return discard
	}
	return l.Log
}
