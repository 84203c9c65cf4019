// Package config reads hpc-auth's TOML configuration file.
//
// The file is the user's contract (see the spec's section 3): unknown keys are
// errors that name the key and its line, because a misspelt `min_validty`
// silently falling back to a default is exactly the kind of surprise that
// breaks an unattended AiiDA daemon at 3 a.m.
package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// ErrConfig classifies every configuration problem (exit 78).
var ErrConfig = errors.New("configuration problem")

// ErrNoConfig: the config file does not exist.
var ErrNoConfig = errors.New("no config file")

// Error is a configuration problem tied to a key and, when known, its line.
type Error struct {
	Path string // config file
	Line int    // 1-based; 0 when unknown
	Key  string // dotted key, e.g. profiles.daint.min_validity
	Msg  string
}

func (e *Error) Error() string {
	loc := e.Path
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.Path, e.Line)
	}
	if e.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Key, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

func (e *Error) Unwrap() error { return ErrConfig }

// Defaults from the spec's section 3.
const (
	DefaultMinValidity = "1h"
	DefaultGrace       = 10 * time.Minute
	DefaultTimeout     = 2 * time.Minute
	DefaultCooldown    = 15 * time.Minute
)

// Config is a parsed configuration file.
type Config struct {
	Path           string
	DefaultProfile string
	Profiles       map[string]*Profile
}

// Names returns the profile names in sorted order.
func (c *Config) Names() []string {
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Profile is one cluster's settings, with defaults applied and paths expanded.
type Profile struct {
	Name          string
	Provider      string
	Username      string // empty: the login name (the engine looks it up)
	Key           string
	Certificate   string
	MinValidity   quick.Threshold
	Grace         time.Duration
	Timeout       time.Duration
	Cooldown      time.Duration
	Password      string // secret reference
	TOTP          string // secret reference
	URL           string
	CAFile        string
	Agent         bool
	MaxPerDay     int
	CertAuthority string

	// script and command providers
	Command       []string
	AnswerAfter   time.Duration
	Dialog        []DialogStep
	NeedsTerminal bool

	// lbnl-msm
	Lifetime time.Duration

	// generic http provider
	Request          map[string]string
	CertificateField string
	PrivateKeyField  string
}

// DialogStep is one [[profiles.X.dialog]] entry.
type DialogStep struct {
	Expect   string
	Send     string
	Optional bool
	Enter    bool // press Enter after Send (default true)
}

// DefaultPath returns where the config file lives when neither --config nor
// HPC_AUTH_CONFIG says otherwise.
func DefaultPath(getenv func(string) string) (string, error) {
	if x := getenv("XDG_CONFIG_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "hpc-auth", "config.toml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%w: cannot find the home directory: %v", ErrConfig, err)
		}
		home = h
	}
	return filepath.Join(home, ".config", "hpc-auth", "config.toml"), nil
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoConfig, path)
	}
	if err != nil {
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	return Parse(path, data, os.Getenv)
}

// ExpandHome replaces a leading ~ with home.
func ExpandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(home, p[2:])
	}
	return p
}

// ErrNoProfile: no profile could be chosen.
var ErrNoProfile = fmt.Errorf("%w: no profile chosen", ErrConfig)

// Choose picks the profile, first match wins (the spec's section 2): the
// --profile flag, the HPC_AUTH_PROFILE variable, the name the binary was run
// as (hpc-auth-NAME, a launcher made for AiiDA, which passes no arguments),
// default_profile, the only profile.
func (c *Config) Choose(flag, env, argv0 string) (*Profile, error) {
	name, from := flag, "--profile"
	if name == "" {
		name, from = env, "HPC_AUTH_PROFILE"
	}
	if name == "" {
		base := filepath.Base(argv0)
		if n, ok := strings.CutPrefix(base, "hpc-auth-"); ok && n != "" && n != "engine" {
			name, from = n, "the launcher name "+base
		}
	}
	if name == "" && c.DefaultProfile != "" {
		name, from = c.DefaultProfile, "default_profile"
	}
	if name == "" {
		names := c.Names()
		switch len(names) {
		case 1:
			return c.Profiles[names[0]], nil
		case 0:
			return nil, fmt.Errorf("%w: %s has no profiles", ErrNoProfile, c.Path)
		default:
			return nil, fmt.Errorf("%w: %s has %d profiles (%s) and no default_profile; choose one with -p NAME", ErrNoProfile, c.Path, len(names), strings.Join(names, ", "))
		}
	}
	p, ok := c.Profiles[name]
	if !ok {
		return nil, fmt.Errorf("%w: profile %q (from %s) is not in %s; profiles: %s", ErrNoProfile, name, from, c.Path, strings.Join(c.Names(), ", "))
	}
	return p, nil
}
