package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/internal/state"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/provider"
)

type refreshFlags struct {
	force       bool
	minValidity string
	all         bool
}

func (r *refreshFlags) add(fs *flag.FlagSet) {
	fs.BoolVar(&r.force, "force", r.force, "")
	fs.StringVar(&r.minValidity, "min-validity", r.minValidity, "")
	fs.BoolVar(&r.all, "all", r.all, "")
}

func (r *refreshFlags) set() bool { return r.force || r.minValidity != "" || r.all }

func refreshCmd() *command {
	return &command{name: "refresh", usage: refreshUsage}
}

// keyringTimeout bounds every keyring call: a desktop keyring that waits for
// a human to unlock it must not freeze an AiiDA worker.
const keyringTimeout = 5 * time.Second

func (c *cli) engine() *engine.Engine {
	c.setupLog()
	provider.UserAgent = "hpc-auth/" + Version
	dir, _ := c.resolveStateDir()
	return &engine.Engine{
		Now:      time.Now,
		State:    state.Store{Dir: dir},
		Log:      c.log,
		Terminal: term.IsTerminal(int(c.stdin.Fd())),
		Secrets: &keyring.Resolver{
			Store:      keyring.OS(keyringTimeout),
			Env:        func(k string) (string, bool) { v := c.getenv(k); return v, v != "" },
			CmdTimeout: 30 * time.Second,
			Log:        c.log,
		},
	}
}

func runRefresh(c *cli, rf *refreshFlags, args []string) int {
	cmd := refreshCmd()
	fs := newFlagSet("refresh")
	rf.add(fs)
	if code := c.parse(cmd, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageFail(&usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), cmd: "refresh"})
	}
	var o engine.Options
	o.Force = rf.force
	if rf.minValidity != "" {
		th, err := cert.ParseThreshold(rf.minValidity)
		if err != nil {
			return c.usageFail(&usageError{msg: fmt.Sprintf("--min-validity %q: want a duration (1h) or a percentage (25%%)", rf.minValidity), cmd: "refresh"})
		}
		o.MinValidity = &th
	}
	ps, err := c.profiles(rf.all)
	if err != nil {
		return c.fail("", err)
	}
	// SIGTERM/SIGINT cancel the renewal, so that children are killed and
	// staged files cleaned up rather than left behind.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := c.engine()
	worst := exitOK
	for _, p := range ps {
		code := c.refreshOne(ctx, e, p, o)
		if code > worst {
			worst = code
		}
	}
	return worst
}

func (c *cli) refreshOne(ctx context.Context, e *engine.Engine, p *config.Profile, o engine.Options) int {
	out, err := e.Refresh(ctx, p, o)
	if err != nil {
		return c.fail(p.Name, err)
	}
	if out.Action == engine.GraceWarning {
		_, hint := classify(out.Warning, p.Name, time.Now())
		c.warn(p.Name, fmt.Sprintf("renewal failed (%s); the current certificate is still valid for %s, so this run succeeds; %s", out.Warning, roundDur(out.Left), hint))
		return exitOK
	}
	if c.verbose {
		fmt.Fprintf(c.stdout, "%s: %s; certificate valid for %s\n", p.Name, out.Action, roundDur(out.Left))
	}
	return exitOK
}

func roundDur(d time.Duration) string {
	if d > 100*365*24*time.Hour {
		return "ever"
	}
	if d > time.Hour {
		return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
	}
	return d.Round(time.Second).String()
}
