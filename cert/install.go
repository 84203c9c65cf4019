package cert

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// Pair is what Install writes.
type Pair struct {
	// PrivateKey is the PEM to write to the key path (mode 0600); nil keeps
	// the existing key (a renewal that signed the existing key).
	PrivateKey []byte
	// PublicKey is the authorized_keys line for the key path + ".pub"
	// (0644). When nil and PrivateKey is set, it is derived from PrivateKey;
	// when both are nil the existing .pub is left alone.
	PublicKey []byte
	// Certificate is the certificate line for the certificate path (0644).
	Certificate []byte
}

// The suffix of staged files. Names are fixed, not random: the caller holds
// the profile's lock, and fixed names let Pending find an interrupted
// install with one lstat.
const stagedSuffix = quick.StagedSuffix

// files are the paths of one installed pair and of its staged replacements.
type files struct {
	key, pub, cert    string
	sKey, sPub, sCert string
}

func pathsOf(keyPath, certPath string) files {
	return files{
		key: keyPath, pub: keyPath + ".pub", cert: certPath,
		sKey: keyPath + stagedSuffix, sPub: keyPath + ".pub" + stagedSuffix, sCert: certPath + stagedSuffix,
	}
}

// testHook, when set by a test, is called at every step of Install and
// Repair. A test panics in it to simulate a crash at that step.
var testHook func(step string)

func hook(step string) {
	if testHook != nil {
		testHook(step)
	}
}

// Install replaces the key and certificate (and the .pub) with p so that a
// crash at any instant leaves either the old pair or the new one once Repair
// has run. It checks only that p.Certificate parses as a user certificate
// for the key that will be installed (p's new key, or the existing one):
// the caller has verified everything else. The caller must hold the
// profile's lock. Errors match ErrWrite when writing failed, ErrKey or one
// of the certificate errors when p is unusable.
//
// The protocol (Repair's doc tells how it is undone or finished):
//
//  1. Repair: finish or roll back an earlier interrupted install.
//  2. Stage, in this order, the certificate, the .pub and the key as
//     "NAME.hpc-auth-new" in the directory of their final name: created with
//     O_EXCL (so never through a symlink), with their final mode from the
//     start (the key is never readable by others, not even briefly),
//     written and fsynced. Then the directories are fsynced.
//  3. Commit by renaming, in this order, key, .pub, certificate into place,
//     fsyncing the directory after each rename.
//
// Invariants, which hold at every instant and make Repair correct:
//   - a staged key exists only before the commit began (step 3 starts with
//     its rename), so a staged key means "roll back";
//   - whenever a staged .pub or key exists, a staged certificate exists (it
//     is staged first and renamed last, and removed last), so Pending needs
//     only to look for the staged certificate (and, to be safe, the key);
//   - once the commit began, the key in place is the new one, so a staged
//     .pub or certificate that matches it belongs to this install.
//
// A key path that is a symbolic link is replaced by a regular file.
func Install(keyPath, certPath string, p Pair) error {
	c, err := Parse(p.Certificate)
	if err != nil {
		return fmt.Errorf("certificate to install: %w", err)
	}
	f := pathsOf(keyPath, certPath)
	// First finish an earlier install, so that the existing key (and the
	// .pub, should it be needed) are a consistent pair again.
	if _, err := Repair(keyPath, certPath); err != nil {
		return err
	}
	hook("repaired")

	var pub ssh.PublicKey
	var keyPEM, pubLine []byte
	switch {
	case p.PrivateKey != nil:
		s, err := ParsePrivateKey(p.PrivateKey)
		if err != nil {
			return fmt.Errorf("private key to install: %w", err)
		}
		pub = s.PublicKey()
		pubLine = ssh.MarshalAuthorizedKey(pub)
		// Write the PEM block alone, re-encoded: no text around it, LF line
		// ends, and the final newline OpenSSH insists on.
		block, _ := pem.Decode(p.PrivateKey)
		if block == nil {
			return fmt.Errorf("private key to install: %w: not PEM", ErrKey)
		}
		keyPEM = pem.EncodeToMemory(block)
	default:
		if pub, err = existingPublicKey(f); err != nil {
			return err
		}
	}
	if p.PublicKey != nil {
		given, err := parsePublicKey(p.PublicKey)
		if err != nil {
			return fmt.Errorf("public key to install: %w", err)
		}
		if !SameKey(given, pub) {
			return fmt.Errorf("public key to install: %w: it is not the private key's", ErrKey)
		}
		pubLine = line(p.PublicKey)
	}
	if !SameKey(c.Key, pub) {
		return fmt.Errorf("certificate to install: %w: it certifies %s, the key is %s",
			ErrWrongKey, ssh.FingerprintSHA256(c.Key), ssh.FingerprintSHA256(pub))
	}

	if err := install(f, keyPEM, pubLine, line(p.Certificate)); err != nil {
		return fmt.Errorf("%w: %w", ErrWrite, err)
	}
	return nil
}

