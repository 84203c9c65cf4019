package keyring

import "errors"

// Sentinels classify why a secret could not be read or written. Errors from
// this package wrap exactly one of them (plus, for timeouts and
// cancellations, the context's error), so the command line can map them to
// an exit status with errors.Is. Messages never contain a secret.
var (
	// ErrNotFound: the keyring has no such item, or the variable is unset, or
	// the file does not exist.
	ErrNotFound = errors.New("secret not found")
	// ErrUnavailable: the OS keyring cannot be reached: no D-Bus session
	// bus, no Secret Service on it, or no answer before the deadline.
	ErrUnavailable = errors.New("OS keyring unavailable")
	// ErrLocked: the keyring collection is locked and could not be unlocked
	// without a prompt.
	ErrLocked = errors.New("OS keyring locked")
	// ErrInsecureFile: a file: reference names a file that group or others
	// may read or write.
	ErrInsecureFile = errors.New("secret file is not private")
	// ErrCommand: a cmd: reference failed to run, failed, or timed out.
	ErrCommand = errors.New("secret command failed")
	// ErrBadRef: the secret reference is malformed.
	ErrBadRef = errors.New("bad secret reference")
	// ErrEmpty: the secret was found but is empty (after trimming).
	ErrEmpty = errors.New("secret is empty")
	// ErrReadOnly: only keyring references can be set or deleted; env:,
	// file: and cmd: secrets are managed where they live.
	ErrReadOnly = errors.New("secret reference is read-only")
)
