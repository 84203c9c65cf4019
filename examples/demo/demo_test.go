package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// TestDemo runs the whole demo, so that CI proves `make demo` works. It
// takes up to ~35 s: the demo waits once for a fresh TOTP time step.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo builds both binaries and waits for a TOTP time step")
	}
	if _, err := os.Stat(sshdPath); err != nil {
		t.Fatalf("openssh-server is missing: run make test (scripts/install-test-deps.sh) (%v)", err)
	}
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("demo: %v\ntranscript:\n%s", err, out.String())
	}
	for _, want := range []string{
		"$ hpc-auth status\n",
		"daint: still valid",
		"authentication_script: $DEMO/bin/hpc-auth-daint",
		"logged in as ", // the real sshd step ran, not skipped
		"[exit 77]",
		"[exit 69]",
		"every step behaved as expected",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if strings.Contains(out.String(), "skipped") {
		t.Errorf("a step was skipped:\n%s", out.String())
	}
}
