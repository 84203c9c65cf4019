// Command demo shows hpc-auth's whole flow on a fresh machine, against
// built-in fakes: it builds the real hpc-auth and hpc-auth-engine binaries,
// starts two fake key services in-process (a CSCS-like and a NERSC-like
// centre, each with its own account and TOTP secret), writes a config and
// secret files into a private temporary HOME, and runs the commands a user
// and AiiDA would run, printing them as a shell transcript. If an OpenSSH
// server is installed it also logs in to a real sshd on 127.0.0.1 with the
// renewed certificate.
//
// Run it with `go run ./examples/demo` (or `make demo`). It exits 0 when
// every step behaved as expected, non-zero with the reason otherwise.
//
// Why two fake centres: hpc-auth never sends a TOTP code from a 30 s time
// step it has used before for the same secret (a reused code is a failed
// login at real centres, and failures lock accounts). Every renewal attempt
// spends a step, so with one secret the demo would spend a minute or more
// waiting. With two secrets it waits at most once.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
}
