package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/internal/fastpath"
)

func aiidaCmd() *command {
	return &command{name: "aiida", usage: aiidaUsage, run: runAiida}
}

func runAiida(c *cli, args []string) int {
	fs := newFlagSet("aiida")
	dir := fs.String("launcher-dir", "", "")
	if code := c.parse(aiidaCmd(), fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageFail(&usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), cmd: "aiida"})
	}
	p, err := c.oneProfile()
	if err != nil {
		return c.fail("", err)
	}
	home := c.getenv("HOME")
	if *dir == "" {
		*dir = filepath.Join(home, ".local", "bin")
	}
	*dir = config.ExpandHome(*dir, home)
	launchDir, err := filepath.Abs(*dir)
	if err != nil {
		return c.fail(p.Name, err)
	}
	self, err := os.Executable()
	if err == nil {
		self, err = filepath.EvalSymlinks(self)
	}
	if err == nil && filepath.Base(self) == fastpath.EngineName {
		// The launcher must point at hpc-auth, whose fast path it needs,
		// not at the engine.
		self = filepath.Join(filepath.Dir(self), "hpc-auth")
		_, err = os.Stat(self)
	}
	if err != nil {
		return c.fail(p.Name, fmt.Errorf("cannot find the hpc-auth binary: %w", err))
	}
	launcher := filepath.Join(launchDir, "hpc-auth-"+p.Name)
	if err := makeLauncher(launcher, self); err != nil {
		return c.fail(p.Name, fmt.Errorf("%w: making the launcher: %v", errCantWrite, err))
	}
	w := c.stdout
	fmt.Fprintf(w, "launcher: %s -> %s\n", launcher, self)
	if strings.ContainsAny(launcher, " \t\n'\"\\$`;&|<>()*?[]#~") {
		c.warn(p.Name, "the launcher path contains characters that /bin/sh would interpret; AiiDA runs it through sh -c, so choose a plain --launcher-dir")
	}
	fmt.Fprintf(w, "authentication_script: %s\n", launcher)
	fmt.Fprintf(w, "\nAnswers for: verdi computer configure core.ssh_async COMPUTER\n")
	fmt.Fprintf(w, "  Host as in 'ssh <HOST>':                          the Host entry below\n")
	fmt.Fprintf(w, "  Maximum number of concurrent I/O operations:     8\n")
	fmt.Fprintf(w, "  Local script to run before opening connection:   %s\n", launcher)
	fmt.Fprintf(w, "  Type of async backend to use:                    asyncssh\n")
	fmt.Fprintf(w, "\nOr non-interactively:\n  verdi computer configure core.ssh_async COMPUTER --non-interactive --authentication-script %s\n", launcher)
	fmt.Fprintf(w, "\nIn ~/.ssh/config (replace HOST with the cluster's login node):\n")
	fmt.Fprintf(w, "  Host HOST\n    User %s\n    IdentityFile %s\n    CertificateFile %s\n    IdentitiesOnly yes\n", engine.Username(p), p.Key, p.Certificate)
	return exitOK
}

// errCantWrite classifies launcher failures with the key-writing ones (73).
var errCantWrite = cert.ErrWrite

// makeLauncher points launcher at target with a symbolic link, replacing
// an older link atomically; it refuses to replace anything but a link.
func makeLauncher(launcher, target string) error {
	if err := os.MkdirAll(filepath.Dir(launcher), 0o755); err != nil {
		return err
	}
	if fi, err := os.Lstat(launcher); err == nil && fi.Mode()&os.ModeSymlink == 0 {
		return fmt.Errorf("%s exists and is not a symbolic link; remove it first", launcher)
	}
	tmp := launcher + ".hpc-auth-tmp"
	os.Remove(tmp)
	if err := os.Symlink(target, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, launcher); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
