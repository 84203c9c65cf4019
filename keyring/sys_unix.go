//go:build unix

package keyring

import (
	"os/exec"
	"syscall"
)

const oNonblock = syscall.O_NONBLOCK

// ownGroup puts the child into a new process group and makes cancellation
// kill the whole group, so that whatever the command started dies with it.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd) }
}

func killGroup(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
