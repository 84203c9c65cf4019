// Package state keeps what hpc-auth remembers between runs of one profile:
// when it last renewed, why it last failed, how many renewals the last 24
// hours saw (for max_per_day), and until when an authentication rejection
// forbids automatic retries (cooldown). Losing it is never fatal: a corrupt
// file is reported and replaced, because refusing to run over a broken
// bookkeeping file would stop the very daemon the tool exists to keep alive.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ErrCorrupt: the state file could not be decoded; a fresh state was used.
var ErrCorrupt = errors.New("state file corrupt")

// Window is the span over which max_per_day counts renewals.
const Window = 24 * time.Hour

// State of one profile. Times are UTC.
type State struct {
	LastRenewal    *time.Time  `json:"last_renewal"`
	LastError      string      `json:"last_error"`
	LastErrorAt    *time.Time  `json:"last_error_at"`
	Failures       int         `json:"failures"`
	Renewals       []time.Time `json:"renewals"`
	RetryNotBefore *time.Time  `json:"retry_not_before"`
}

// RenewalsSince counts the renewals in the Window before now.
func (s *State) RenewalsSince(now time.Time) int {
	n := 0
	for _, t := range s.Renewals {
		if now.Sub(t) < Window {
			n++
		}
	}
	return n
}

// NextAllowed returns when the oldest renewal of the window leaves it, that is
// when one more renewal fits under max.
func (s *State) NextAllowed(now time.Time, max int) time.Time {
	var in []time.Time
	for _, t := range s.Renewals {
		if now.Sub(t) < Window {
			in = append(in, t)
		}
	}
	if max <= 0 || len(in) < max {
		return now
	}
	return in[len(in)-max].Add(Window)
}

// Succeeded records a renewal at now and clears the failure bookkeeping.
func (s *State) Succeeded(now time.Time) {
	now = now.UTC()
	s.LastRenewal = &now
	s.LastError = ""
	s.LastErrorAt = nil
	s.Failures = 0
	s.RetryNotBefore = nil
	s.Renewals = append(s.prune(now), now)
}

// Failed records a failed renewal. retryNotBefore is zero unless the failure
// forbids automatic retries.
func (s *State) Failed(now time.Time, msg string, retryNotBefore time.Time) {
	now = now.UTC()
	s.LastError = msg
	s.LastErrorAt = &now
	s.Failures++
	s.Renewals = s.prune(now)
	if !retryNotBefore.IsZero() {
		r := retryNotBefore.UTC()
		s.RetryNotBefore = &r
	}
}

func (s *State) prune(now time.Time) []time.Time {
	var keep []time.Time
	for _, t := range s.Renewals {
		if now.Sub(t) < Window {
			keep = append(keep, t)
		}
	}
	return keep
}

// Store reads and writes state files in one directory.
type Store struct {
	Dir string
}

// Path of a profile's state file.
func (s Store) Path(profile string) string {
	return filepath.Join(s.Dir, profile+".state.json")
}

// LockPath of a profile's lock file.
func (s Store) LockPath(profile string) string {
	return filepath.Join(s.Dir, profile+".lock")
}

// EnsureDir creates the state directory 0700 (and tightens an existing one).
func (s Store) EnsureDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(s.Dir)
	if err != nil {
		return err
	}
	if fi.Mode().Perm() != 0o700 {
		return os.Chmod(s.Dir, 0o700)
	}
	return nil
}

// Load returns the profile's state. A missing file is an empty state; a
// corrupt one gives an empty state and an error wrapping ErrCorrupt.
func (s Store) Load(profile string) (*State, error) {
	st := &State{}
	data, err := os.ReadFile(s.Path(profile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(data, st); err != nil {
		return &State{}, fmt.Errorf("%w: %s: %v", ErrCorrupt, s.Path(profile), err)
	}
	return st, nil
}

// Save writes the state atomically (temp file, fsync, rename), mode 0600.
func (s Store) Save(profile string, st *State) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(s.Path(profile), append(data, '\n'), 0o600)
}

// WriteFileAtomic replaces path with data so that readers see the old or the
// new content, never a torn write.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
