package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

var home = env(map[string]string{"HOME": "/home/u", "USER": "u"})

func TestDefaults(t *testing.T) {
	c, err := Parse("/etc/c.toml", []byte(`
[profiles.daint]
provider = "cscs-legacy"
key = "~/.ssh/cscs-key"
`), home)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Profiles["daint"]
	if p.Key != "/home/u/.ssh/cscs-key" || p.Certificate != "/home/u/.ssh/cscs-key-cert.pub" {
		t.Errorf("paths: %q %q", p.Key, p.Certificate)
	}
	if p.MinValidity.Duration != time.Hour || p.Grace != DefaultGrace || p.Timeout != DefaultTimeout || p.Cooldown != DefaultCooldown {
		t.Errorf("durations: %+v", p)
	}
	if p.Password != "keyring" || p.TOTP != "keyring" {
		t.Errorf("secret refs: %q %q", p.Password, p.TOTP)
	}
	if p.MaxPerDay != 5 {
		t.Errorf("cscs-legacy preset max_per_day = %d, want 5", p.MaxPerDay)
	}
}

func TestAllKeys(t *testing.T) {
	c, err := Parse("/etc/c.toml", []byte(`
default_profile = "s"
[profiles.s]
provider = "script"
username = "jdoe"
key = "rel/key"
certificate = "~/c.pub"
min_validity = "25%"
grace = "5m"
timeout = "90s"
password = "env:HPC_PASSWORD"
totp = "file:~/.totp"
ca_file = "/etc/ca.pem"
agent = true
max_per_day = 0
cooldown = "1h"
cert_authority = "SHA256:abc"
command = ["~/get_keys.sh", "--user", "{username}"]
answer_after = "100ms"
[[profiles.s.dialog]]
expect = '(?i)username.*:'
send = "{username}"
[[profiles.s.dialog]]
expect = '\[y/n\]'
send = "n"
enter = false
optional = true
[profiles.h]
provider = "http"
key = "/k"
url = "https://keys.example.org/sign"
request = { user = "{username}", pass = "{password}", code = "{otp}" }
certificate_field = "data.cert"
private_key_field = "data.key"
[profiles.l]
provider = "lbnl-msm"
key = "/k"
lifetime = "12h"
`), home)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Profiles["s"]
	if s.Key != "/etc/rel/key" {
		t.Errorf("relative key resolves against the config's directory: %q", s.Key)
	}
	if s.MinValidity.Percent != 25 || s.Grace != 5*time.Minute || s.Timeout != 90*time.Second || s.Cooldown != time.Hour {
		t.Errorf("values: %+v", s)
	}
	if s.Command[0] != "/home/u/get_keys.sh" || len(s.Dialog) != 2 || s.Dialog[1].Enter || !s.Dialog[0].Enter || !s.Dialog[1].Optional {
		t.Errorf("script settings: %+v", s)
	}
	if h := c.Profiles["h"]; h.Request["pass"] != "{password}" || h.PrivateKeyField != "data.key" {
		t.Errorf("http settings: %+v", h)
	}
	if c.Profiles["l"].Lifetime != 12*time.Hour {
		t.Error("lifetime")
	}
}

func TestErrorsNameKeyAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"unknown key", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\nmin_validty = \"1h\"\n", "c.toml:4: profiles.a.min_validty: unknown key"},
		{"unknown top key", "defaultprofile = \"a\"\n", "c.toml:1: defaultprofile: unknown key"},
		{"bad duration", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\n\ngrace = \"soon\"\n", "c.toml:5: profiles.a.grace: \"soon\" is not a duration"},
		{"bad percent", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\nmin_validity = \"101%\"\n", "c.toml:4: profiles.a.min_validity"},
		{"timeout too short", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\ntimeout = \"1ms\"\n", "c.toml:4: profiles.a.timeout: \"1ms\" is too short"},
		{"unknown provider", "[profiles.a]\nprovider = \"x\"\nkey = \"/k\"\n", "c.toml:2: profiles.a.provider: unknown provider"},
		{"missing provider", "[profiles.a]\nkey = \"/k\"\n", "profiles.a.provider: missing"},
		{"script without command", "[profiles.a]\nprovider = \"script\"\nkey = \"/k\"\n", "profiles.a.command: missing"},
		{"bad regexp", "[profiles.a]\nprovider = \"script\"\nkey = \"/k\"\ncommand = [\"x\"]\n[[profiles.a.dialog]]\nexpect = \"(\"\n", "c.toml:6: profiles.a.dialog.0.expect: not a valid Go regular expression"},
		{"wrong type", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\nagent = \"yes\"\n", "c.toml:4"},
		{"bad default", "default_profile = \"b\"\n[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\n", "c.toml:1: default_profile: names profile \"b\""},
		{"reserved name", "[profiles.engine]\nprovider = \"nersc\"\nkey = \"/k\"\n", "c.toml:1: profiles.engine: the name \"engine\" is reserved"},
		{"syntax", "[profiles.a\n", "c.toml:1"},
		{"negative quota", "[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\nmax_per_day = -1\n", "c.toml:4: profiles.a.max_per_day"},
		{"http without url", "[profiles.a]\nprovider = \"http\"\nkey = \"/k\"\n", "profiles.a.url: missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/etc/c.toml", []byte(tc.in), home)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrConfig) {
				t.Errorf("%v does not wrap ErrConfig", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultPath(t *testing.T) {
	p, _ := DefaultPath(env(map[string]string{"HOME": "/h"}))
	if p != "/h/.config/hpc-auth/config.toml" {
		t.Error(p)
	}
	p, _ = DefaultPath(env(map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}))
	if p != "/x/hpc-auth/config.toml" {
		t.Error(p)
	}
}

// FuzzParse: the config file is outside input; no content may panic, and
// every error must classify as a configuration problem.
func FuzzParse(f *testing.F) {
	f.Add([]byte("[profiles.a]\nprovider = \"nersc\"\nkey = \"/k\"\n"))
	f.Add([]byte("default_profile = \"a\"\n[profiles.a]\nprovider = \"script\"\nkey = \"~/k\"\ncommand = [\"x\"]\n[[profiles.a.dialog]]\nexpect = \"a\"\n"))
	f.Add([]byte("[profiles.\"a b\"]\nmin_validity = \"25%\"\n"))
	f.Add([]byte("x = [1, {a = 2}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/c.toml", data, home)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
			return
		}
		for _, p := range c.Profiles {
			if p.Key == "" || p.Certificate == "" || p.Timeout <= 0 {
				t.Fatalf("accepted profile without key or timeout: %+v", p)
			}
		}
	})
}
