package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/lock"
	"github.com/hpc-auth/hpc-auth/provider"
	"github.com/hpc-auth/hpc-auth/totp"
)

// Exit statuses, from the spec's section 7 (BSD sysexits where one fits).
const (
	exitOK          = 0
	exitNeedsRenew  = 1  // status: the certificate needs renewal
	exitUsage       = 64 // bad command line
	exitBadAnswer   = 65 // the key service answered with something unusable
	exitUnavailable = 69 // the key service could not be reached, timed out, failed
	exitInternal    = 70
	exitCantWrite   = 73 // the key or certificate could not be written
	exitTempFail    = 75 // lock not obtained in time, or retry deferred
	exitRejected    = 77 // authentication rejected, or cooldown after one
	exitConfig      = 78 // bad config, missing secret, keyring unavailable, no terminal
)

// classify is the one place that turns errors into an exit status and the
// way out that the user reads on the one stderr line. now formats retry
// times; profile names the profile in commands the user can copy.
func classify(err error, profile string, now time.Time) (code int, hint string) {
	p := "hpc-auth"
	if profile != "" {
		p = "hpc-auth -p " + profile
	}
	var (
		rej   *engine.RejectedError
		def   *engine.DeferredError
		cfgE  *config.Error
		usage *usageError
	)
	switch {
	case errors.As(err, &usage):
		return exitUsage, "run 'hpc-auth --help' for usage"
	case errors.As(err, &rej):
		h := fmt.Sprintf("no automatic retry before %s; fix the secret, then run: %s refresh --force", when(rej.RetryNotBefore, now), p)
		if errors.Is(err, engine.ErrCooldown) {
			h = fmt.Sprintf("no automatic retry before %s; if the secret is fixed, run: %s refresh --force", when(rej.RetryNotBefore, now), p)
		}
		return exitRejected, h
	case errors.Is(err, provider.ErrRejected):
		return exitRejected, fmt.Sprintf("fix the secret, then run: %s refresh --force", p)
	case errors.As(err, &def):
		return exitTempFail, fmt.Sprintf("next renewal allowed at %s; raise max_per_day only if the centre allows it", when(def.NotBefore, now))
	case errors.Is(err, lock.ErrTimeout):
		return exitTempFail, "another renewal holds the lock; try again later, or raise timeout"
	case errors.As(err, &cfgE), errors.Is(err, config.ErrConfig):
		return exitConfig, "fix the config file (see the README)"
	case errors.Is(err, config.ErrNoConfig):
		return exitConfig, "create it (see the README's quick start) or point --config / HPC_AUTH_CONFIG at it"
	case errors.Is(err, keyring.ErrUnavailable), errors.Is(err, keyring.ErrLocked):
		// The keyring's own message says why and what to do on this
		// platform; the hint is how to check the fix.
		return exitConfig, fmt.Sprintf("then check with: %s secret check", p)
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrEmpty):
		return exitConfig, fmt.Sprintf("store it with: %s secret set password (or totp)", p)
	case errors.Is(err, keyring.ErrInsecureFile):
		return exitConfig, "make the file private: chmod 600 FILE"
	case errors.Is(err, keyring.ErrReadOnly):
		return exitConfig, "change the secret where the reference points, or use a keyring reference"
	case errors.Is(err, keyring.ErrBadRef), errors.Is(err, keyring.ErrCommand):
		return exitConfig, "fix the secret reference in the config (keyring, keyring:SERVICE/ACCOUNT, env:NAME, file:PATH, cmd:COMMAND)"
	case errors.Is(err, totp.ErrBadSecret), errors.Is(err, totp.ErrBadURI):
		return exitConfig, fmt.Sprintf("store a valid TOTP secret: %s secret set totp", p)
	case errors.Is(err, provider.ErrNeedsTerminal):
		return exitConfig, fmt.Sprintf("run it once in a terminal: %s refresh --force", p)
	case errors.Is(err, provider.ErrConfig):
		return exitConfig, "fix the profile's provider settings (see the README)"
	case errors.Is(err, provider.ErrBadAnswer), errors.Is(err, engine.ErrNoCertificate):
		return exitBadAnswer, "installed files left untouched; check url and cert_authority, or ask the centre"
	case errors.Is(err, provider.ErrUnavailable):
		return exitUnavailable, fmt.Sprintf("try again later: %s refresh", p)
	case errors.Is(err, context.DeadlineExceeded):
		return exitTempFail, "the renewal ran out of time; try again, or raise timeout"
	case errors.Is(err, cert.ErrWrite), errors.Is(err, engine.ErrStateDir):
		return exitCantWrite, "check that the directory exists and is writable by you"
	case errors.Is(err, cert.ErrAuthority), errors.Is(err, cert.ErrThreshold):
		return exitConfig, "fix the config file (see the README)"
	case errors.Is(err, cert.ErrKey):
		return exitConfig, "the private key cannot be read: check key (an encrypted key needs its .pub beside it)"
	}
	return exitInternal, "this is a bug in hpc-auth: please report it, with the output of -v"
}

// fail prints the one stderr line for err and returns its exit status.
func (c *cli) fail(profile string, err error) int {
	code, hint := classify(err, profile, time.Now())
	c.errorLine(profile, err.Error(), hint)
	return code
}

func (c *cli) errorLine(profile, cause, hint string) {
	line := "hpc-auth: "
	if profile != "" {
		line += profile + ": "
	}
	line += oneLine(cause)
	if hint != "" {
		line += "; " + hint
	}
	fmt.Fprintln(c.stderr, line)
}

func (c *cli) warn(profile, msg string) {
	if c.quiet {
		return
	}
	fmt.Fprintf(c.stderr, "hpc-auth: warning: %s: %s\n", profile, oneLine(msg))
}

// oneLine makes s fit on one valid-UTF-8 line: AiiDA decodes our output
// strictly, and a stray byte would turn our clear message into a Python
// UnicodeDecodeError.
func oneLine(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
