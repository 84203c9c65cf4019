package totp

import (
	"bytes"
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake clock shared by several Ledgers (several processes' worth);
// sleeping advances it.
type clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

// stepAligned is far enough in the future that real contexts with deadlines
// relative to it do not expire while the test runs, and a multiple of 30 s.
var stepAligned = time.Unix(2000000010, 0) // 66666667 * 30

func newClock(offset time.Duration) *clock { return &clock{t: stepAligned.Add(offset)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

func ledger(t *testing.T, path string, c *clock, log *slog.Logger) *Ledger {
	t.Helper()
	return &Ledger{Path: path, Now: c.Now, Sleep: c.Sleep, Log: log}
}

func mustParse(t *testing.T, s string) *Secret {
	t.Helper()
	sec, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sec
}

func next(t *testing.T, l *Ledger, s *Secret) string {
	t.Helper()
	code, err := l.Next(context.Background(), s)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return code
}

func TestLedgerFirstUseNoWait(t *testing.T) {
	c := newClock(5 * time.Second)
	s := mustParse(t, testB32)
	l := ledger(t, filepath.Join(t.TempDir(), "state", "totp.json"), c, nil)
	if got, want := next(t, l, s), s.Code(c.Now()); got != want {
		t.Errorf("code = %s, want %s", got, want)
	}
	if len(c.Slept()) != 0 {
		t.Errorf("slept %v, want no wait", c.Slept())
	}
}

func TestLedgerStepReuseWaits(t *testing.T) {
	c := newClock(5 * time.Second)
	s := mustParse(t, testB32)
	var logbuf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logbuf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, log)

	first := next(t, l, s)
	second := next(t, l, s)
	if first == second {
		t.Error("same code twice")
	}
	if want := s.Code(stepAligned.Add(30 * time.Second)); second != want {
		t.Errorf("second code is not the next step's")
	}
	if got := c.Slept(); len(got) != 1 || got[0] != 25*time.Second {
		t.Errorf("slept %v, want [25s]", got)
	}
	out := logbuf.String()
	if !strings.Contains(out, "waiting for a fresh TOTP time step") || !strings.Contains(out, "already sent") {
		t.Errorf("wait not logged at Info: %q", out)
	}
	for _, code := range []string{first, second} {
		if strings.Contains(out, code) {
			t.Errorf("log shows a code")
		}
	}
	assertNoKey(t, out, s)
}

func TestLedgerBoundaryWait(t *testing.T) {
	for _, tc := range []struct {
		offset  time.Duration // into the step
		minLeft time.Duration
		wait    time.Duration // 0: none
	}{
		{27 * time.Second, 0, 0}, // exactly 3 s left: fine
		{27*time.Second + time.Millisecond, 0, 2999 * time.Millisecond},
		{29 * time.Second, 0, time.Second},
		{25 * time.Second, 10 * time.Second, 5 * time.Second},
		{29 * time.Second, -1, 0}, // MinLeft disabled
		{0, 0, 0},
	} {
		t.Run(fmt.Sprint(tc.offset, "/", tc.minLeft), func(t *testing.T) {
			c := newClock(tc.offset)
			s := mustParse(t, testB32)
			l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
			l.MinLeft = tc.minLeft
			code := next(t, l, s)
			slept := c.Slept()
			switch {
			case tc.wait == 0 && len(slept) != 0:
				t.Errorf("slept %v, want none", slept)
			case tc.wait != 0 && (len(slept) != 1 || slept[0] != tc.wait):
				t.Errorf("slept %v, want [%v]", slept, tc.wait)
			}
			if code != s.Code(c.Now()) {
				t.Error("code is not the current step's after the wait")
			}
		})
	}
}

func TestLedgerShortPeriodClampsMinLeft(t *testing.T) {
	key := []byte(rfcSeeds[SHA1])
	s, err := New(key, SHA1, 6, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(500 * time.Millisecond) // 1.5 s left of 2 s; MinLeft 3 s is clamped to 1 s
	l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
	next(t, l, s)
	next(t, l, s)
	if got := c.Slept(); len(got) != 1 || got[0] != 1500*time.Millisecond {
		t.Errorf("slept %v, want [1.5s]", got)
	}
}

// Two processes (two Ledgers, one file) never get the same step.
func TestLedgerTwoProcesses(t *testing.T) {
	c := newClock(10 * time.Second)
	path := filepath.Join(t.TempDir(), "totp.json")
	s := mustParse(t, testB32)
	a, b := ledger(t, path, c, nil), ledger(t, path, c, nil)
	ca := next(t, a, s)
	cb := next(t, b, s)
	ca2 := next(t, a, s)
	if ca == cb || cb == ca2 || ca == ca2 {
		t.Errorf("codes repeat: %v", []int{len(ca), len(cb), len(ca2)})
	}
	if got := c.Slept(); len(got) != 2 || got[0] != 20*time.Second || got[1] != 30*time.Second {
		t.Errorf("slept %v, want [20s 30s]", got)
	}
}

// The same secret configured in two profiles, once as base32 and once as a
// URI, shares the ledger entry; a different secret does not wait.
func TestLedgerProfilesShareSecret(t *testing.T) {
	c := newClock(10 * time.Second)
	path := filepath.Join(t.TempDir(), "totp.json")
	daint := mustParse(t, groups(strings.ToLower(testB32), " "))
	eiger := mustParse(t, "otpauth://totp/CSCS:jdoe?secret="+testB32+"&issuer=CSCS")
	other := mustParse(t, "JBSWY3DPEHPK3PXP")
	l1, l2 := ledger(t, path, c, nil), ledger(t, path, c, nil)

	next(t, l1, daint)
	next(t, l2, other) // independent secret: no wait
	if len(c.Slept()) != 0 {
		t.Fatalf("an independent secret waited: %v", c.Slept())
	}
	s1 := daint.Step(c.Now())
	next(t, l2, eiger)
	if got := c.Slept(); len(got) != 1 {
		t.Fatalf("the same secret in another profile did not wait: %v", got)
	}
	if eiger.Step(c.Now()) == s1 {
		t.Error("two profiles sharing a secret got the same step")
	}
}

// Many concurrent callers, each with its own Ledger on one file: all steps
// distinct.
func TestLedgerConcurrent(t *testing.T) {
	c := newClock(0)
	path := filepath.Join(t.TempDir(), "totp.json")
	s := mustParse(t, testB32)
	const n = 6
	var wg sync.WaitGroup
	codes := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := ledger(t, path, c, nil)
			codes[i], errs[i] = l.Next(context.Background(), s)
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[codes[i]] {
			t.Fatalf("a code was handed out twice")
		}
		seen[codes[i]] = true
	}
}

func TestLedgerDeadline(t *testing.T) {
	s := mustParse(t, testB32)

	t.Run("used step, deadline before the next", func(t *testing.T) {
		c := newClock(10 * time.Second)
		l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
		next(t, l, s)
		ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(15*time.Second))
		defer cancel()
		_, err := l.Next(ctx, s)
		if !errors.Is(err, ErrStepUsed) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrStepUsed and DeadlineExceeded", err)
		}
		if len(c.Slept()) != 0 {
			t.Errorf("slept %v although the deadline could not be met", c.Slept())
		}
	})

	t.Run("used step, deadline after the next", func(t *testing.T) {
		c := newClock(10 * time.Second)
		l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
		next(t, l, s)
		ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(25*time.Second))
		defer cancel()
		if _, err := l.Next(ctx, s); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("fresh step short of MinLeft, no time to wait: sent anyway", func(t *testing.T) {
		c := newClock(28 * time.Second)
		l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
		ctx, cancel := context.WithDeadline(context.Background(), c.Now().Add(time.Second))
		defer cancel()
		code, err := l.Next(ctx, s)
		if err != nil || code != s.Code(c.Now()) || len(c.Slept()) != 0 {
			t.Fatalf("code ok=%v err=%v slept=%v", code == s.Code(c.Now()), err, c.Slept())
		}
		// ...and that step is now used.
		if _, err := l.Next(ctx, s); !errors.Is(err, ErrStepUsed) {
			t.Fatalf("err = %v, want ErrStepUsed", err)
		}
	})

	t.Run("cancelled while waiting", func(t *testing.T) {
		c := newClock(10 * time.Second)
		l := ledger(t, filepath.Join(t.TempDir(), "totp.json"), c, nil)
		next(t, l, s)
		ctx, cancel := context.WithCancel(context.Background())
		l.Sleep = func(context.Context, time.Duration) error { cancel(); return ctx.Err() }
		if _, err := l.Next(ctx, s); !errors.Is(err, ErrStepUsed) || !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("real sleep honours the context", func(t *testing.T) {
		c := newClock(10 * time.Second)
		l := &Ledger{Path: filepath.Join(t.TempDir(), "totp.json"), Now: c.Now}
		next(t, l, s)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := l.Next(ctx, s); err == nil {
			t.Fatal("no error with a cancelled context")
		}
	})
}

func TestLedgerClockBack(t *testing.T) {
	c := newClock(10 * time.Second)
	path := filepath.Join(t.TempDir(), "totp.json")
	s := mustParse(t, testB32)
	l := ledger(t, path, c, nil)
	next(t, l, s)
	back := &clock{t: c.Now().Add(-5 * time.Minute)}
	lb := ledger(t, path, back, nil)
	ctx, cancel := context.WithDeadline(context.Background(), back.Now().Add(time.Minute))
	defer cancel()
	_, err := lb.Next(ctx, s)
	if !errors.Is(err, ErrStepUsed) || !strings.Contains(err.Error(), "clock") {
		t.Fatalf("err = %v, want ErrStepUsed mentioning the clock", err)
	}
}

func TestLedgerFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "totp.json")
	c := newClock(0)
	s1 := mustParse(t, testB32)
	s2, _ := New([]byte(rfcSeeds[SHA512]), SHA512, 8, 60*time.Second)
	l := ledger(t, path, c, nil)
	codes := []string{next(t, l, s1), next(t, l, s2), next(t, l, s1)}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	content := string(b)
	for _, s := range []*Secret{s1, s2} {
		assertNoKey(t, content, s)
		b32 := strings.TrimRight(base32.StdEncoding.EncodeToString(s.key), "=")
		if strings.Contains(strings.ToUpper(content), b32[:8]) {
			t.Error("ledger contains part of a secret")
		}
		if !strings.Contains(content, s.ID()) {
			t.Error("ledger lacks the secret's ID")
		}
	}
	for _, code := range codes {
		if strings.Contains(content, code) {
			t.Error("ledger contains a code")
		}
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600, path + ".lock": 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&^want != 0 {
			t.Errorf("%s: mode %o, want at most %o", filepath.Base(p), got, want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("state dir holds %d files, want 2 (no temp files left)", len(ents))
	}
}

func TestLedgerPrunesAndSurvivesDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "totp.json")
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := newClock(0)
	var logbuf bytes.Buffer
	l := ledger(t, path, c, slog.New(slog.NewTextHandler(&logbuf, nil)))
	s1, s2 := mustParse(t, testB32), mustParse(t, "JBSWY3DPEHPK3PXP")
	next(t, l, s1)
	if !strings.Contains(logbuf.String(), "unreadable") {
		t.Error("damage not logged")
	}
	c.Sleep(context.Background(), 25*time.Hour)
	next(t, l, s2)
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), s1.ID()) || !strings.Contains(string(b), s2.ID()) {
		t.Errorf("old entry not pruned: %s", b)
	}
}

func TestLedgerNeedsPath(t *testing.T) {
	if _, err := (&Ledger{}).Next(context.Background(), mustParse(t, testB32)); err == nil {
		t.Error("no error without a path")
	}
}
