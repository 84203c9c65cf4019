package cert

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// Pending reports whether an interrupted Install left staged files, so that
// the fast path can divert to the locked slow path, which calls Repair. It
// costs one or two lstat calls.
func Pending(keyPath, certPath string) bool {
	// A staged .pub or key never exists without a staged certificate (see
	// Install); the key is looked at too in case someone removed files by hand.
	return quick.Pending(keyPath, certPath)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Repair finishes or rolls back an Install that was interrupted (by a
// crash, kill -9, power loss) and removes every staged file. The caller
// must hold the profile's lock. It is cheap (three lstat calls) when
// nothing is pending, and reports whether it changed anything.
//
// With Install's invariants:
//   - a staged key means the commit never began: every staged file is
//     removed and the old pair stays;
//   - otherwise the key in place is authoritative: a staged .pub or
//     certificate for that key (read from the private key itself, since the
//     .pub may be the stale one) belongs to the interrupted install and is
//     renamed into place; anything else staged is removed.
//
// Repair itself may be interrupted anywhere and run again.
func Repair(keyPath, certPath string) (changed bool, err error) {
	f := pathsOf(keyPath, certPath)
	hasKey, hasPub, hasCert := exists(f.sKey), exists(f.sPub), exists(f.sCert)
	if !hasKey && !hasPub && !hasCert {
		return false, nil
	}

	if hasKey {
		// Roll back, in the order that keeps the invariants.
		for _, p := range []string{f.sKey, f.sPub, f.sCert} {
			if err := remove(p); err != nil {
				return true, err
			}
			hook("rollback-removed")
		}
		return true, syncDirs(f)
	}

	pub, keyErr := installedKey(f)
	var pathErr *fs.PathError
	if keyErr != nil && errors.As(keyErr, &pathErr) {
		// The key is there but could not be read: deciding now could throw
		// away the certificate that belongs to it. Leave all for next time.
		return false, fmt.Errorf("%w: %w", ErrWrite, keyErr)
	}
	if hasPub {
		if err := settle(f.sPub, f.pub, "pub", keyErr == nil && stagedPubMatches(f.sPub, pub)); err != nil {
			return true, err
		}
	}
	if hasCert {
		if err := settle(f.sCert, f.cert, "cert", keyErr == nil && stagedCertMatches(f.sCert, pub)); err != nil {
			return true, err
		}
	}
	return true, syncDirs(f)
}

// installedKey is the public key of the private key in place. Only when
// that key cannot be read without a passphrase (it then cannot be new: an
// install writes unencrypted keys) and no .pub is staged, the .pub is used.
func installedKey(f files) (ssh.PublicKey, error) {
	pub, err := privatePublicKey(f.key)
	if err != nil && errors.Is(err, ErrKey) && !exists(f.sPub) {
		return PublicKey(f.key)
	}
	return pub, err
}

// settle renames a staged file into place when ok, and removes it otherwise.
func settle(staged, final, name string, ok bool) error {
	if !ok {
		if err := remove(staged); err != nil {
			return err
		}
		hook("removed-" + name)
		return nil
	}
	if err := os.Rename(staged, final); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	hook("rolled-forward-" + name)
	return nil
}

func stagedPubMatches(path string, pub ssh.PublicKey) bool {
	data, ok := readRegular(path)
	if !ok {
		return false
	}
	p, err := parsePublicKey(data)
	return err == nil && SameKey(p, pub)
}

func stagedCertMatches(path string, pub ssh.PublicKey) bool {
	data, ok := readRegular(path)
	if !ok {
		return false
	}
	c, err := Parse(data)
	return err == nil && SameKey(c.Key, pub)
}

// readRegular reads a staged file, refusing anything but a regular file:
// Install made it with O_EXCL, so a symlink there is not ours.
func readRegular(path string) ([]byte, bool) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false
	}
	data, err := readSmall(path)
	return data, err == nil
}

func remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

func syncDirs(f files) error {
	for _, d := range uniq(filepath.Dir(f.key), filepath.Dir(f.cert)) {
		if err := syncDir(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: %w", ErrWrite, err)
		}
	}
	return nil
}
