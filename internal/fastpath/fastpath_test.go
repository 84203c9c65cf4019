package fastpath

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestFresh: the fast path says yes only for a plain refresh of a profile
// whose certificate is fresh; everything else goes to the engine.
func TestFresh(t *testing.T) {
	dir := t.TempDir()
	for _, k := range []string{"ca", "id"} {
		if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", filepath.Join(dir, k)).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v %s", err, out)
		}
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-s", filepath.Join(dir, "ca"), "-I", "t", "-n", "u", "-V", "-1m:+2h", filepath.Join(dir, "id.pub")).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen -s: %v %s", err, out)
	}
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(`
default_profile = "a"
[profiles.a]
provider = "command"
command = ["true"]
key = "`+filepath.Join(dir, "id")+`"
[profiles.b]
provider = "command"
command = ["true"]
key = "`+filepath.Join(dir, "id")+`"
min_validity = "3h"
`), 0o600)
	env := map[string]string{"HPC_AUTH_CONFIG": cfg, "HOME": dir}
	getenv := func(k string) string { return env[k] }
	now := time.Now()
	for _, tc := range []struct {
		argv []string
		want bool
	}{
		{[]string{"hpc-auth"}, true},
		{[]string{"hpc-auth", "refresh"}, true},
		{[]string{"hpc-auth", "-q"}, true},
		{[]string{"hpc-auth", "-p", "a", "refresh", "--quiet"}, true},
		{[]string{"hpc-auth", "--profile=a"}, true},
		{[]string{"hpc-auth", "-c", cfg}, true},
		{[]string{"hpc-auth", "--min-validity", "1h"}, true},
		{[]string{"hpc-auth", "--min-validity", "3h"}, false},
		{[]string{"hpc-auth", "--min-validity", "banana"}, false},
		{[]string{"hpc-auth", "-p", "b"}, false},
		{[]string{"/x/hpc-auth-b"}, false},
		{[]string{"/x/hpc-auth-a"}, true},
		{[]string{"/x/hpc-auth-nope"}, false},
		{[]string{"hpc-auth", "-p", "nope"}, false},
		{[]string{"hpc-auth", "-p"}, false},
		{[]string{"hpc-auth", "--force"}, false},
		{[]string{"hpc-auth", "-v"}, false},
		{[]string{"hpc-auth", "--all"}, false},
		{[]string{"hpc-auth", "--help"}, false},
		{[]string{"hpc-auth", "status"}, false},
		{[]string{"hpc-auth", "refresh", "refresh"}, false},
		{[]string{"hpc-auth", "-q=false"}, false},
		{[]string{"hpc-auth", "-c", filepath.Join(dir, "missing.toml")}, false},
		{[]string{}, false},
	} {
		if got := Fresh(tc.argv, getenv, now); got != tc.want {
			t.Errorf("Fresh(%q) = %v, want %v", tc.argv, got, tc.want)
		}
	}
	env["HPC_AUTH_PROFILE"] = "b"
	if Fresh([]string{"hpc-auth"}, getenv, now) {
		t.Error("HPC_AUTH_PROFILE=b (min_validity 3h) must not be fresh")
	}
	if !Fresh([]string{"hpc-auth", "-p", "a"}, getenv, now) {
		t.Error("-p beats HPC_AUTH_PROFILE")
	}
	delete(env, "HPC_AUTH_PROFILE")
	if Fresh([]string{"hpc-auth"}, getenv, now.Add(3*time.Hour)) {
		t.Error("an expired certificate is not fresh")
	}
	// A config error anywhere in the file is the engine's to report.
	os.WriteFile(cfg, []byte("[profiles.a]\nprovider = \"command\"\ncommand = [\"true\"]\nkey = \""+filepath.Join(dir, "id")+"\"\n[profiles.b]\nbogus = 1\n"), 0o600)
	if Fresh([]string{"hpc-auth", "-p", "a"}, getenv, now) {
		t.Error("a config with an unknown key must go to the engine")
	}
}

// FuzzFresh: arbitrary command lines never panic.
func FuzzFresh(f *testing.F) {
	f.Add("refresh\x00-p\x00a")
	f.Add("--min-validity=25%\x00-q")
	f.Fuzz(func(t *testing.T, s string) {
		argv := append([]string{"hpc-auth"}, splitNUL(s)...)
		Fresh(argv, func(k string) string { return map[string]string{"HOME": "/nonexistent"}[k] }, time.Now())
	})
}

func splitNUL(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
