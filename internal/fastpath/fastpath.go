// Package fastpath answers, before anything heavy is loaded, the question
// AiiDA asks before nearly every SSH connection: is the certificate still
// valid for at least min_validity? It is all that the hpc-auth binary runs
// when the answer is yes; otherwise hpc-auth execs hpc-auth-engine, the full
// command line, which re-reads everything and decides.
//
// The split exists because a Go program pays at start-up for every package
// it links: the engine links TLS, D-Bus, a pty library and
// golang.org/x/crypto/ssh, and would take several times as long as a Go
// program that does nothing just to say "still valid". This package links
// only the config parser and cert/quick.
//
// Anything unusual (a flag other than the ones below, a config error, a
// profile it cannot choose) is "not fresh": the engine then reports it.
package fastpath

import (
	"strings"
	"time"

	"github.com/hpc-auth/hpc-auth/cert/quick"
	"github.com/hpc-auth/hpc-auth/internal/config"
)

// Argv0Env carries the name the user ran (a launcher hpc-auth-NAME picks
// the profile) from the hpc-auth binary to hpc-auth-engine, which it execs
// under its own name.
const Argv0Env = "HPC_AUTH_ARGV0"

// EngineName is the full command line's binary, installed beside hpc-auth.
const EngineName = "hpc-auth-engine"

// Fresh reports whether `hpc-auth ARGS` is a refresh whose certificate is
// fresh, so that the process may exit 0 at once. argv is the whole command
// line, argv[0] included.
func Fresh(argv []string, getenv func(string) string, now time.Time) bool {
	if len(argv) == 0 {
		return false
	}
	var profile, cfgPath, minValidity string
	sawCommand := false
	args := argv[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if a != "refresh" || sawCommand {
				return false
			}
			sawCommand = true
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "---") {
			return false
		}
		switch name {
		case "q", "quiet":
			if hasValue {
				return false
			}
			continue
		case "p", "profile", "c", "config", "min-validity":
		default:
			return false // --force, -v, --all, --help, ...: the engine's business
		}
		if !hasValue {
			if i+1 >= len(args) {
				return false
			}
			i++
			value = args[i]
		}
		switch name {
		case "p", "profile":
			profile = value
		case "c", "config":
			cfgPath = value
		default:
			minValidity = value
		}
	}
	if cfgPath == "" {
		cfgPath = getenv("HPC_AUTH_CONFIG")
	}
	if cfgPath == "" {
		p, err := config.DefaultPath(getenv)
		if err != nil {
			return false
		}
		cfgPath = p
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return false
	}
	p, err := cfg.Choose(profile, getenv("HPC_AUTH_PROFILE"), argv[0])
	if err != nil {
		return false
	}
	min := p.MinValidity
	if minValidity != "" {
		if min, err = quick.ParseThreshold(minValidity); err != nil {
			return false
		}
	}
	return quick.Check(p.Key, p.Certificate, p.CertAuthority, min, now)
}
