//go:build !unix

package keyring

import "os/exec"

const oNonblock = 0

func ownGroup(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return killGroup(cmd) }
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return cmd.Process.Kill()
}
