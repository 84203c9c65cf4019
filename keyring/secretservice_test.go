//go:build unix

package keyring

// Integration tests against a real Secret Service (gnome-keyring on a private
// D-Bus session bus, see keyringtest). The scenarios run in a child test
// process inside the session: go-keyring keeps one D-Bus connection per
// process, so each scenario gets a fresh process and environment.
//
// Needs: dbus-run-session, gdbus, gnome-keyring-daemon, secret-tool; a
// missing one fails the test with the install command (keyringtest.Install).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/keyring/keyringtest"
)

const childScenario = "HPC_AUTH_KEYRING_SCENARIO"

func TestSecretService(t *testing.T) {
	env := keyringtest.Session(t)
	var noAddr []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "DBUS_SESSION_BUS_ADDRESS=") {
			noAddr = append(noAddr, kv)
		}
	}
	// Order matters: "locked" locks the collection for good.
	t.Run("basic", func(t *testing.T) { runScenario(t, "basic", env) })
	t.Run("xdg-runtime-dir-bus", func(t *testing.T) { runScenario(t, "xdg", noAddr) })
	t.Run("locked", func(t *testing.T) { runScenario(t, "locked", env) })
	t.Run("no-secret-service", func(t *testing.T) { runScenario(t, "nosvc", keyringtest.BusOnly(t)) })
}

func runScenario(t *testing.T, name string, env []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestSecretServiceChild$", "-test.count=1", "-test.v", "-test.timeout=1m")
	cmd.Env = append(keyringtest.Environ(env), childScenario+"="+name, noRaceExitSleep())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestSecretServiceChild") {
		t.Fatalf("scenario %s failed: %v\n%s", name, err, out)
	}
}

// TestSecretServiceChild is the part of TestSecretService that runs inside
// the session; on its own it does nothing.
func TestSecretServiceChild(t *testing.T) {
	scenario := os.Getenv(childScenario)
	if scenario == "" {
		return
	}
	env := []string{"DBUS_SESSION_BUS_ADDRESS=" + os.Getenv("DBUS_SESSION_BUS_ADDRESS")} // for secret-tool; "" in the xdg scenario
	ctx := context.Background()
	r := &Resolver{Store: OS(10 * time.Second)}
	def := mustRef(t, "keyring", "password")
	switch scenario {
	case "basic":
		// hpc-auth's own item, as secret-tool sees it.
		if err := r.Set(ctx, def, "pw-daint-1"); err != nil {
			t.Fatal(err)
		}
		if v, ok := keyringtest.Lookup(t, env, "hpc-auth", "daint/password"); !ok || v != "pw-daint-1" {
			t.Fatalf("secret-tool lookup of our item: found=%v, value matches=%v", ok, v == "pw-daint-1")
		}
		if v, err := r.Get(ctx, def); err != nil || v != "pw-daint-1" {
			t.Fatalf("Get: matches=%v err=%v", v == "pw-daint-1", err)
		}
		// An item made the way the AiiDA docs say, read by reference.
		keyringtest.Store(t, env, "hpc", "jdoe", "pw-jdoe-from-secret-tool")
		aiida := mustRef(t, "keyring:hpc/jdoe", "password")
		if v, err := r.Get(ctx, aiida); err != nil || v != "pw-jdoe-from-secret-tool" {
			t.Fatalf("Get(keyring:hpc/jdoe): matches=%v err=%v", v == "pw-jdoe-from-secret-tool", err)
		}
		// Setting it replaces that very item.
		if err := r.Set(ctx, aiida, "pw-jdoe-2"); err != nil {
			t.Fatal(err)
		}
		if v, ok := keyringtest.Lookup(t, env, "hpc", "jdoe"); !ok || v != "pw-jdoe-2" {
			t.Fatalf("secret-tool after Set: found=%v matches=%v", ok, v == "pw-jdoe-2")
		}
		// Delete.
		if err := r.Delete(ctx, def); err != nil {
			t.Fatal(err)
		}
		if _, ok := keyringtest.Lookup(t, env, "hpc-auth", "daint/password"); ok {
			t.Fatal("secret-tool still finds the deleted item")
		}
		if _, err := r.Get(ctx, def); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get after Delete: %v", err)
		}
		if err := r.Delete(ctx, def); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Delete after Delete: %v", err)
		}
		if _, err := r.Get(ctx, mustRef(t, "keyring:no-such-service/nobody", "totp")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get of a missing item: %v", err)
		}

	case "xdg":
		// No DBUS_SESSION_BUS_ADDRESS: the bus is found at $XDG_RUNTIME_DIR/bus.
		if err := r.Set(ctx, def, "pw-xdg"); err != nil {
			t.Fatal(err)
		}
		if v, err := r.Get(ctx, def); err != nil || v != "pw-xdg" {
			t.Fatalf("Get: matches=%v err=%v", v == "pw-xdg", err)
		}
		want := "unix:path=" + filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "bus")
		if got := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); got != want {
			t.Fatalf("DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, want)
		}

	case "locked":
		if err := r.Set(ctx, def, "pw-before-lock"); err != nil {
			t.Fatal(err)
		}
		keyringtest.Lock(t, env)
		for name, err := range map[string]error{
			"Get":         errOnly(r.Get(ctx, def)),
			"Get missing": errOnly(r.Get(ctx, mustRef(t, "keyring:no-such/item", "totp"))),
			"Set":         r.Set(ctx, def, "pw-after-lock"),
			"Delete":      r.Delete(ctx, def),
		} {
			if !errors.Is(err, ErrLocked) || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "locked") {
				t.Errorf("%s on a locked collection: %v, want ErrLocked", name, err)
			}
			if err != nil && strings.Contains(err.Error(), "pw-") {
				t.Errorf("%s: error shows a secret", name)
			}
		}

	case "nosvc":
		_, err := r.Get(ctx, def)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "no Secret Service") {
			t.Fatalf("Get without a Secret Service: %v", err)
		}

	default:
		t.Fatalf("unknown scenario %q", scenario)
	}
}