// existingPublicKey is the public key of the installed private key. The key
// itself is authoritative; the .pub is used only when the key cannot be
// parsed without its passphrase.
func existingPublicKey(f files) (ssh.PublicKey, error) {
	pub, err := privatePublicKey(f.key)
	if err == nil || !errors.Is(err, ErrKey) {
		return pub, err
	}
	if pub, err2 := PublicKey(f.key); err2 == nil {
		return pub, nil
	}
	return nil, err
}

// line returns b without surrounding white space, newline-terminated.
func line(b []byte) []byte {
	b = bytes.TrimSpace(b)
	out := make([]byte, 0, len(b)+1)
	return append(append(out, b...), '\n')
}

func install(f files, key, pub, cert []byte) error {
	keyDir, certDir := filepath.Dir(f.key), filepath.Dir(f.cert)
	for _, d := range []string{keyDir, certDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}

	// Stage: certificate first, key last (see the invariants).
	if err := writeStaged(f.sCert, cert, 0o644, "cert"); err != nil {
		return unstage(f, err)
	}
	if pub != nil {
		if err := writeStaged(f.sPub, pub, 0o644, "pub"); err != nil {
			return unstage(f, err)
		}
	}
	if key != nil {
		if err := writeStaged(f.sKey, key, 0o600, "key"); err != nil {
			return unstage(f, err)
		}
	}
	for _, d := range uniq(keyDir, certDir) {
		if err := syncDir(d); err != nil {
			return unstage(f, err)
		}
	}
	hook("staged")

	// Commit: key first, certificate last. From the first rename on, a
	// failure leaves the rest staged for Repair to finish.
	if key != nil {
		if err := commit(f.sKey, f.key, "key"); err != nil {
			return err
		}
	}
	if pub != nil {
		if err := commit(f.sPub, f.pub, "pub"); err != nil {
			return err
		}
	}
	return commit(f.sCert, f.cert, "cert")
}

// writeStaged creates path (which must not exist, and is never followed if
// it is a symlink), writes data and fsyncs it.
func writeStaged(path string, data []byte, mode os.FileMode, name string) error {
	fd, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	defer fd.Close()
	hook("created-" + name)
	// The umask may have narrowed the mode; set it exactly. (It can only
	// have been narrower: the key is never more than 0600.)
	if err := fd.Chmod(mode); err != nil {
		return err
	}
	half := len(data) / 2
	if _, err := fd.Write(data[:half]); err != nil {
		return err
	}
	hook("half-written-" + name)
	if _, err := fd.Write(data[half:]); err != nil {
		return err
	}
	if err := fd.Sync(); err != nil {
		return err
	}
	hook("synced-" + name)
	return fd.Close()
}

// commit renames a staged file into place and makes the rename durable.
func commit(staged, final, name string) error {
	if err := os.Rename(staged, final); err != nil {
		return err
	}
	hook("renamed-" + name)
	return syncDir(filepath.Dir(final))
}

// unstage removes what staging left after err, in the order that keeps the
// invariants (key, .pub, certificate), and returns err.
func unstage(f files, err error) error {
	for _, p := range []string{f.sKey, f.sPub, f.sCert} {
		os.Remove(p) // best effort: Repair removes what is left
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return err
	}
	return d.Close()
}

func uniq(a, b string) []string {
	if a == b {
		return []string{a}
	}
	return []string{a, b}
}
