package keyring

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

// DefaultTimeout bounds one OS keyring call when OS is given no timeout. A
// healthy Secret Service answers in milliseconds; anything slower is almost
// always an unlock prompt that nobody will answer.
const DefaultTimeout = 3 * time.Second

// hint is the way out offered with every "keyring unusable" error.
const hint = "run hpc-auth inside the desktop session, or use an env:, file: or cmd: secret reference"

// OS returns the operating system's keyring (Secret Service on Linux and the
// BSDs, the login keychain on macOS, the credential manager on Windows)
// through github.com/zalando/go-keyring.
//
// Every call is bounded by timeout (DefaultTimeout if not positive) and by
// ctx. On Linux a session bus is looked for first (DBUS_SESSION_BUS_ADDRESS,
// then $XDG_RUNTIME_DIR/bus and /run/user/UID/bus); without one the call fails
// at once with ErrUnavailable instead of letting the D-Bus library start
// dbus-launch. When only $XDG_RUNTIME_DIR/bus exists, DBUS_SESSION_BUS_ADDRESS
// is set to it, as the D-Bus library itself does for /run/user/UID/bus.
//
// A call that times out leaves its goroutine behind, blocked in go-keyring
// (which offers no cancellation); hpc-auth is short-lived, so this is
// accepted rather than risking a hang.
func OS(timeout time.Duration) Store {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &osStore{timeout: timeout, precheck: checkSessionBus}
}

type osStore struct {
	timeout  time.Duration
	precheck func() error
}

func (s *osStore) Get(ctx context.Context, service, account string) (string, error) {
	return s.call(ctx, service, account, func() (string, error) {
		return gokeyring.Get(service, account)
	})
}

func (s *osStore) Set(ctx context.Context, service, account, value string) error {
	_, err := s.call(ctx, service, account, func() (string, error) {
		return "", gokeyring.Set(service, account, value)
	})
	return err
}

func (s *osStore) Delete(ctx context.Context, service, account string) error {
	_, err := s.call(ctx, service, account, func() (string, error) {
		return "", gokeyring.Delete(service, account)
	})
	return err
}

// call runs f in a goroutine so that the deadline holds even when go-keyring
// blocks (it waits for unlock prompts without a timeout).
func (s *osStore) call(ctx context.Context, service, account string, f func() (string, error)) (string, error) {
	if service == "" || account == "" {
		return "", fmt.Errorf("%w: keyring item needs a service and an account", ErrBadRef)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if err := s.precheck(); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1) // buffered: a late answer must not block the goroutine forever
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return "", classify(r.err)
		}
		return r.v, nil
	case <-ctx.Done():
		return "", fmt.Errorf("%w: no answer within %s (is it waiting for an unlock prompt?); %s: %w",
			ErrUnavailable, s.timeout, hint, ctx.Err())
	}
}

// classify maps go-keyring's and D-Bus's errors to the sentinels. Anything
// not recognised means the keyring did not work: ErrUnavailable, with the
// original text (which names no secret: the D-Bus errors come from the
// daemon, which never echoes a secret) for the curious.
func classify(err error) error {
	switch {
	case errors.Is(err, gokeyring.ErrNotFound):
		return fmt.Errorf("%w in the OS keyring", ErrNotFound)
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: the secret is too large for the OS keyring", ErrUnavailable)
	case errors.Is(err, gokeyring.ErrUnsupportedPlatform):
		return fmt.Errorf("%w: no supported keyring on this system; use an env:, file: or cmd: secret reference", ErrUnavailable)
	}
	if e := classifyPlatform(err); e != nil {
		return e
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "failed to unlock correct collection"):
		// go-keyring's words when the Unlock prompt was dismissed or could
		// not be shown (headless), or when no default collection exists.
		coll := "the login collection"
		if i, j := strings.IndexByte(msg, '\''), strings.LastIndexByte(msg, '\''); i >= 0 && j > i {
			coll = "collection " + msg[i+1:j]
		}
		return fmt.Errorf("%w: %s is locked and could not be unlocked here (or does not exist); unlock it in the desktop session (e.g. log in there) or use an env:, file: or cmd: secret reference", ErrLocked, coll)
	case strings.Contains(msg, "User interaction is not allowed"), strings.Contains(msg, "-25308"):
		// macOS: the login keychain is locked (typical over SSH).
		return fmt.Errorf("%w: the login keychain is locked and cannot prompt here; unlock it (security unlock-keychain) or use an env:, file: or cmd: secret reference", ErrLocked)
	}
	return fmt.Errorf("%w: %v; %s", ErrUnavailable, firstLine(msg), hint)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
