package main

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hpc-auth/hpc-auth/internal/cli"
)

// TestMain lets testscript run this test binary as hpc-auth, as the
// launcher names the scripts use (the profile comes from argv[0]) and as
// hpc-auth-engine, which hpc-auth execs beside itself.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"hpc-auth":        main,
		"hpc-auth-daint":  main,
		"hpc-auth-other":  main,
		"hpc-auth-engine": cli.Main,
	})
}

// TestScripts drives the binary through every command and exit status; see
// testdata/*.txtar. Each script gets a fresh HOME with a test CA ($CA) and
// a user key ($HOME/.ssh/id) made by the real ssh-keygen.
func TestScripts(t *testing.T) {
	for _, tool := range []string{"ssh-keygen", "flock"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: run make test (scripts/install-test-deps.sh)", tool)
		}
	}
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup:               scriptSetup,
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"exitcode": cmdExitcode},
	})
}

// cmdExitcode runs a program and checks its exact exit status:
//
//	exitcode 77 hpc-auth refresh
//
// The spec's exit statuses are a contract; `! exec` only says "non-zero".
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N program [args...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("exitcode: %v", err)
	}
	err = ts.Exec(args[1], args[2:]...)
	got := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}

func scriptSetup(env *testscript.Env) error {
	work := env.WorkDir
	env.Setenv("HOME", work)
	// Under -race every exit sleeps a second by default; these processes
	// are short-lived and many.
	env.Setenv("GORACE", "atexit_sleep_ms=0")
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(work, ".config"))
	env.Setenv("STATE", filepath.Join(work, ".local", "state", "hpc-auth"))
	u, err := user.Current()
	if err != nil {
		return err
	}
	env.Setenv("USER", u.Username)
	ssh := filepath.Join(work, ".ssh")
	if err := os.MkdirAll(ssh, 0o700); err != nil {
		return err
	}
	for _, k := range []string{filepath.Join(work, "ca"), filepath.Join(work, "otherca"), filepath.Join(ssh, "id")} {
		out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", k).CombinedOutput()
		if err != nil {
			return err
		}
		_ = out
	}
	env.Setenv("CA", filepath.Join(work, "ca"))
	env.Setenv("OTHERCA", filepath.Join(work, "otherca"))
	// Keep the tests away from any real session bus or agent.
	env.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(work, "no-bus"))
	env.Setenv("XDG_RUNTIME_DIR", filepath.Join(work, "run"))
	return nil
}
