package keyring

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// DefaultService is the keyring service of the plain `keyring` reference.
const DefaultService = "hpc-auth"

// Kind says where a secret lives.
type Kind int

// The zero Kind is invalid, so that a zero Ref is never mistaken for the
// default keyring item.
const (
	KeyringDefault Kind = iota + 1 // `keyring`: service hpc-auth, account PROFILE/KIND
	KeyringItem                    // `keyring:SERVICE/ACCOUNT`
	Env                            // `env:NAME`
	File                           // `file:PATH`
	Cmd                            // `cmd:COMMAND ARGS...`
)

func (k Kind) String() string {
	switch k {
	case KeyringDefault:
		return "keyring"
	case KeyringItem:
		return "keyring item"
	case Env:
		return "env"
	case File:
		return "file"
	case Cmd:
		return "cmd"
	}
	return "invalid"
}

// IsKeyring reports whether the reference names an OS keyring item, the only
// kind that hpc-auth can set and delete.
func (k Kind) IsKeyring() bool { return k == KeyringDefault || k == KeyringItem }

// Ref is a parsed secret reference. Only the fields of its Kind are set.
type Ref struct {
	Kind    Kind
	Service string   // KeyringDefault, KeyringItem
	Account string   // KeyringDefault, KeyringItem
	Name    string   // Env
	Path    string   // File: absolute, ~ expanded
	Argv    []string // Cmd: the command and its arguments, split without a shell
}

// ParseRef parses a profile's secret reference. secretKind is "password" or
// "totp"; with profile it names the default keyring account. An empty
// reference means "keyring".
//
// Errors wrap ErrBadRef and never quote the reference: a user who pasted the
// secret itself into the config must not see it echoed into a log.
func ParseRef(s, profile, secretKind string) (Ref, error) {
	if secretKind != "password" && secretKind != "totp" {
		return Ref{}, fmt.Errorf("%w: unknown secret kind %q (want password or totp)", ErrBadRef, secretKind)
	}
	s = strings.TrimSpace(s)
	scheme, rest, hasColon := strings.Cut(s, ":")
	if !hasColon {
		scheme, rest = s, ""
	}
	bad := func(format string, a ...any) (Ref, error) {
		return Ref{}, fmt.Errorf("%w for %s: %s", ErrBadRef, secretKind, fmt.Sprintf(format, a...))
	}
	if strings.ContainsFunc(s, isControl) {
		return bad("contains control characters")
	}
	switch {
	case s == "" || s == "keyring":
		if profile == "" {
			return bad("the default keyring item needs a profile name")
		}
		return Ref{Kind: KeyringDefault, Service: DefaultService, Account: profile + "/" + secretKind}, nil

	case scheme == "keyring" && hasColon:
		// The service cannot contain a slash, the account can: that keeps
		// the default item expressible as keyring:hpc-auth/daint/totp.
		service, account, ok := strings.Cut(rest, "/")
		if !ok || service == "" || account == "" {
			return bad("keyring: needs SERVICE/ACCOUNT, e.g. keyring:hpc/jdoe")
		}
		return Ref{Kind: KeyringItem, Service: service, Account: account}, nil

	case scheme == "env" && hasColon:
		if !validEnvName(rest) {
			return bad("env: needs a variable name (letters, digits, _), e.g. env:HPC_PASSWORD")
		}
		return Ref{Kind: Env, Name: rest}, nil

	case scheme == "file" && hasColon:
		p, err := expandPath(rest)
		if err != nil {
			return bad("file: %v", err)
		}
		return Ref{Kind: File, Path: p}, nil

	case scheme == "cmd" && hasColon:
		argv, err := splitWords(rest)
		if err != nil {
			return bad("cmd: %v", err)
		}
		if len(argv) == 0 {
			return bad("cmd: needs a command, e.g. cmd:pass show hpc/totp")
		}
		return Ref{Kind: Cmd, Argv: argv}, nil
	}
	return bad("unknown form; want keyring, keyring:SERVICE/ACCOUNT, env:NAME, file:PATH or cmd:COMMAND ARGS...")
}

// String describes the reference for messages. It never contains a secret
// and, for cmd:, only the command's name (arguments may be sensitive paths or
// item names the user would rather not see in logs).
func (r Ref) String() string {
	switch r.Kind {
	case KeyringDefault, KeyringItem:
		return "keyring item service=" + quoteIfNeeded(r.Service) + " account=" + quoteIfNeeded(r.Account)
	case Env:
		return "env:" + r.Name
	case File:
		return "file:" + r.Path
	case Cmd:
		if len(r.Argv) == 0 {
			return "cmd:"
		}
		return "cmd:" + r.Argv[0]
	}
	return "invalid secret reference"
}

// where says, for ErrReadOnly, where the secret has to be changed instead.
func (r Ref) where() string {
	switch r.Kind {
	case Env:
		return "the environment variable " + r.Name
	case File:
		return "the file " + r.Path
	case Cmd:
		return "the output of the command " + r.String()[len("cmd:"):]
	}
	return r.String()
}

func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsFunc(s, func(c rune) bool { return c == ' ' || c == '"' || c == '\\' || isControl(c) }) {
		return strconv.Quote(s)
	}
	return s
}

func isControl(c rune) bool { return c < 0x20 && c != '\t' || c == 0x7f }

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// userHomeDir is a variable so tests can pin it.
var userHomeDir = os.UserHomeDir

// expandPath expands a leading ~ and insists on an absolute result: AiiDA and
// cron start hpc-auth from arbitrary directories, so a relative path would
// name a different file each time.
func expandPath(p string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := userHomeDir()
		if err != nil || home == "" {
			return "", fmt.Errorf("cannot expand ~: no home directory")
		}
		p = filepath.Join(home, p[1:])
	}
	if p == "" {
		return "", fmt.Errorf("needs a path, e.g. file:~/.config/hpc-auth/totp")
	}
	if !filepath.IsAbs(p) {
		return "", fmt.Errorf("path must be absolute or start with ~/")
	}
	return filepath.Clean(p), nil
}
