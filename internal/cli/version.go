package cli

import (
	"fmt"
	"runtime/debug"
)

func versionCmd() *command {
	return &command{name: "version", usage: versionUsage, run: func(c *cli, args []string) int {
		fs := newFlagSet("version")
		if code := c.parse(versionCmd(), fs, args); code >= 0 {
			return code
		}
		v := Version
		if v == "devel" {
			if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
				v = bi.Main.Version
			}
		}
		fmt.Fprintf(c.stdout, "hpc-auth %s\n", v)
		return exitOK
	}}
}
