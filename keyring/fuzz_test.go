package keyring

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// canary stands for a secret that a user pasted into the reference; no
// error may ever repeat it, wherever it appears in the input.
const canary = "Canary7SecretQ"

func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"", "keyring", "keyring:hpc/jdoe", "keyring:hpc-auth/daint/totp", "keyring:",
		"env:HPC_TOTP_SECRET", "env:1x", "file:/etc/hpc/totp", "file:~/pw", "file:rel",
		"cmd:pass show hpc/totp", `cmd:op read "op://a b/c"`, "cmd:sh -c 'a | b'", "cmd:a | b",
		`cmd:echo "unterminated`, "cmd:echo \\", "vault:x", "hunter2", "keyring:a/b\x00",
	} {
		f.Add(s, "totp")
	}
	f.Fuzz(func(t *testing.T, s, kind string) {
		check(t, s, kind)
		mid := len(s) / 2
		check(t, s[:mid]+canary+s[mid:], kind)
		check(t, s+canary, kind)
	})
}

func check(t *testing.T, s, kind string) {
	r, err := ParseRef(s, "daint", kind)
	if err != nil {
		if !errors.Is(err, ErrBadRef) {
			t.Fatalf("ParseRef(%q) = %v, not ErrBadRef", s, err)
		}
		if strings.Contains(err.Error(), canary) {
			t.Fatalf("ParseRef(%q): error repeats the input: %v", s, err)
		}
		if kind == "password" || kind == "totp" {
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error is not UTF-8: %q", err)
			}
		}
		return
	}
	switch r.Kind {
	case KeyringDefault, KeyringItem:
		if r.Service == "" || r.Account == "" || strings.Contains(r.Service, "/") {
			t.Fatalf("ParseRef(%q) = %#v", s, r)
		}
	case Env:
		if !validEnvName(r.Name) {
			t.Fatalf("ParseRef(%q): bad name %q", s, r.Name)
		}
	case File:
		if !filepath.IsAbs(r.Path) || filepath.Clean(r.Path) != r.Path {
			t.Fatalf("ParseRef(%q): bad path %q", s, r.Path)
		}
	case Cmd:
		if len(r.Argv) == 0 {
			t.Fatalf("ParseRef(%q): no argv", s)
		}
	default:
		t.Fatalf("ParseRef(%q): kind %v", s, r.Kind)
	}
	if r.Kind == Cmd && r.String() != "cmd:"+r.Argv[0] {
		t.Fatalf("String() = %q, want the command name only", r.String())
	}
}
