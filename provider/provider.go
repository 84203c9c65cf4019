// Package provider obtains fresh SSH credentials from an HPC centre.
//
// A Provider is one way of talking to a centre: driving its interactive
// script under a pseudo-terminal, calling its key service over HTTPS, or
// running a command that installs the key by itself. The engine asks a
// provider for credentials only after it has decided that a renewal is due
// and has taken the profile's lock; the provider never touches the installed
// files itself (except the command provider, whose command does), so that
// whatever comes back can be checked before it replaces a working pair.
package provider

import (
	"context"
	"log/slog"
)

// Provider renews the credentials of one profile.
//
// Renew must honour ctx: when its deadline passes it returns promptly, and
// any child process it started has been killed (with its process group).
// Errors wrap one of the sentinels in errors.go so that the command line can
// map them to an exit code and a hint.
type Provider interface {
	Renew(ctx context.Context, req *Request) (*Result, error)
}

// Request is what a provider may know about the profile it renews.
type Request struct {
	Profile     string // profile name, for messages
	Username    string // login name at the centre
	Key         string // path of the private key (absolute, ~ expanded)
	Certificate string // path of the certificate (absolute, ~ expanded)

	// PublicKey is the authorized_keys line of the existing key, when the
	// provider may sign an existing key instead of receiving a new pair.
	// Empty when no key exists yet.
	PublicKey []byte

	// Secrets hands out the password and one-time codes on demand. A
	// provider asks only for what it really sends, at the moment it sends it,
	// so that a one-time code is as fresh as possible.
	Secrets Secrets

	// Terminal reports whether a human is at a terminal (stdin is a tty),
	// for providers that can only work interactively.
	Terminal bool

	// Log receives debug detail; never secrets. Never nil.
	Log *slog.Logger
}

// Result is what a provider obtained.
//
// Installed is true when the provider's own command has already written the
// key and certificate to the profile's paths; the engine then re-reads and
// checks the files on disk. Otherwise Certificate (and PrivateKey, when the
// service generated a new key pair) are checked and installed by the engine.
type Result struct {
	PrivateKey  []byte // PEM (OpenSSH or PKCS#1/8); nil when the existing key was signed
	Certificate []byte // one authorized_keys-format certificate line
	Installed   bool
}

// Secrets gives a provider the user's secrets, read from wherever the
// profile's secret references point.
type Secrets interface {
	// Password returns the password. It is read once and cached for the run.
	Password(ctx context.Context) (string, error)
	// OTP returns a one-time code from a time step that has never been sent
	// for this TOTP secret before, waiting for the next step if needed
	// (within ctx's deadline). Every call returns a new code.
	OTP(ctx context.Context) (string, error)
}
