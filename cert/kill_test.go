//go:build unix

package cert

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

// killDirEnv makes the test binary a child that installs pairs in a loop.
const killDirEnv = "HPC_AUTH_CERT_TEST_KILL_DIR"

// TestInstallKill9 kills a process that installs key pairs in a loop with
// SIGKILL at random moments, and after each kill checks that Repair leaves
// a consistent pair with the right modes and no staged files.
func TestInstallKill9(t *testing.T) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		installLoop(t, dir)
		return
	}
	iterations := 50
	if testing.Short() {
		iterations = 10
	}
	dir := t.TempDir()
	keyPath, certPath, _ := writePair(t, dir, certtest.NewCA(t))

	pending := 0
	for i := range iterations {
		if killChild(t, dir, time.Duration(rand.N(20_000))*time.Microsecond) {
			pending++
		}
		if _, err := Repair(keyPath, certPath); err != nil {
			t.Fatalf("iteration %d: Repair: %v", i, err)
		}
		checkConsistent(t, keyPath, certPath)
	}
	t.Logf("%d of %d kills interrupted an install", pending, iterations)
}

// killChild starts the install loop, lets it run for d after it is ready,
// kills its process group and reports whether it left an install pending.
func killChild(t *testing.T, dir string, d time.Duration) (pending bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestInstallKill9$", "-test.count=1")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	kill := func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	ready := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(stdout, make([]byte, 1))
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(30 * time.Second):
		err = errors.New("timed out")
	}
	if err != nil {
		kill()
		cmd.Wait()
		t.Fatalf("child not ready: %v\n%s", err, stderr.Bytes())
	}
	time.Sleep(d)
	kill()
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, stderr.Bytes())
	}
	return Pending(filepath.Join(dir, "key"), filepath.Join(dir, "key-cert.pub"))
}

// installLoop is the child: it installs new pairs and renewed certificates
// for ever (until killed). The parent holds no lock meanwhile; it only acts
// once the child is dead.
func installLoop(t *testing.T, dir string) {
	keyPath, certPath := filepath.Join(dir, "key"), filepath.Join(dir, "key-cert.pub")
	ca := certtest.NewCA(t)
	ppid, deadline := os.Getppid(), time.Now().Add(time.Minute)
	fmt.Print("R") // ready
	for i := 0; ; i++ {
		if os.Getppid() != ppid || time.Now().After(deadline) {
			os.Exit(4) // orphaned or forgotten: never outlive the test
		}
		var p Pair
		if i%2 == 0 {
			priv, pub := certtest.NewKey(t)
			p = Pair{PrivateKey: priv, Certificate: ca.Sign(t, pub, certtest.Options{})}
		} else {
			pub, err := PublicKey(keyPath)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(3)
			}
			p = Pair{Certificate: ca.Sign(t, pub, certtest.Options{})}
		}
		if err := Install(keyPath, certPath, p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
	}
}
