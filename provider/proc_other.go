//go:build !unix

package provider

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// The script and command providers need process groups and (for script) a
// pseudo-terminal; neither exists here. They refuse to run with ErrConfig.

const procSupported = false

var errProcUnsupported = errors.New("not supported on this operating system")

func procSessionAttr(bool) *syscall.SysProcAttr         { return nil }
func procForegroundAttr(*os.File) *syscall.SysProcAttr  { return nil }
func procTerminate(int, <-chan struct{}, time.Duration) {}
func procKillGroup(int)                                 {}
func procSignalName(*exec.ExitError) string             { return "" }
func procSetWinsize(*os.File, uint16, uint16) error     { return errProcUnsupported }
func procIsForeground(*os.File) bool                    { return false }
func procRestoreForeground(*os.File) error              { return errProcUnsupported }
