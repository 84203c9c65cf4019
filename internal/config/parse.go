package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// rawConfig mirrors the file; values are strings where the file says
// durations, so that a bad value can be reported with its key and line.
type rawConfig struct {
	DefaultProfile string                 `toml:"default_profile"`
	Profiles       map[string]*rawProfile `toml:"profiles"`
}

type rawProfile struct {
	Provider      string  `toml:"provider"`
	Username      string  `toml:"username"`
	Key           string  `toml:"key"`
	Certificate   string  `toml:"certificate"`
	MinValidity   *string `toml:"min_validity"`
	Grace         *string `toml:"grace"`
	Timeout       *string `toml:"timeout"`
	Password      *string `toml:"password"`
	TOTP          *string `toml:"totp"`
	URL           string  `toml:"url"`
	CAFile        string  `toml:"ca_file"`
	Agent         bool    `toml:"agent"`
	MaxPerDay     *int    `toml:"max_per_day"`
	Cooldown      *string `toml:"cooldown"`
	CertAuthority string  `toml:"cert_authority"`

	Command       []string        `toml:"command"`
	AnswerAfter   *string         `toml:"answer_after"`
	Dialog        []rawDialogStep `toml:"dialog"`
	NeedsTerminal bool            `toml:"needs_terminal"`

	Lifetime *string `toml:"lifetime"`

	Request          map[string]string `toml:"request"`
	CertificateField string            `toml:"certificate_field"`
	PrivateKeyField  string            `toml:"private_key_field"`
}

type rawDialogStep struct {
	Expect   string `toml:"expect"`
	Send     string `toml:"send"`
	Optional bool   `toml:"optional"`
	Enter    *bool  `toml:"enter"`
}

// Providers lists the provider names the config accepts, with their preset
// daily renewal limit (max_per_day default).
var Providers = map[string]int{
	"script":      0,
	"command":     0,
	"http":        0,
	"cscs-legacy": 5,
	"nersc":       0,
	"lbnl-msm":    0,
}

// validName: letters, digits, '.', '_' and '-', starting with a letter or
// digit, so that hpc-auth-NAME is a plain file name and a plain sh word.
func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		case i > 0 && (r == '.' || r == '_' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// Parse parses and validates a config file's content. getenv supplies HOME
// and the login name fallbacks.
func Parse(path string, data []byte, getenv func(string) string) (*Config, error) {
	var raw rawConfig
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return nil, decodeError(path, data, err)
	}
	bad := func(key, format string, args ...any) error {
		return &Error{Path: path, Line: keyLines(data)[key], Key: key, Msg: fmt.Sprintf(format, args...)}
	}
	home := getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	c := &Config{Path: path, DefaultProfile: raw.DefaultProfile, Profiles: map[string]*Profile{}}
	for name, rp := range raw.Profiles {
		k := "profiles." + name + "."
		if !validName(name) {
			return nil, bad("profiles."+name, "profile names use letters, digits, '.', '_' and '-' and start with a letter or digit")
		}
		if name == "engine" {
			return nil, bad("profiles."+name, "the name \"engine\" is reserved: hpc-auth-engine is hpc-auth's own second binary, not a launcher")
		}
		if rp == nil {
			rp = &rawProfile{}
		}
		p := &Profile{
			Name: name, Provider: rp.Provider, Username: rp.Username,
			URL: rp.URL, Agent: rp.Agent, CertAuthority: rp.CertAuthority,
			NeedsTerminal: rp.NeedsTerminal, Request: rp.Request,
			CertificateField: rp.CertificateField, PrivateKeyField: rp.PrivateKeyField,
		}
		preset, ok := Providers[p.Provider]
		switch {
		case p.Provider == "":
			return nil, bad(k+"provider", "missing; one of script, command, http, cscs-legacy, nersc, lbnl-msm")
		case !ok:
			return nil, bad(k+"provider", "unknown provider %q; one of script, command, http, cscs-legacy, nersc, lbnl-msm", p.Provider)
		}
		if rp.Key == "" {
			return nil, bad(k+"key", "missing: the path of the private key, e.g. \"~/.ssh/cscs-key\"")
		}
		p.Key = absPath(ExpandHome(rp.Key, home), path)
		p.Certificate = p.Key + "-cert.pub"
		if rp.Certificate != "" {
			p.Certificate = absPath(ExpandHome(rp.Certificate, home), path)
		}
		if rp.CAFile != "" {
			p.CAFile = absPath(ExpandHome(rp.CAFile, home), path)
		}
		if p.CertAuthority != "" && !strings.HasPrefix(p.CertAuthority, "SHA256:") {
			p.CertAuthority = absPath(ExpandHome(p.CertAuthority, home), path)
		}
		mv := DefaultMinValidity
		if rp.MinValidity != nil {
			mv = *rp.MinValidity
		}
		th, err := quick.ParseThreshold(mv)
		if err != nil {
			return nil, bad(k+"min_validity", "%q is not a duration (\"1h\") or a percentage (\"25%%\")", mv)
		}
		p.MinValidity = th
		durs := []struct {
			key string
			raw *string
			dst *time.Duration
			def time.Duration
			min time.Duration
		}{
			{"grace", rp.Grace, &p.Grace, DefaultGrace, 0},
			{"timeout", rp.Timeout, &p.Timeout, DefaultTimeout, time.Second},
			{"cooldown", rp.Cooldown, &p.Cooldown, DefaultCooldown, 0},
			{"answer_after", rp.AnswerAfter, &p.AnswerAfter, 0, 0},
			{"lifetime", rp.Lifetime, &p.Lifetime, 0, 0},
		}
		for _, d := range durs {
			*d.dst = d.def
			if d.raw == nil {
				continue
			}
			v, err := time.ParseDuration(*d.raw)
			if err != nil {
				return nil, bad(k+d.key, "%q is not a duration like \"90s\" or \"1h30m\"", *d.raw)
			}
			if v < d.min {
				return nil, bad(k+d.key, "%q is too short (at least %v)", *d.raw, d.min)
			}
			*d.dst = v
		}
		p.Password, p.TOTP = "keyring", "keyring"
		if rp.Password != nil {
			p.Password = *rp.Password
		}
		if rp.TOTP != nil {
			p.TOTP = *rp.TOTP
		}
		p.MaxPerDay = preset
		if rp.MaxPerDay != nil {
			if *rp.MaxPerDay < 0 {
				return nil, bad(k+"max_per_day", "must be 0 (no limit) or more")
			}
			p.MaxPerDay = *rp.MaxPerDay
		}
		p.Command = rp.Command
		switch p.Provider {
		case "script", "command":
			if len(p.Command) == 0 || p.Command[0] == "" {
				return nil, bad(k+"command", "missing: the %s provider needs command = [\"program\", \"args\"...]", p.Provider)
			}
			p.Command[0] = ExpandHome(p.Command[0], home)
		default:
			if len(p.Command) > 0 {
				return nil, bad(k+"command", "only the script and command providers run a command")
			}
		}
		for i, d := range rp.Dialog {
			dk := fmt.Sprintf("%sdialog.%d.", k, i)
			if p.Provider != "script" {
				return nil, bad(k+"dialog", "only the script provider has a dialog")
			}
			if d.Expect == "" {
				return nil, bad(dk+"expect", "missing: a regular expression for the prompt")
			}
			if _, err := regexp.Compile(d.Expect); err != nil {
				return nil, bad(dk+"expect", "not a valid Go regular expression: %v", err)
			}
			step := DialogStep{Expect: d.Expect, Send: d.Send, Optional: d.Optional, Enter: true}
			if d.Enter != nil {
				step.Enter = *d.Enter
			}
			p.Dialog = append(p.Dialog, step)
		}
		if p.Provider == "http" {
			if p.URL == "" {
				return nil, bad(k+"url", "missing: the http provider needs the key service's URL")
			}
		}
		c.Profiles[name] = p
	}
	if c.DefaultProfile != "" {
		if _, ok := c.Profiles[c.DefaultProfile]; !ok {
			return nil, bad("default_profile", "names profile %q, which is not in the file", c.DefaultProfile)
		}
	}
	return c, nil
}

