// Package cli is hpc-auth's command line: flags, output, exit statuses and
// the one stderr line. It is the only package that prints or exits; it
// turns the library packages' errors into exit statuses and hints in one
// place (exit.go).
package cli

import (
	"os"

	"github.com/hpc-auth/hpc-auth/internal/fastpath"
)

// Main runs the command line and exits.
func Main() {
	argv := append([]string(nil), os.Args...)
	// hpc-auth execs us under our own name; the name the user ran (which
	// may be a launcher hpc-auth-NAME) comes in the environment. Our
	// children must not inherit it.
	if a := os.Getenv(fastpath.Argv0Env); a != "" {
		argv[0] = a
		os.Unsetenv(fastpath.Argv0Env)
	}
	os.Exit(run(argv, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
