package keyring

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// maxSecretSize bounds what a file or command may hand us: secrets are a
// password or a TOTP seed, and an accidental `file:/var/log/syslog` must not
// be slurped into memory.
const maxSecretSize = 64 << 10

// readPrivateFile returns the trimmed content of a regular file that only its
// owner may read or write. The mode is checked on the opened file, not the
// path, so a symlink is judged by its target and a swap between check and
// read is impossible.
func readPrivateFile(path string) (string, error) {
	// O_NONBLOCK: opening a FIFO must not hang; it is refused below.
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%w: no such file", ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("cannot open: %w", unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("cannot stat: %w", unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: not a regular file", ErrBadRef)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%w: mode %04o lets group or others access it; run: chmod 600 %s", ErrInsecureFile, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	defer clear(b)
	if err != nil {
		return "", fmt.Errorf("cannot read: %w", unwrapPath(err))
	}
	if len(b) > maxSecretSize {
		return "", fmt.Errorf("%w: larger than %d bytes, not a secret", ErrBadRef, maxSecretSize)
	}
	return strings.TrimSpace(string(b)), nil
}

// unwrapPath drops the *PathError's "open /path:" prefix: the caller's
// message already names the file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
