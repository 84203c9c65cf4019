package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/totp"
)

func secretCmd() *command {
	return &command{name: "secret", usage: secretUsage, run: runSecret}
}

// maxSecret bounds what --stdin reads: a password or an otpauth URI, not a file.
const maxSecret = 64 << 10

func runSecret(c *cli, args []string) int {
	cmd := secretCmd()
	fs := newFlagSet("secret")
	fromStdin := fs.Bool("stdin", false, "")
	if code := c.parse(cmd, fs, args); code >= 0 {
		return code
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return c.usageFail(&usageError{msg: "secret needs an action: set KIND, delete KIND or check", cmd: "secret"})
	}
	action := rest[0]
	// Flags may follow the action and the kind, as in the usage:
	// `secret set totp --stdin`. The flag package stops at the first
	// argument that is not a flag, so parse again after each one.
	var words []string
	for rest = rest[1:]; ; {
		if err := fs.Parse(rest); err != nil {
			return c.flagError(err, cmd)
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		words, rest = append(words, rest[0]), rest[1:]
	}
	rest = words
	var kind string
	switch action {
	case "set", "delete":
		if len(rest) != 1 || (rest[0] != "password" && rest[0] != "totp") {
			return c.usageFail(&usageError{msg: fmt.Sprintf("secret %s needs KIND: password or totp", action), cmd: "secret"})
		}
		kind = rest[0]
	case "check":
		if len(rest) != 0 {
			return c.usageFail(&usageError{msg: fmt.Sprintf("unexpected argument %q", rest[0]), cmd: "secret"})
		}
	default:
		return c.usageFail(&usageError{msg: fmt.Sprintf("unknown secret action %q (set, delete, check)", action), cmd: "secret"})
	}
	p, err := c.oneProfile()
	if err != nil {
		return c.fail("", err)
	}
	e := c.engine()
	ctx := context.Background()
	switch action {
	case "set":
		return c.secretSet(ctx, e, p, kind, *fromStdin)
	case "delete":
		ref, err := engine.Ref(p, kind)
		if err != nil {
			return c.fail(p.Name, err)
		}
		if err := e.Secrets.Delete(ctx, ref); err != nil {
			return c.fail(p.Name, fmt.Errorf("%s: %w", kind, err))
		}
		if !c.quiet {
			fmt.Fprintf(c.stdout, "deleted the %s of %s from %s\n", kind, p.Name, ref)
		}
		return exitOK
	}
	return c.secretCheck(ctx, e, p)
}

func (c *cli) secretSet(ctx context.Context, e *engine.Engine, p *config.Profile, kind string, fromStdin bool) int {
	ref, err := engine.Ref(p, kind)
	if err != nil {
		return c.fail(p.Name, err)
	}
	if ref.Kind != keyring.KeyringDefault && ref.Kind != keyring.KeyringItem {
		return c.fail(p.Name, fmt.Errorf("%w: the %s comes from %s", keyring.ErrReadOnly, kind, ref))
	}
	var value string
	if fromStdin {
		b, err := io.ReadAll(io.LimitReader(c.stdin, maxSecret+1))
		if err != nil {
			return c.fail(p.Name, err)
		}
		if len(b) > maxSecret {
			return c.fail(p.Name, fmt.Errorf("%w: the value on standard input is longer than %d bytes", keyring.ErrBadRef, maxSecret))
		}
		value = strings.TrimRight(string(b), "\r\n")
	} else {
		fd := int(c.stdin.Fd())
		if !term.IsTerminal(fd) {
			return c.fail(p.Name, fmt.Errorf("%w: no terminal to read the %s from; pipe it with --stdin", errNoTerminal, kind))
		}
		label := map[string]string{"password": "Password", "totp": "TOTP secret (base32 or otpauth:// URI)"}[kind]
		fmt.Fprintf(c.stderr, "%s for %s: ", label, p.Name)
		b, err := term.ReadPassword(fd)
		fmt.Fprintln(c.stderr)
		if err != nil {
			return c.fail(p.Name, err)
		}
		value = strings.TrimSpace(string(b))
	}
	if value == "" {
		return c.fail(p.Name, fmt.Errorf("%w: nothing to store", keyring.ErrEmpty))
	}
	var code string
	var left time.Duration
	if kind == "totp" {
		sec, err := totp.Parse(value)
		if err != nil {
			return c.fail(p.Name, err)
		}
		now := time.Now()
		code = sec.Code(now)
		left = sec.Period - time.Duration(now.UnixNano())%sec.Period
	}
	if err := e.Secrets.Set(ctx, ref, value); err != nil {
		return c.fail(p.Name, fmt.Errorf("storing the %s: %w", kind, err))
	}
	value = ""
	if !c.quiet {
		fmt.Fprintf(c.stdout, "stored the %s of %s in %s\n", kind, p.Name, ref)
		if code != "" {
			fmt.Fprintf(c.stdout, "current code: %s (%ds left); compare it with your authenticator app\n", code, int(left.Seconds()+0.5))
		}
	}
	return exitOK
}

// errNoTerminal: an interactive read was needed but there is no terminal.
var errNoTerminal = fmt.Errorf("%w: no terminal", config.ErrConfig)

// needs reports which secrets the profile's provider will ask for.
func needs(p *config.Profile) []string {
	switch p.Provider {
	case "command":
		return nil
	case "script":
		if len(p.Dialog) == 0 {
			return []string{"password", "totp"}
		}
		var k []string
		var pw, otp bool
		for _, d := range p.Dialog {
			pw = pw || strings.Contains(d.Send, "{password}")
			otp = otp || strings.Contains(d.Send, "{otp}")
		}
		if pw {
			k = append(k, "password")
		}
		if otp {
			k = append(k, "totp")
		}
		return k
	}
	return []string{"password", "totp"}
}

func (c *cli) secretCheck(ctx context.Context, e *engine.Engine, p *config.Profile) int {
	kinds := needs(p)
	if len(kinds) == 0 {
		fmt.Fprintf(c.stdout, "%s: the %s provider needs no stored secret\n", p.Name, p.Provider)
		return exitOK
	}
	worst := exitOK
	var firstErr error
	for _, kind := range kinds {
		ref, err := engine.Ref(p, kind)
		if err != nil {
			fmt.Fprintf(c.stdout, "%-8s unreadable: %s\n", kind, oneLine(err.Error()))
			worst, firstErr = exitConfig, err
			continue
		}
		v, err := e.Secrets.Get(ctx, ref)
		if err == nil && kind == "totp" {
			_, err = totp.Parse(v)
		}
		v = ""
		switch {
		case err == nil:
			fmt.Fprintf(c.stdout, "%-8s present (%s)\n", kind, ref)
			continue
		case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrEmpty):
			fmt.Fprintf(c.stdout, "%-8s missing (%s)\n", kind, ref)
		default:
			fmt.Fprintf(c.stdout, "%-8s unreadable: %s\n", kind, oneLine(err.Error()))
		}
		if firstErr == nil {
			firstErr = fmt.Errorf("%s: %w", kind, err)
		}
		worst = exitConfig
	}
	if firstErr != nil {
		return c.fail(p.Name, firstErr)
	}
	return worst
}
