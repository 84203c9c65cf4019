package keyring

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"
)

// DefaultCmdTimeout bounds a cmd: reference when the Resolver sets none. It
// leaves room for a password manager that asks for a fingerprint or a PIN.
const DefaultCmdTimeout = 30 * time.Second

// Resolver reads, writes and deletes secrets by reference.
//
// The zero value is usable: the OS keyring with DefaultTimeout, the process
// environment, DefaultCmdTimeout and no logging.
type Resolver struct {
	Store      Store                       // keyring references; nil means OS(DefaultTimeout)
	Env        func(string) (string, bool) // env: references; nil means os.LookupEnv
	CmdTimeout time.Duration               // cmd: references; 0 means DefaultCmdTimeout
	Log        *slog.Logger                // debug detail, never a secret; nil means none
}

// Get returns the secret that ref names. File and command output is trimmed
// of surrounding white space, keyring values of trailing line breaks (which
// `echo secret | secret-tool store ...` leaves behind). A secret that is empty
// after this is ErrEmpty.
//
// Errors start with ref's description and wrap one of the package's
// sentinels.
func (r *Resolver) Get(ctx context.Context, ref Ref) (string, error) {
	r.log().Debug("reading secret", "ref", ref.String())
	v, err := r.get(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("%s: %w", ref, err)
	}
	if strings.TrimSpace(v) == "" {
		return "", fmt.Errorf("%s: %w", ref, ErrEmpty)
	}
	return v, nil
}

func (r *Resolver) get(ctx context.Context, ref Ref) (string, error) {
	switch ref.Kind {
	case KeyringDefault, KeyringItem:
		v, err := r.store().Get(ctx, ref.Service, ref.Account)
		return strings.TrimRight(v, "\r\n"), err
	case Env:
		lookup := r.Env
		if lookup == nil {
			lookup = os.LookupEnv
		}
		v, ok := lookup(ref.Name)
		if !ok {
			return "", fmt.Errorf("%w: the environment variable is not set", ErrNotFound)
		}
		return v, nil
	case File:
		return readPrivateFile(ref.Path)
	case Cmd:
		timeout := r.CmdTimeout
		if timeout <= 0 {
			timeout = DefaultCmdTimeout
		}
		return runCommand(ctx, ref.Argv, timeout, r.log())
	}
	return "", fmt.Errorf("%w: invalid kind", ErrBadRef)
}

// Set stores value in the keyring item that ref names. Other references are
// ErrReadOnly: their secrets are changed where they live, which the message
// names.
func (r *Resolver) Set(ctx context.Context, ref Ref, value string) error {
	if err := r.writable(ref); err != nil {
		return err
	}
	if strings.TrimSpace(value) == "" {
		return fmt.Errorf("%s: %w: refusing to store it", ref, ErrEmpty)
	}
	r.log().Debug("storing secret", "ref", ref.String())
	if err := r.store().Set(ctx, ref.Service, ref.Account, value); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	return nil
}

// Delete removes the keyring item that ref names; ErrNotFound if there is
// none. Other references are ErrReadOnly.
func (r *Resolver) Delete(ctx context.Context, ref Ref) error {
	if err := r.writable(ref); err != nil {
		return err
	}
	r.log().Debug("deleting secret", "ref", ref.String())
	if err := r.store().Delete(ctx, ref.Service, ref.Account); err != nil {
		return fmt.Errorf("%s: %w", ref, err)
	}
	return nil
}

func (r *Resolver) writable(ref Ref) error {
	switch {
	case ref.Kind.IsKeyring():
		return nil
	case ref.Kind == Env || ref.Kind == File || ref.Kind == Cmd:
		return fmt.Errorf("%s: %w: the secret comes from %s; change it there", ref, ErrReadOnly, ref.where())
	}
	return fmt.Errorf("%w: invalid kind", ErrBadRef)
}

func (r *Resolver) store() Store {
	if r.Store == nil {
		return OS(DefaultTimeout)
	}
	return r.Store
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func (r *Resolver) log() *slog.Logger {
	if r.Log == nil {
		return discard
	}
	return r.Log
}
