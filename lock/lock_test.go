package lock

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.lock")
	l, err := Acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	other, err := TryAcquire(p)
	if err != nil || other != nil {
		t.Fatalf("second TryAcquire = %v, %v; want nil, nil", other, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, p); !errors.Is(err, ErrTimeout) {
		t.Fatalf("Acquire while held = %v; want ErrTimeout", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	again, err := TryAcquire(p)
	if err != nil || again == nil {
		t.Fatalf("TryAcquire after release = %v, %v", again, err)
	}
	again.Release()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatalf("lock file must stay: %v", err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode %v; want 0600", fi.Mode().Perm())
	}
}

// TestHolderDies proves the kernel releases a lock whose holder is killed
// with SIGKILL: no stale-lock handling is needed.
func TestHolderDies(t *testing.T) {
	if _, err := exec.LookPath("flock"); err != nil {
		t.Fatal("flock(1) (util-linux) is missing: run make test")
	}
	p := filepath.Join(t.TempDir(), "x.lock")
	cmd := exec.Command("flock", "-o", "-x", p, "sleep", "60") // -o: only flock(1) holds it
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := TryAcquire(p)
		if err != nil {
			t.Fatal(err)
		}
		if l == nil {
			break
		}
		l.Release()
		if time.Now().After(deadline) {
			t.Fatal("flock(1) never took the lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := Acquire(ctx, p)
	if err != nil {
		t.Fatalf("lock of a killed holder not released: %v", err)
	}
	l.Release()
}
