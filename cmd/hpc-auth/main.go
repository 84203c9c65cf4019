// Command hpc-auth keeps short-lived SSH certificates for HPC clusters fresh,
// so that workflow engines such as AiiDA keep running on clusters that demand
// two-factor authentication. See the README and `hpc-auth --help`.
//
// This binary is small on purpose: it answers the fast path (the
// certificate is still valid: exit 0) and execs hpc-auth-engine, installed
// beside it, for everything else. See package internal/fastpath.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/fastpath"
)

func main() {
	if fastpath.Fresh(os.Args, os.Getenv, time.Now()) {
		return
	}
	engine, err := enginePath()
	if err == nil {
		env := append(os.Environ(), fastpath.Argv0Env+"="+os.Args[0])
		err = syscall.Exec(engine, append([]string{engine}, os.Args[1:]...), env)
	}
	fmt.Fprintf(os.Stderr, "hpc-auth: cannot run %s: %v; install it beside hpc-auth (see the README)\n", fastpath.EngineName, err)
	os.Exit(70)
}

// enginePath finds hpc-auth-engine beside this binary (through any
// launcher symlink), else on PATH.
func enginePath() (string, error) {
	if self, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(self); err == nil {
			p := filepath.Join(filepath.Dir(real), fastpath.EngineName)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				return p, nil
			}
		}
	}
	for _, dir := range filepath.SplitList(os.Getenv("PATH")) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, fastpath.EngineName)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("not found beside %s or on PATH", os.Args[0])
}
