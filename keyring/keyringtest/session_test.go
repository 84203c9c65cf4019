//go:build unix

package keyringtest

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestSessionLifecycle(t *testing.T) {
	var home string
	t.Run("session", func(t *testing.T) {
		env := Session(t)
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, "HOME="); ok {
				home = v
			}
		}
		Store(t, env, "hpc", "jdoe", "test-value")
		if v, ok := Lookup(t, env, "hpc", "jdoe"); !ok || v != "test-value" {
			t.Fatalf("lookup: found=%v matches=%v", ok, v == "test-value")
		}
		if _, ok := Lookup(t, env, "hpc", "nobody"); ok {
			t.Fatal("found a missing item")
		}
		if fi, err := os.Stat(filepath.Join(home, "..", "run", "bus")); err != nil || fi.Mode()&os.ModeSocket == 0 {
			t.Fatalf("no bus socket in XDG_RUNTIME_DIR: %v", err)
		}
	})
	// The session's cleanup has run: nothing that carries its HOME lives on.
	if home == "" {
		t.Fatal("no HOME in the session's environment")
	}
	if pids := processesWith("HOME=" + home); len(pids) != 0 {
		t.Errorf("processes of the session outlived it: %v", pids)
	}
}

func TestBusOnly(t *testing.T) {
	env := BusOnly(t)
	if len(env) == 0 || !strings.HasPrefix(env[len(env)-1], "DBUS_SESSION_BUS_ADDRESS=unix:path=") {
		t.Fatalf("env = %q", env)
	}
}

// processesWith lists running processes whose environment holds kv.
func processesWith(kv string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains("\x00"+string(env), "\x00"+kv+"\x00") {
			continue
		}
		if alive(pid, comm(pid)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return ""
	}
	return s[i+1 : j]
}

// fatalTB records Fatalf instead of failing the real test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// A missing component fails (never skips) and says how to install it.
func TestMissingComponentFails(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	f := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		Session(f)
	}()
	<-done
	if !strings.Contains(f.msg, "not found") || !strings.Contains(f.msg, "apt-get install") || !strings.Contains(f.msg, "gnome-keyring") {
		t.Errorf("message = %q", f.msg)
	}
}
