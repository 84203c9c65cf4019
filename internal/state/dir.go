package state

import (
	"errors"
	"os"
	"path/filepath"
)

// DefaultDir resolves the state directory: HPC_AUTH_STATE_DIR, else
// $XDG_STATE_HOME/hpc-auth, else ~/.local/state/hpc-auth. Never /tmp: a
// world-writable directory would let another user squat the lock file.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("HPC_AUTH_STATE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if x := getenv("XDG_STATE_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "hpc-auth"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("cannot find the home directory for the state directory; set HPC_AUTH_STATE_DIR")
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "hpc-auth"), nil
}
