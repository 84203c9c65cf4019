package provider

import (
	"errors"
	"fmt"
)

// Sentinels that classify why a renewal failed. The command line maps each to
// an exit status (see the spec's section 7); providers wrap them with %w and
// add the detail.
var (
	// ErrRejected: the centre refused the credentials (wrong password or
	// code, locked account, quota). Never retried automatically.
	ErrRejected = errors.New("authentication rejected")
	// ErrUnavailable: the service could not be reached, timed out or failed
	// (5xx). Retrying later may work.
	ErrUnavailable = errors.New("key service unavailable")
	// ErrBadAnswer: the service answered, but not with a usable key pair.
	ErrBadAnswer = errors.New("unusable answer from key service")
	// ErrNeedsTerminal: the provider can only run with a human at a terminal.
	ErrNeedsTerminal = errors.New("interactive login needed but no terminal")
	// ErrConfig: the profile's provider settings are wrong.
	ErrConfig = errors.New("provider misconfigured")
)

// ServiceError carries the key service's own words, so that the one stderr
// line can quote them. Message must already be trimmed and free of secrets.
type ServiceError struct {
	Service string // host name or script name, e.g. "sshservice.cscs.ch"
	Status  int    // HTTP status or script exit status; 0 when not known
	Message string // the service's message, trimmed
	Err     error  // one of the sentinels above
}

func (e *ServiceError) Error() string {
	var s string
	switch {
	case e.Message != "" && e.Status != 0:
		s = fmt.Sprintf("%s: %v (%d: %s)", e.Service, e.Err, e.Status, e.Message)
	case e.Message != "":
		s = fmt.Sprintf("%s: %v (%s)", e.Service, e.Err, e.Message)
	case e.Status != 0:
		s = fmt.Sprintf("%s: %v (status %d)", e.Service, e.Err, e.Status)
	default:
		s = fmt.Sprintf("%s: %v", e.Service, e.Err)
	}
	return s
}

func (e *ServiceError) Unwrap() error { return e.Err }