func absPath(p, configPath string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	// A relative path is relative to the config file, not to wherever AiiDA
	// happens to run us from.
	return filepath.Join(filepath.Dir(configPath), p)
}

func decodeError(path string, data []byte, err error) error {
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		e := sm.Errors[0]
		row, _ := e.Position()
		key := strings.Join(e.Key(), ".")
		return &Error{Path: path, Line: row, Key: key, Msg: "unknown key (see the README for the keys of each provider)"}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		row, _ := de.Position()
		key := strings.Join(de.Key(), ".")
		return &Error{Path: path, Line: row, Key: key, Msg: de.Error()}
	}
	return &Error{Path: path, Msg: err.Error()}
}

// The line scanner's patterns, compiled only when an error needs a line
// number: the fast path parses the config on every run.
var lineRes = sync.OnceValue(func() [3]*regexp.Regexp {
	return [3]*regexp.Regexp{
		regexp.MustCompile(`^\s*\[\s*([^\[\]]+?)\s*\]`),
		regexp.MustCompile(`^\s*\[\[\s*([^\[\]]+?)\s*\]\]`),
		regexp.MustCompile(`^\s*([A-Za-z0-9_.\-"' ]+?)\s*=`),
	}
})

// keyLines maps dotted keys (array tables indexed: profiles.x.dialog.0.expect)
// to the line they are set on. It is a line scanner, not a TOML parser: the
// file has already been parsed; this only finds where a key stands.
func keyLines(data []byte) map[string]int {
	res := lineRes()
	tableRe, arrayRe, keyRe := res[0], res[1], res[2]
	lines := map[string]int{}
	prefix := ""
	counts := map[string]int{}
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		if m := arrayRe.FindStringSubmatch(line); m != nil {
			t := unquoteKey(m[1])
			idx := counts[t]
			counts[t]++
			prefix = fmt.Sprintf("%s.%d", t, idx)
			lines[t] = n
			lines[prefix] = n
			continue
		}
		if m := tableRe.FindStringSubmatch(line); m != nil {
			prefix = unquoteKey(m[1])
			lines[prefix] = n
			continue
		}
		if m := keyRe.FindStringSubmatch(line); m != nil {
			k := unquoteKey(m[1])
			if prefix != "" {
				k = prefix + "." + k
			}
			if _, seen := lines[k]; !seen {
				lines[k] = n
			}
		}
	}
	return lines
}

func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}
