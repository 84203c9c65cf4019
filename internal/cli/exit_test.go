package cli

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/lock"
	"github.com/hpc-auth/hpc-auth/provider"
	"github.com/hpc-auth/hpc-auth/totp"
)

// TestClassify pins the spec's exit statuses for every error class.
func TestClassify(t *testing.T) {
	now := time.Now()
	wrap := func(err error) error { return fmt.Errorf("context: %w", err) }
	for _, tc := range []struct {
		err  error
		code int
	}{
		{&usageError{msg: "x"}, 64},
		{wrap(provider.ErrBadAnswer), 65},
		{wrap(engine.ErrNoCertificate), 65},
		{wrap(provider.ErrUnavailable), 69},
		{errors.New("surprise"), 70},
		{wrap(cert.ErrWrite), 73},
		{wrap(engine.ErrStateDir), 73},
		{wrap(lock.ErrTimeout), 75},
		{&engine.DeferredError{Err: engine.ErrQuota, NotBefore: now}, 75},
		{wrap(context.DeadlineExceeded), 75},
		{&engine.RejectedError{Err: provider.ErrRejected, RetryNotBefore: now}, 77},
		{&engine.RejectedError{Err: engine.ErrCooldown, RetryNotBefore: now}, 77},
		{wrap(provider.ErrRejected), 77},
		{&config.Error{Path: "c", Key: "k", Msg: "m"}, 78},
		{wrap(config.ErrNoConfig), 78},
		{wrap(config.ErrNoProfile), 78},
		{wrap(keyring.ErrUnavailable), 78},
		{wrap(keyring.ErrLocked), 78},
		{wrap(keyring.ErrNotFound), 78},
		{wrap(keyring.ErrInsecureFile), 78},
		{wrap(keyring.ErrReadOnly), 78},
		{wrap(totp.ErrBadSecret), 78},
		{wrap(provider.ErrNeedsTerminal), 78},
		{wrap(provider.ErrConfig), 78},
		{wrap(cert.ErrKey), 78},
	} {
		if code, hint := classify(tc.err, "daint", now); code != tc.code || hint == "" {
			t.Errorf("classify(%v) = %d %q, want %d with a hint", tc.err, code, hint, tc.code)
		}
	}
}
