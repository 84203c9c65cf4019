package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/engine"
)

func doctorCmd() *command {
	return &command{name: "doctor", usage: doctorUsage, run: runDoctor}
}

// doctorTimeout bounds each remote check: a host that never answers must
// not hang the doctor.
const doctorTimeout = 20 * time.Second

func runDoctor(c *cli, args []string) int {
	fs := newFlagSet("doctor")
	if code := c.parse(doctorCmd(), fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 1 {
		return c.usageFail(&usageError{msg: "doctor takes at most one HOST", cmd: "doctor"})
	}
	p, err := c.oneProfile()
	if err != nil {
		return c.fail("", err)
	}
	failed := 0
	check := func(name string, err error, okMsg string) {
		if err != nil {
			failed++
			fmt.Fprintf(c.stdout, "FAIL  %-11s %s\n", name, oneLine(err.Error()))
			return
		}
		fmt.Fprintf(c.stdout, "ok    %-11s %s\n", name, okMsg)
	}
	now := time.Now()
	fi, err := os.Stat(p.Key)
	if err == nil && fi.Mode().Perm()&0o077 != 0 {
		err = fmt.Errorf("%s has mode %v; ssh refuses keys that others can read: chmod 600 %s", p.Key, fi.Mode().Perm(), p.Key)
	}
	check("key", err, p.Key)
	c2, err := engine.Usable(p, now)
	msg := ""
	if err == nil {
		msg = fmt.Sprintf("%s, valid for %s", p.Certificate, roundDur(cert.WindowOf(c2).Remaining(now)))
		if ferr := cert.Fresh(c2, now, p.MinValidity); ferr != nil {
			msg += " (less than min_validity: refresh will renew)"
		}
	}
	check("certificate", err, msg)
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock == "" {
		fmt.Fprintf(c.stdout, "info  %-11s no SSH_AUTH_SOCK; fine: ssh reads the key and certificate files\n", "agent")
	} else {
		fmt.Fprintf(c.stdout, "info  %-11s %s\n", "agent", sock)
	}
	if fs.NArg() == 0 {
		fmt.Fprintf(c.stdout, "info  %-11s give HOST to test ssh, sftp and the scheduler\n", "remote")
	} else {
		host := fs.Arg(0)
		base := []string{"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=10", "-i", p.Key, "-o", "CertificateFile=" + p.Certificate}
		if out, err := runTool("ssh", append([]string{"-G", host}, base...)...); err == nil {
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "proxyjump ") || strings.HasPrefix(l, "proxycommand ") {
					fmt.Fprintf(c.stdout, "info  %-11s %s\n", "proxy", l)
				}
			}
		}
		_, err := runTool("ssh", append(base, host, "true")...)
		check("ssh", err, "ssh "+host+" true")
		if err == nil {
			out, err := runTool("ssh", append(base, host, "echo; echo hpc-auth-probe")...)
			if err == nil && !strings.HasPrefix(out, "\nhpc-auth-probe") {
				err = fmt.Errorf("the remote shell prints text on startup (%q...); sftp and AiiDA may fail: silence ~/.bashrc for non-interactive shells", firstLine(out))
			}
			check("clean shell", err, "no output from startup files")
			_, err = runToolInput("ls\n", "sftp", append(append([]string{"-b", "-"}, base...), host)...)
			check("sftp", err, "sftp "+host)
			out, err = runTool("ssh", append(base, host, "command -v squeue || command -v qstat || command -v bjobs")...)
			if err != nil {
				err = fmt.Errorf("no squeue, qstat or bjobs in the non-interactive PATH; see AiiDA's 'Scheduler errors?' note")
			}
			check("scheduler", err, strings.TrimSpace(out))
		}
	}
	if failed > 0 {
		return 1
	}
	return exitOK
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, "\n")
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

func runTool(name string, args ...string) (string, error) {
	return runToolInput("", name, args...)
}

// runToolInput runs a diagnostic tool in its own process group, killed with
// the group when doctorTimeout passes.
func runToolInput(input, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), doctorTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	if input != "" {
		cmd.Stdin = strings.NewReader(input)
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			msg = err.Error()
		}
		return out.String(), fmt.Errorf("%s: %s", name, firstLine(msg))
	}
	return out.String(), nil
}
