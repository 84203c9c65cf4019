package keyring

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func pinHome(t *testing.T, home string) {
	t.Helper()
	old := userHomeDir
	userHomeDir = func() (string, error) { return home, nil }
	t.Cleanup(func() { userHomeDir = old })
}

func TestParseRef(t *testing.T) {
	pinHome(t, "/home/jdoe")
	for _, tc := range []struct {
		in, kind string
		want     Ref
		str      string
	}{
		{"", "password", Ref{Kind: KeyringDefault, Service: "hpc-auth", Account: "daint/password"}, "keyring item service=hpc-auth account=daint/password"},
		{"keyring", "totp", Ref{Kind: KeyringDefault, Service: "hpc-auth", Account: "daint/totp"}, "keyring item service=hpc-auth account=daint/totp"},
		{"  keyring\n", "totp", Ref{Kind: KeyringDefault, Service: "hpc-auth", Account: "daint/totp"}, ""},
		{"keyring:hpc/jdoe", "password", Ref{Kind: KeyringItem, Service: "hpc", Account: "jdoe"}, "keyring item service=hpc account=jdoe"},
		{"keyring:hpc-auth/daint/totp", "totp", Ref{Kind: KeyringItem, Service: "hpc-auth", Account: "daint/totp"}, ""},
		{"keyring:my service/j doe", "totp", Ref{Kind: KeyringItem, Service: "my service", Account: "j doe"}, `keyring item service="my service" account="j doe"`},
		{"env:HPC_TOTP_SECRET", "totp", Ref{Kind: Env, Name: "HPC_TOTP_SECRET"}, "env:HPC_TOTP_SECRET"},
		{"env:_x1", "totp", Ref{Kind: Env, Name: "_x1"}, "env:_x1"},
		{"file:/etc/hpc/totp", "totp", Ref{Kind: File, Path: "/etc/hpc/totp"}, "file:/etc/hpc/totp"},
		{"file:~/.config/hpc-auth/pw", "password", Ref{Kind: File, Path: "/home/jdoe/.config/hpc-auth/pw"}, "file:/home/jdoe/.config/hpc-auth/pw"},
		{"file:/a/../b//c", "password", Ref{Kind: File, Path: "/b/c"}, ""},
		{"file:/with space", "password", Ref{Kind: File, Path: "/with space"}, ""},
		{"cmd:pass show hpc/totp", "totp", Ref{Kind: Cmd, Argv: []string{"pass", "show", "hpc/totp"}}, "cmd:pass"},
		{"cmd:  op   read 'op://Private/CSCS/one-time password?attribute=otp'", "totp",
			Ref{Kind: Cmd, Argv: []string{"op", "read", "op://Private/CSCS/one-time password?attribute=otp"}}, "cmd:op"},
		{`cmd:sh -c 'pass show hpc | head -1'`, "password", Ref{Kind: Cmd, Argv: []string{"sh", "-c", "pass show hpc | head -1"}}, "cmd:sh"},
		{`cmd:printf "%s\n" "a \"b\" \$c"`, "password", Ref{Kind: Cmd, Argv: []string{"printf", `%s\n`, `a "b" $c`}}, "cmd:printf"},
		{`cmd:/opt/my\ tool x''y ""`, "password", Ref{Kind: Cmd, Argv: []string{"/opt/my tool", "xy", ""}}, "cmd:/opt/my tool"},
	} {
		got, err := ParseRef(tc.in, "daint", tc.kind)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseRef(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		if tc.str != "" && got.String() != tc.str {
			t.Errorf("ParseRef(%q).String() = %q, want %q", tc.in, got.String(), tc.str)
		}
	}
}

func TestParseRefBad(t *testing.T) {
	pinHome(t, "/home/jdoe")
	for _, tc := range []struct{ in, why string }{
		{"keyring:", "SERVICE/ACCOUNT"},
		{"keyring:hpc", "SERVICE/ACCOUNT"},
		{"keyring:/jdoe", "SERVICE/ACCOUNT"},
		{"keyring:hpc/", "SERVICE/ACCOUNT"},
		{"Keyring", "unknown form"},
		{"keyrings", "unknown form"},
		{"vault:secret/hpc", "unknown form"},
		{"hunter2-my-password", "unknown form"}, // the secret itself pasted in: never echoed
		{"JBSWY3DPEHPK3PXP", "unknown form"},
		{"env:", "variable name"},
		{"env:1ABC", "variable name"},
		{"env:A-B", "variable name"},
		{"env:A B", "variable name"},
		{"file:", "needs a path"},
		{"file:relative/pw", "absolute"},
		{"file:~jdoe/pw", "absolute"},
		{"cmd:", "needs a command"},
		{"cmd:   ", "needs a command"},
		{"cmd:pass show hpc | head -1", "no shell"},
		{"cmd:pass show hpc > /tmp/x", "no shell"},
		{"cmd:pass show hpc; true", "no shell"},
		{"cmd:echo $HOME", "no shell"},
		{`cmd:echo "$HOME"`, "no shell"},
		{"cmd:echo `id`", "no shell"},
		{"cmd:echo 'unterminated", "unterminated single"},
		{`cmd:echo "unterminated`, "unterminated double"},
		{`cmd:echo \`, "trailing backslash"},
		{"keyring:hpc/jd\x00oe", "control"},
		{"env:A\nB", "control"},
	} {
		_, err := ParseRef(tc.in, "daint", "password")
		if !errors.Is(err, ErrBadRef) {
			t.Errorf("ParseRef(%q) = %v, want ErrBadRef", tc.in, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseRef(%q) = %q, want it to mention %q", tc.in, err, tc.why)
		}
		assertNotQuoted(t, err, tc.in)
	}
	// The default item needs a profile; the kind must be known.
	if _, err := ParseRef("keyring", "", "password"); !errors.Is(err, ErrBadRef) {
		t.Errorf("no profile: %v", err)
	}
	if _, err := ParseRef("keyring:hpc/jdoe", "", "password"); err != nil {
		t.Errorf("explicit item without profile: %v", err)
	}
	if _, err := ParseRef("keyring", "daint", "otp"); !errors.Is(err, ErrBadRef) {
		t.Errorf("bad kind: %v", err)
	}
}

// assertNotQuoted fails if an error message contains the part of the
// reference after its scheme (a user may have pasted the secret itself).
func assertNotQuoted(t *testing.T, err error, in string) {
	t.Helper()
	_, rest, ok := strings.Cut(in, ":")
	if !ok {
		rest = in
	}
	if rest = strings.TrimSpace(rest); len(rest) >= 6 && strings.Contains(err.Error(), rest) {
		t.Errorf("error %q quotes the reference", err)
	}
}

func TestRefStringNeverValue(t *testing.T) {
	r := Ref{Kind: Cmd, Argv: []string{"op", "read", "op://vault/item"}}
	if s := r.String(); strings.Contains(s, "read") || s != "cmd:op" {
		t.Errorf("String() = %q, want cmd:op only", s)
	}
	if s := (Ref{}).String(); !strings.Contains(s, "invalid") {
		t.Errorf("zero Ref: %q", s)
	}
}
