// Command hpc-auth keeps short-lived SSH certificates for HPC clusters fresh,
// so that workflow engines such as AiiDA keep running on clusters that demand
// two-factor authentication. See the README and `hpc-auth --help`.
package main

import (
	"os"
)

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
