package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/state"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "devel"

// cli is one invocation: its streams, environment and global flags. Every
// command gets it; nothing below cmd prints or exits.
type cli struct {
	argv0  string
	stdin  *os.File
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string

	profile    string
	configPath string
	verbose    bool
	quiet      bool

	log      *slog.Logger
	logFile  *state.LogFile
	stateDir string
}

// globalFlags adds the flags every command accepts.
func (c *cli) globalFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.profile, "p", c.profile, "")
	fs.StringVar(&c.profile, "profile", c.profile, "")
	fs.StringVar(&c.configPath, "c", c.configPath, "")
	fs.StringVar(&c.configPath, "config", c.configPath, "")
	fs.BoolVar(&c.verbose, "v", c.verbose, "")
	fs.BoolVar(&c.verbose, "verbose", c.verbose, "")
	fs.BoolVar(&c.quiet, "q", c.quiet, "")
	fs.BoolVar(&c.quiet, "quiet", c.quiet, "")
}

// usageError is a bad command line (exit 64).
type usageError struct{ msg, cmd string }

func (e *usageError) Error() string { return e.msg }

// command is one subcommand: its flags and what it does.
type command struct {
	name  string
	usage string
	flags func(fs *flag.FlagSet) // command-specific flags (may be nil)
	run   func(c *cli, args []string) int
}

func commands() []*command {
	return []*command{refreshCmd(), statusCmd(), secretCmd(), totpCmd(), aiidaCmd(), doctorCmd(), versionCmd()}
}

func findCommand(name string) *command {
	for _, cmd := range commands() {
		if cmd.name == name {
			return cmd
		}
	}
	return nil
}

func run(argv []string, stdin *os.File, stdout, stderr io.Writer, getenv func(string) string) int {
	c := &cli{argv0: argv[0], stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}
	args := argv[1:]

	// The root flag set knows the global flags and refresh's, because
	// `hpc-auth --force` means `hpc-auth refresh --force`.
	rf := &refreshFlags{}
	root := newFlagSet("hpc-auth")
	c.globalFlags(root)
	rf.add(root)
	if err := root.Parse(args); err != nil {
		return c.flagError(err, nil)
	}
	args = root.Args()
	cmd := refreshCmd()
	if len(args) > 0 {
		switch args[0] {
		case "help":
			return c.help(args[1:])
		case "-h", "--help":
			fmt.Fprint(c.stdout, usage)
			return 0
		}
		cmd = findCommand(args[0])
		if cmd == nil {
			return c.usageFail(&usageError{msg: fmt.Sprintf("unknown command %q", args[0])})
		}
		args = args[1:]
		if cmd.name != "refresh" && rf.set() {
			return c.usageFail(&usageError{msg: "--force, --min-validity and --all before a command belong to refresh", cmd: cmd.name})
		}
	}
	if cmd.name == "refresh" {
		return runRefresh(c, rf, args)
	}
	return cmd.run(c, args)
}

func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parse parses a command's flags (with the global ones). It returns -1 to go
// on, or the exit code.
func (c *cli) parse(cmd *command, fs *flag.FlagSet, args []string) int {
	c.globalFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c.flagError(err, cmd)
	}
	return -1
}

func (c *cli) flagError(err error, cmd *command) int {
	if errors.Is(err, flag.ErrHelp) {
		if cmd == nil {
			fmt.Fprint(c.stdout, usage)
		} else {
			fmt.Fprint(c.stdout, cmd.usage)
		}
		return 0
	}
	name := ""
	if cmd != nil {
		name = cmd.name
	}
	return c.usageFail(&usageError{msg: err.Error(), cmd: name})
}

func (c *cli) usageFail(e *usageError) int {
	hint := "run 'hpc-auth --help' for usage"
	if e.cmd != "" {
		hint = fmt.Sprintf("run 'hpc-auth %s --help' for usage", e.cmd)
	}
	fmt.Fprintf(c.stderr, "hpc-auth: %s; %s\n", oneLine(e.msg), hint)
	return exitUsage
}

func (c *cli) help(args []string) int {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, usage)
		return 0
	}
	cmd := findCommand(args[0])
	if cmd == nil {
		return c.usageFail(&usageError{msg: fmt.Sprintf("unknown command %q", args[0])})
	}
	fmt.Fprint(c.stdout, cmd.usage)
	return 0
}

// setupLog makes the diagnostics logger: debug lines to stderr with -v, and
// info and above to the rotating log file in the state directory. Nothing is
// opened until something is logged, so the fast path pays nothing.
func (c *cli) setupLog() {
	var hs []slog.Handler
	if c.verbose {
		hs = append(hs, slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if dir, err := c.resolveStateDir(); err == nil {
		c.logFile = state.Store{Dir: dir}.OpenLog()
		hs = append(hs, slog.NewTextHandler(c.logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	c.log = slog.New(slog.NewMultiHandler(hs...))
}

func (c *cli) resolveStateDir() (string, error) {
	if c.stateDir != "" {
		return c.stateDir, nil
	}
	d, err := state.DefaultDir(c.getenv)
	if err != nil {
		return "", err
	}
	c.stateDir = d
	return d, nil
}

// loadConfig finds and parses the config file.
func (c *cli) loadConfig() (*config.Config, error) {
	path := c.configPath
	if path == "" {
		path = c.getenv("HPC_AUTH_CONFIG")
	}
	if path == "" {
		p, err := config.DefaultPath(c.getenv)
		if err != nil {
			return nil, err
		}
		path = p
	}
	cfg, err := config.Load(path)
	if err == nil {
		c.hideSecretEnv(cfg)
	}
	return cfg, err
}

// chooseProfile applies the spec's order (see config.Choose).
func (c *cli) chooseProfile(cfg *config.Config) (*config.Profile, error) {
	return cfg.Choose(c.profile, c.getenv("HPC_AUTH_PROFILE"), c.argv0)
}

// oneProfile loads the config and returns the chosen profile.
func (c *cli) oneProfile() (*config.Profile, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	return c.chooseProfile(cfg)
}

// profiles loads the config and returns the profiles a command acts on: all
// of them with --all, else the chosen one.
func (c *cli) profiles(all bool) ([]*config.Profile, error) {
	cfg, err := c.loadConfig()
	if err != nil {
		return nil, err
	}
	if !all {
		p, err := c.chooseProfile(cfg)
		if err != nil {
			return nil, err
		}
		return []*config.Profile{p}, nil
	}
	var ps []*config.Profile
	for _, n := range cfg.Names() {
		ps = append(ps, cfg.Profiles[n])
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("%w: %s has no profiles", config.ErrNoProfile, cfg.Path)
	}
	return ps, nil
}

// when formats a moment for a one-line message, in local time.
func when(t, now time.Time) string {
	t = t.Local()
	if t.Sub(now) < 20*time.Hour && t.Sub(now) > -20*time.Hour {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02 15:04")
}
