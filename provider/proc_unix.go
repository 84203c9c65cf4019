//go:build unix

package provider

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
	"unsafe"
)

// procSupported reports whether this system can run the script and command
// providers.
const procSupported = true

// procSessionAttr puts the child in a new session, which is also a new
// process group whose id is the child's pid. With ctty the child's stdin (a
// pty) becomes its controlling terminal, so that /dev/tty works for it;
// without, the child has no terminal at all and cannot stop on SIGTTIN
// waiting for a human who is not there.
func procSessionAttr(ctty bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setsid: true, Setctty: ctty, Ctty: 0}
}

// procForegroundAttr puts the child in a new process group of our session
// and makes that group the terminal's foreground group, so that it may read
// from the terminal and receives the user's Ctrl-C.
func procForegroundAttr(tty *os.File) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Foreground: true, Ctty: int(tty.Fd())}
}

// procSignalGroup sends sig to the process group pgid. A group that no
// longer exists is not an error.
func procSignalGroup(pgid int, sig syscall.Signal) error {
	if pgid <= 1 {
		return errors.New("refusing to signal process group <= 1")
	}
	err := syscall.Kill(-pgid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// procTerminate ends the process group pgid: SIGTERM, up to grace for the
// leader to exit, then SIGKILL for whatever is left (including children
// that ignore SIGTERM, or that outlived a leader which did not).
func procTerminate(pgid int, exited <-chan struct{}, grace time.Duration) {
	_ = procSignalGroup(pgid, syscall.SIGTERM)
	// A member stopped by SIGTTIN/SIGTSTP acts on SIGTERM only once continued.
	_ = procSignalGroup(pgid, syscall.SIGCONT)
	procWaitExited(exited, grace)
	_ = procSignalGroup(pgid, syscall.SIGKILL)
}

// procKillGroup sends SIGKILL to what is left of a group whose leader has
// exited: background children must not outlive the run.
func procKillGroup(pgid int) { _ = procSignalGroup(pgid, syscall.SIGKILL) }

func procSignalName(ee *exec.ExitError) string {
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return ws.Signal().String()
	}
	return ""
}

func procIoctl(f *os.File, req uint, arg unsafe.Pointer) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(req), uintptr(arg))
	}); err != nil {
		return err
	}
	if errno != 0 {
		return errno
	}
	return nil
}

// procSetWinsize gives a pty a size. A fresh pty is 0x0, and some progress
// bars divide by the width.
func procSetWinsize(f *os.File, rows, cols uint16) error {
	ws := struct{ row, col, x, y uint16 }{rows, cols, 0, 0}
	return procIoctl(f, syscall.TIOCSWINSZ, unsafe.Pointer(&ws))
}

// procIsForeground reports whether our process group is the terminal's
// foreground group: only then may we hand the terminal to a child (a
// backgrounded hpc-auth must not steal it from the shell's foreground job).
func procIsForeground(tty *os.File) bool {
	var pgrp int32
	if err := procIoctl(tty, syscall.TIOCGPGRP, unsafe.Pointer(&pgrp)); err != nil {
		return false
	}
	return int(pgrp) == syscall.Getpgrp()
}

// procRestoreForeground makes our process group the terminal's foreground
// group again after a child that had it exited. We are a background group at
// that moment, and tcsetpgrp from a background group raises SIGTTOU, which
// would stop us: ignore it for the call, as shells do.
func procRestoreForeground(tty *os.File) error {
	wasIgnored := signal.Ignored(syscall.SIGTTOU)
	if !wasIgnored {
		signal.Ignore(syscall.SIGTTOU)
		defer signal.Reset(syscall.SIGTTOU)
	}
	pgrp := int32(syscall.Getpgrp())
	return procIoctl(tty, syscall.TIOCSPGRP, unsafe.Pointer(&pgrp))
}