// noRaceExitSleep spares a -race child the race runtime's one-second pause
// at exit.
func noRaceExitSleep() string {
	return "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")
}

func errOnly(_ string, err error) error { return err }

// Without a session bus, keyring calls fail at once with the way out, and no
// bus is ever started (no dbus-launch, no dbus-daemon).
func TestHeadless(t *testing.T) {
	noBus(t)
	// Any process we start, directly or through dbus-launch, inherits this.
	probe := make([]byte, 8)
	rand.Read(probe)
	marker := "HPC_AUTH_HEADLESS_PROBE=" + hex.EncodeToString(probe)
	k, v, _ := strings.Cut(marker, "=")
	t.Setenv(k, v)
	// A dbus-launch that tells on anyone who runs it.
	bin := t.TempDir()
	called := filepath.Join(bin, "dbus-launch-was-called")
	fake := "#!/bin/sh\n: > '" + called + "'\nexit 1\n"
	if err := os.WriteFile(filepath.Join(bin, "dbus-launch"), []byte(fake), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("DISPLAY", "")
	before := busProcesses(t)

	ctx := context.Background()
	r := &Resolver{Store: OS(10 * time.Second)}
	ref := mustRef(t, "keyring", "totp")
	_, errGet := r.Get(ctx, ref)
	for name, err := range map[string]error{
		"Get":    errGet,
		"Set":    r.Set(ctx, ref, "value"),
		"Delete": r.Delete(ctx, ref),
	} {
		if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want ErrUnavailable at once", name, err)
			continue
		}
		msg := err.Error()
		for _, want := range []string{"keyring item service=hpc-auth account=daint/totp", "D-Bus session bus", "desktop session", "env:"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: message %q lacks %q", name, msg, want)
			}
		}
	}

	if _, err := os.Stat(called); err == nil {
		t.Error("dbus-launch was run")
	}
	for pid, comm := range busProcesses(t) {
		if _, old := before[pid]; old {
			continue
		}
		if env, _ := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); strings.Contains(string(env), marker) {
			t.Errorf("we started %s (pid %d)", comm, pid)
		}
	}
}

// busProcesses lists the running (non-zombie) D-Bus and keyring daemons.
func busProcesses(t *testing.T) map[int]string {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	found := map[int]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i || j+2 >= len(s) || s[j+2] == 'Z' {
			continue
		}
		switch comm := s[i+1 : j]; comm {
		case "dbus-daemon", "dbus-launch", "gnome-keyring-d":
			found[pid] = comm
		}
	}
	return found
}
