// Package lock serialises renewals of one profile across processes.
//
// It is a thin layer over flock(2) (github.com/gofrs/flock) with the two
// properties hpc-auth needs: every wait has a deadline (a blocked AiiDA daemon
// worker freezes all its calculations), and a holder that dies — even by
// SIGKILL — releases the lock, because the kernel drops flock locks with the
// last file descriptor. Lock files are never deleted: removing a lock file
// while another process waits on it would let two holders in at once.
package lock

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gofrs/flock"
)

// ErrTimeout: the lock was not obtained before the deadline.
var ErrTimeout = errors.New("lock not obtained in time")

// retryDelay is how often a waiter polls. flock(2) has no timed wait, so a
// blocked Lock() could not be cancelled; polling keeps the deadline exact.
const retryDelay = 25 * time.Millisecond

// Lock is a held exclusive lock.
type Lock struct {
	f *flock.Flock
}

// Acquire waits until it holds the exclusive lock on path, or ctx is done
// (ErrTimeout, wrapping ctx's error). The file is created 0600 if missing;
// its directory must exist.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	f := flock.New(path, flock.SetPermissions(0o600))
	ok, err := f.TryLockContext(ctx, retryDelay)
	if ok {
		return &Lock{f: f}, nil
	}
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("%w: %s", ErrTimeout, path)
	}
	return nil, fmt.Errorf("locking %s: %w", path, err)
}

// TryAcquire takes the lock if it is free right now. It returns (nil, nil)
// when another process holds it.
func TryAcquire(path string) (*Lock, error) {
	f := flock.New(path, flock.SetPermissions(0o600))
	ok, err := f.TryLock()
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	if !ok {
		return nil, nil
	}
	return &Lock{f: f}, nil
}

// Release drops the lock. The lock file stays.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	return l.f.Unlock()
}
