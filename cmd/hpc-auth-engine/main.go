// Command hpc-auth-engine is hpc-auth's full command line: renewal, status,
// secrets, the AiiDA launcher and the doctor. Users run hpc-auth, which
// answers the fast path itself and execs this binary for the rest; both
// must be installed in the same directory.
package main

import "github.com/hpc-auth/hpc-auth/internal/cli"

func main() { cli.Main() }
