package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
)

const (
	buildTimeout = 5 * time.Minute  // a cold build cache compiles x/crypto & co.
	stepTimeout  = 90 * time.Second // one command; a renewal may wait ≤30 s for a TOTP step
	totpPeriod   = 30               // seconds, the TOTP time step of both fakes
	totpMinLeft  = 3 * time.Second  // totp.DefaultMinLeft: a step with less left is skipped
	waitShown    = 2 * time.Second  // a run that took longer waited for a TOTP step
)

// demo is one run: the private directory tree, the environment every
// command gets, and the secrets that must never show up in any output.
type demo struct {
	w       io.Writer
	dir     string // $DEMO: private, 0700, removed at the end
	bin     string // $DEMO/bin: hpc-auth, hpc-auth-engine, the launcher
	home    string // $DEMO/home: HOME for every command
	user    string
	env     []string
	secrets []string
	// lastCode is when a code of each TOTP secret was last spent, to
	// explain the wait that hpc-auth's TOTP ledger then imposes.
	lastCode map[string]time.Time
}

// centre is one fake key service and its profile.
type centre struct {
	profile, provider, path, name string
	srv                           *fakeservice.Server
	password, totp                string // secret values (never printed)
	pwFile, totpFile              string
	key                           string
}

func run(w io.Writer) (err error) {
	start := time.Now()
	u, err := user.Current()
	if err != nil {
		return fmt.Errorf("current user: %w", err)
	}
	dir, err := os.MkdirTemp("", "hpc-auth-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	d := &demo{
		w: w, dir: dir, bin: filepath.Join(dir, "bin"), home: filepath.Join(dir, "home"),
		user: u.Username, lastCode: map[string]time.Time{},
	}
	d.env = d.environment()

	d.say("hpc-auth demo: the real binaries against fake key services, in a private temporary HOME.")
	d.say("$DEMO=%s (removed at the end); paths below show it as $DEMO, and HOME=$DEMO/home as ~", dir)

	d.section("Setup")
	d.note("building hpc-auth and hpc-auth-engine (CGO_ENABLED=0) into $DEMO/bin")
	if err := d.build(); err != nil {
		return err
	}
	cscs, nersc, err := d.startCentres()
	if err != nil {
		return err
	}
	defer cscs.srv.Close()
	defer nersc.srv.Close()
	cfg, err := d.writeConfig(cscs, nersc)
	if err != nil {
		return err
	}
	d.note("fake CSCS SSHService at %s, fake NERSC sshproxy at %s", cscs.srv.URL, nersc.srv.URL)
	d.note("each checks its account's password and real TOTP codes and signs with its own SSH CA")
	d.note("the passwords and TOTP secrets are in 0600 files (file: references); real users keep")
	d.note("them in the OS keyring: hpc-auth secret set password, hpc-auth secret set totp")
	d.shell("cat ~/.config/hpc-auth/config.toml")
	d.out(cfg)

	d.section("1. First run: no certificate yet")
	if _, err := d.hpcAuth(1, "status"); err != nil {
		return err
	}
	d.note("what AiiDA runs before connecting: renews (password + TOTP code), silent on success")
	if r, err := d.renewal(cscs, 0); err != nil {
		return err
	} else if r.stdout+r.stderr != "" {
		return fmt.Errorf("hpc-auth: a successful renewal printed something")
	}
	if fi, err := os.Stat(cscs.key); err != nil || fi.Mode().Perm() != 0o600 {
		return fmt.Errorf("private key %s after renewal: %v (want mode 0600)", cscs.key, err)
	}
	d.note("the next call takes the fast path: the certificate is still valid")
	if r, err := d.hpcAuth(0, "-v"); err != nil {
		return err
	} else if !strings.Contains(r.stdout, "still valid") {
		return fmt.Errorf("hpc-auth -v: want \"still valid\" on stdout")
	}
	if _, err := d.hpcAuth(0, "status"); err != nil {
		return err
	}
	r, err := d.hpcAuth(0, "status", "--json")
	if err != nil {
		return err
	}
	var st struct {
		Profile      string   `json:"profile"`
		Principals   []string `json:"principals"`
		NeedsRenewal bool     `json:"needs_renewal"`
		Remaining    int64    `json:"remaining_seconds"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		return fmt.Errorf("status --json: %w", err)
	}
	if st.Profile != "daint" || st.NeedsRenewal || st.Remaining < 3600 || len(st.Principals) != 1 || st.Principals[0] != d.user {
		return fmt.Errorf("status --json: unexpected content %+v", st)
	}

	d.section("2. AiiDA: the launcher")
	if r, err := d.hpcAuth(0, "-p", "daint", "aiida", "--launcher-dir", d.bin); err != nil {
		return err
	} else if !strings.Contains(r.stdout, "authentication_script:") {
		return fmt.Errorf("hpc-auth aiida: no authentication_script in its output")
	}
	launcher := filepath.Join(d.bin, "hpc-auth-daint")
	d.note("AiiDA runs the authentication_script through /bin/sh -c, no arguments, stdin /dev/null;")
	d.note("the launcher's name picks the profile")
	if _, err := d.exec("/bin/sh -c "+d.show(launcher)+" </dev/null", 0, nil, "/bin/sh", "-c", launcher); err != nil {
		return err
	}

	d.section("3. Logging in with the certificate")
	if err := d.login(cscs); err != nil {
		return err
	}

	d.section("4. A wrong password (the second centre, profile perlmutter, no certificate yet)")
	d.note("the demo writes a wrong password into ~/.secrets/nersc-password (not shown)")
	wrong := randomSecret("wrong-")
	d.secrets = append(d.secrets, wrong)
	if err := writePrivate(nersc.pwFile, wrong); err != nil {
		return err
	}
	r, err = d.renewal(nersc, 77, "-p", "perlmutter")
	if err != nil {
		return err
	}
	if err := oneLine("rejection", r.stderr); err != nil {
		return err
	}
	d.note("AiiDA's next call: no retry during the cooldown, so a bad secret cannot lock the account")
	r, err = d.hpcAuth(77, "-p", "perlmutter")
	if err != nil {
		return err
	}
	if err := oneLine("cooldown", r.stderr); err != nil {
		return err
	}
	d.note("the demo writes the right password back; --force overrides the cooldown")
	if err := writePrivate(nersc.pwFile, nersc.password); err != nil {
		return err
	}
	d.explainWait(nersc)
	if _, err := d.renewal(nersc, 0, "-p", "perlmutter", "--force"); err != nil {
		return err
	}

	d.section("5. The key service is down")
	cscs.srv.SetMode(fakeservice.Mode5xx)
	d.note("the fake CSCS service now fails every request with 500")
	d.note("while the certificate is valid for at least `grace` (10m), a failed renewal is only a")
	d.note("warning and exit 0; here the certificate has run out (the demo deletes it)")
	d.shell("rm " + d.show(cscs.key+"-cert.pub"))
	if err := os.Remove(cscs.key + "-cert.pub"); err != nil {
		return err
	}
	d.explainWait(cscs)
	r, err = d.renewal(cscs, 69, "--force")
	if err != nil {
		return err
	}
	if err := oneLine("outage", r.stderr); err != nil {
		return err
	}

	d.section("Done")
	d.say("every step behaved as expected (%s)", time.Since(start).Round(time.Second))
	return nil
}

// environment is what every command gets: a private HOME and XDG tree, the
// built binaries first on PATH, and nothing of ours that could reach the
// real user's keyring, agent or hpc-auth config.
func (d *demo) environment() []string {
	env := []string{
		"PATH=" + d.bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + d.home,
		"USER=" + d.user,
		"LOGNAME=" + d.user,
		"LANG=C.UTF-8",
		"XDG_CONFIG_HOME=" + filepath.Join(d.home, ".config"),
		"XDG_STATE_HOME=" + filepath.Join(d.home, ".local", "state"),
		"XDG_CACHE_HOME=" + filepath.Join(d.home, ".cache"),
		"XDG_DATA_HOME=" + filepath.Join(d.home, ".local", "share"),
		"TMPDIR=" + filepath.Join(d.dir, "tmp"),
	}
	if tz, ok := os.LookupEnv("TZ"); ok {
		env = append(env, "TZ="+tz)
	}
	return env
}

// build compiles the two binaries with the go command that runs us.
func (d *demo) build() error {
	for _, sub := range []string{"bin", "tmp", "home", "home/.ssh", "home/.secrets", "home/.config/hpc-auth"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o700); err != nil {
			return err
		}
	}
	goCmd, err := goTool()
	if err != nil {
		return err
	}
	mod, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	if _, err := os.Stat(filepath.Join(root, "cmd", "hpc-auth-engine")); err != nil {
		return fmt.Errorf("run the demo from the hpc-auth module (go run ./examples/demo): %w", err)
	}
	for _, name := range []string{"hpc-auth", "hpc-auth-engine"} {
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		cmd := exec.CommandContext(ctx, goCmd, "build", "-o", filepath.Join(d.bin, name), "./cmd/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		setGroup(cmd)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			return fmt.Errorf("go build ./cmd/%s: %w\n%s", name, err, out)
		}
	}
	return nil
}

// goTool is the go command: $GO (as the Makefile passes it), else the one on
// PATH, else the one of the toolchain that built us.
func goTool() (string, error) {
	if g := os.Getenv("GO"); g != "" {
		return exec.LookPath(g)
	}
	if g, err := exec.LookPath("go"); err == nil {
		return g, nil
	}
	g := filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // fallback only
	if _, err := os.Stat(g); err != nil {
		return "", errors.New("no go command: put go on PATH or set GO")
	}
	return g, nil
}

// startCentres starts the two fake services, each with its own freshly
// generated password and TOTP secret, and writes what the config refers to.
func (d *demo) startCentres() (*centre, *centre, error) {
	mk := func(profile, provider, path, name, key string) (*centre, error) {
		c := &centre{profile: profile, provider: provider, path: path, name: name,
			password: randomSecret("pw-"), totp: randomTOTPSecret(),
			pwFile:   filepath.Join(d.home, ".secrets", name+"-password"),
			totpFile: filepath.Join(d.home, ".secrets", name+"-totp"),
			key:      filepath.Join(d.home, ".ssh", key)}
		d.secrets = append(d.secrets, c.password, c.totp)
		srv, err := fakeservice.New(fakeservice.Options{Username: d.user, Password: c.password, TOTPSecret: c.totp})
		if err != nil {
			return nil, err
		}
		c.srv = srv
		cfgDir := filepath.Join(d.home, ".config", "hpc-auth")
		for _, f := range []struct {
			path string
			data []byte
			mode os.FileMode
		}{
			{c.pwFile, []byte(c.password + "\n"), 0o600},
			{c.totpFile, []byte(c.totp + "\n"), 0o600},
			{filepath.Join(cfgDir, name+"-tls.pem"), srv.CACertPEM(), 0o644},
			{filepath.Join(cfgDir, name+"-user-ca.pub"), srv.CAPublicKey(), 0o644},
		} {
			if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
				srv.Close()
				return nil, err
			}
		}
		return c, nil
	}
	cscs, err := mk("daint", "cscs-legacy", fakeservice.PathCSCS, "cscs", "cscs-key")
	if err != nil {
		return nil, nil, err
	}
	nersc, err := mk("perlmutter", "nersc", fakeservice.PathNERSC, "nersc", "nersc")
	if err != nil {
		cscs.srv.Close()
		return nil, nil, err
	}
	return cscs, nersc, nil
}

// writeConfig writes config.toml at its default place and returns it.
func (d *demo) writeConfig(cs ...*centre) (string, error) {
	var b strings.Builder
	b.WriteString("default_profile = \"daint\"\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "\n[profiles.%s]\n", c.profile)
		fmt.Fprintf(&b, "provider       = %q\n", c.provider)
		fmt.Fprintf(&b, "key            = %q\n", "~/.ssh/"+filepath.Base(c.key))
		fmt.Fprintf(&b, "url            = %q\n", c.srv.URL+c.path)
		fmt.Fprintf(&b, "ca_file        = %q  # the fake's TLS certificate\n", "~/.config/hpc-auth/"+c.name+"-tls.pem")
		fmt.Fprintf(&b, "cert_authority = %q  # only certificates from this CA\n", "~/.config/hpc-auth/"+c.name+"-user-ca.pub")
		fmt.Fprintf(&b, "password       = %q  # default: \"keyring\"\n", "file:~/.secrets/"+c.name+"-password")
		fmt.Fprintf(&b, "totp           = %q\n", "file:~/.secrets/"+c.name+"-totp")
	}
	path := filepath.Join(d.home, ".config", "hpc-auth", "config.toml")
	return b.String(), os.WriteFile(path, []byte(b.String()), 0o600)
}

// result is what one command did.
type result struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// hpcAuth runs `hpc-auth ARGS` as a shell would (argv[0] "hpc-auth", found on
// PATH) and checks its exit status.
func (d *demo) hpcAuth(want int, args ...string) (*result, error) {
	return d.renewal(nil, want, args...)
}

// renewal is hpcAuth for a run that spends a TOTP code of c's secret (nil:
// none), which it remembers to explain the next wait.
func (d *demo) renewal(c *centre, want int, args ...string) (*result, error) {
	display := strings.Join(append([]string{"hpc-auth"}, args...), " ")
	r, err := d.exec(display, want, func(cmd *exec.Cmd) { cmd.Args[0] = "hpc-auth" },
		filepath.Join(d.bin, "hpc-auth"), args...)
	waited := r != nil && r.took > waitShown
	if c != nil && r != nil {
		// The ledger takes its step at the start of the run, or at its
		// end when it had to wait.
		at := time.Now()
		if !waited {
			at = at.Add(-r.took)
		}
		d.lastCode[c.name] = at
	}
	if err == nil && waited {
		d.note("(took %s: hpc-auth waited for a fresh TOTP time step)", r.took.Round(time.Second))
	}
	return r, err
}

// exec runs one command with stdin on /dev/null, a deadline, its own
// process group (killed whole on timeout) and captured output, prints it as
// a transcript and checks its exit status.
func (d *demo) exec(display string, want int, tune func(*exec.Cmd), name string, args ...string) (*result, error) {
	d.shell(display)
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = d.env
	cmd.Dir = d.home
	var stdout, stderr bytes.Buffer
	both := &lockedBuffer{}
	cmd.Stdout = io.MultiWriter(&stdout, both)
	cmd.Stderr = io.MultiWriter(&stderr, both)
	setGroup(cmd)
	if tune != nil {
		tune(cmd)
	}
	t0 := time.Now()
	err := cmd.Run()
	r := &result{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(t0)}
	if leaked := d.leak(both.String()); leaked {
		// Never print the output: it holds a secret.
		return r, fmt.Errorf("%s: its output contains a secret", display)
	}
	d.out(both.String())
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%s: no result within %v", display, stepTimeout)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		return r, fmt.Errorf("%s: %w", display, err)
	}
	fmt.Fprintf(d.w, "[exit %d]\n", r.code)
	if r.code != want {
		return r, fmt.Errorf("%s: exit status %d, want %d", display, r.code, want)
	}
	return r, nil
}

// explainWait says, before a run that spends a TOTP code, how long hpc-auth
// will wait for a fresh 30 s step, if it must.
func (d *demo) explainWait(c *centre) {
	last, ok := d.lastCode[c.name]
	if !ok {
		return
	}
	now := time.Now()
	stepEnd := func(t time.Time) time.Time { return time.Unix((t.Unix()/totpPeriod+1)*totpPeriod, 0) }
	why := fmt.Sprintf("the last %s code went out in the current step", c.name)
	wait := stepEnd(last).Sub(now)
	if left := stepEnd(now).Sub(now); wait <= 0 && left < totpMinLeft {
		why, wait = "too little of the current step is left", left
	}
	if wait <= 0 {
		return
	}
	d.note("hpc-auth never sends a code from the same 30 s TOTP step twice (centres reject a reused")
	d.note("code, and failures lock accounts); %s, so this run waits ~%s", why, wait.Round(time.Second))
}

// leak reports whether s contains any secret of this run.
func (d *demo) leak(s string) bool {
	for _, sec := range d.secrets {
		if sec != "" && strings.Contains(s, sec) {
			return true
		}
	}
	return false
}

func oneLine(what, stderr string) error {
	if n := strings.Count(stderr, "\n"); n != 1 || !strings.HasPrefix(stderr, "hpc-auth: ") {
		return fmt.Errorf("%s: want exactly one \"hpc-auth: ...\" line on stderr, got %d lines", what, n)
	}
	return nil
}

// show shortens paths for the transcript: HOME as ~, the demo dir as $DEMO.
func (d *demo) show(s string) string {
	s = strings.ReplaceAll(s, d.home, "~")
	return strings.ReplaceAll(s, d.dir, "$DEMO")
}

func (d *demo) say(format string, args ...any) { fmt.Fprintf(d.w, format+"\n", args...) }
func (d *demo) section(title string)           { fmt.Fprintf(d.w, "\n== %s ==\n", title) }
func (d *demo) note(format string, args ...any) {
	fmt.Fprintf(d.w, "# %s\n", d.show(fmt.Sprintf(format, args...)))
}
func (d *demo) shell(cmdline string) { fmt.Fprintf(d.w, "$ %s\n", d.show(cmdline)) }
func (d *demo) out(s string) {
	if s == "" {
		return
	}
	s = d.show(s)
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	io.WriteString(d.w, s)
}

// setGroup puts cmd into its own process group and kills the whole group
// when its context ends.
func setGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
}

func writePrivate(path, value string) error {
	return os.WriteFile(path, []byte(value+"\n"), 0o600)
}

func randomSecret(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// randomTOTPSecret is a 160-bit base32 secret, as centres hand out.
func randomTOTPSecret() string {
	b := make([]byte, 20)
	rand.Read(b)
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// lockedBuffer interleaves stdout and stderr in arrival order, as a
// terminal shows them.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
