// Package engine is the refresh flow: the fast offline check, the locked
// re-check, the renewal through a provider, the checks on what came back and
// the crash-consistent install, with the bookkeeping (quota, cooldown, grace)
// that keeps an unattended daemon from locking the user's account.
package engine

import (
	"errors"
	"log/slog"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/state"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/provider"
)

// Sentinels of the engine's own refusals.
var (
	// ErrCooldown: an earlier authentication rejection forbids automatic
	// retries until retry_not_before (exit 77; --force overrides).
	ErrCooldown = errors.New("refused because of an earlier authentication rejection")
	// ErrQuota: max_per_day renewals already happened in the last 24 h; the
	// renewal is deferred (exit 75).
	ErrQuota = errors.New("daily renewal limit reached")
	// ErrNoCertificate: the provider claimed success but left no usable files.
	ErrNoCertificate = errors.New("no certificate after renewal")
)

// Engine runs refreshes. The zero value is not usable; fill every field.
type Engine struct {
	Now      func() time.Time
	State    state.Store
	Log      *slog.Logger
	Terminal bool // a human is at a terminal (stdin is a tty)

	// Secrets resolves secret references; tests may swap the store.
	Secrets *keyring.Resolver

	// NewProvider builds the profile's provider; nil means Build.
	NewProvider func(p *config.Profile, e *Engine) (provider.Provider, error)
}

// Options of one refresh.
type Options struct {
	Force       bool
	MinValidity *cert.Threshold // overrides the profile's min_validity
}

// Outcome says what a successful (exit 0) refresh did.
type Outcome struct {
	Action  Action
	Warning error         // set when a renewal failed within grace
	Left    time.Duration // validity left on the certificate now in place
}

// Action is what refresh did.
type Action int

const (
	StillValid     Action = iota // fast path: nothing to do
	RenewedByOther               // another process renewed while we waited
	OtherRenewing                // a renewal is running and ours is still valid
	Renewed
	GraceWarning // renewal failed; the current certificate has at least grace left
)

func (a Action) String() string {
	return [...]string{"still valid", "renewed by another process", "renewal in progress elsewhere; current certificate still valid", "renewed", "renewal failed within grace"}[a]
}
