package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpc-auth/hpc-auth/internal/fakescripts"
)

// e2eScriptStyle is one kind of centre script, as a profile drives it.
type e2eScriptStyle struct {
	name string
	// command returns the profile's command (TOML array) for the fakes in f.
	command func(f fakescripts.Paths) string
	dialog  string // [[profiles.NAME.dialog]] tables, %[1]s is the profile
	verbose bool   // run with -v (debug output, also scanned for secrets)
	reject  bool   // the centre refuses whatever it is told
}

var e2eScriptStyles = []e2eScriptStyle{
	{
		// Bash `read -p` prompts, a \r-redrawn progress line, and a final
		// one-key [y/n] question whose default (Enter) would be yes: the
		// custom step answers "n" without Enter.
		name:    "cscs-bash",
		command: func(f fakescripts.Paths) string { return fmt.Sprintf("[%q, \"{key}\", \"{certificate}\"]", f.CSCSBash) },
		dialog:  "[[profiles.%[1]s.dialog]]\nexpect = '\\[y/n\\]'\nsend = \"n\"\nenter = false\n",
	},
	{
		// sshproxy.sh: one silent prompt for the password followed by the code.
		name: "sshproxy",
		command: func(f fakescripts.Paths) string {
			return fmt.Sprintf("[%q, \"-u\", \"{username}\", \"-o\", \"{key}\"]", f.NERSC)
		},
	},
	{
		// Python: input() for the username, getpass on /dev/tty for the rest.
		name: "python-getpass",
		command: func(f fakescripts.Paths) string {
			return fmt.Sprintf("[%q, \"{key}\", \"{certificate}\"]", f.CSCSPython)
		},
	},
	{
		// Asks username, password and code, then refuses.
		name:    "reject",
		command: func(f fakescripts.Paths) string { return fmt.Sprintf("[%q, \"{key}\", \"{certificate}\"]", f.Reject) },
		reject:  true,
	},
}

// e2eScriptSetup installs the fake centre scripts (fresh fixtures, so that
// no TOTP step is shared with another test) and writes a script profile
// named style.name that reads the secrets through file: references.
func e2eScriptSetup(t *testing.T, h *hpcHome, style e2eScriptStyle) fakescripts.Paths {
	t.Helper()
	f := fakescripts.Install(t, filepath.Join(t.TempDir(), "centre"), fakescripts.Options{})
	dialog := ""
	if style.dialog != "" {
		dialog = fmt.Sprintf(style.dialog, style.name)
	}
	h.writeConfig(fmt.Sprintf(`[profiles.%[1]s]
provider = "script"
username = %[2]q
key = "~/.ssh/%[1]s"
command = %[3]s
password = "file:%[4]s"
totp = "file:%[5]s"
timeout = "30s"
%[6]s`, style.name, f.Username, style.command(f), f.PasswordFile, f.TOTPFile, dialog))
	return f
}

// TestE2EScriptProvider drives the fake centre scripts through the command
// line from a process without a terminal (as AiiDA runs hpc-auth): the
// script gets a pseudo-terminal of its own, its prompts are answered once
// each, and the certificate it installs verifies. The transcript in the
// state directory is private and holds no secret.
func TestE2EScriptProvider(t *testing.T) {
	t.Parallel()
	styles := e2eScriptStyles
	// Two of them again with -v: the debug output must not hold a secret
	// either.
	for _, s := range e2eScriptStyles {
		if s.name == "cscs-bash" || s.reject {
			s.name += "-v"
			s.verbose = true
			styles = append(styles, s)
		}
	}
	for _, style := range styles {
		t.Run(style.name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			f := e2eScriptSetup(t, h, style)
			key := h.path(".ssh/" + style.name)
			scan := newE2ESecretScan(t, []string{f.Password}, f.TOTPSecret)

			var args []string
			if style.verbose {
				args = []string{"-v"}
			}
			r := h.hpc(args...)
			scan.output(r)
			want := 0
			if style.reject {
				want = 77
			}
			switch {
			case style.verbose:
				if r.code != want || !strings.Contains(r.stderr, "DEBUG") {
					t.Fatalf("want exit %d and debug output; got %v", want, r)
				}
			case style.reject:
				line := wantFail(t, r, 77, style.name)
				wantContains(t, "stderr line", line, "rejected", "refresh --force")
			default:
				wantSilent(t, r)
			}
			if !style.reject {
				if err := f.VerifyPair(key, key+"-cert.pub"); err != nil {
					t.Fatal(err)
				}
				// The fast path: the script does not run again.
				wantSilent(t, h.hpc())
				if used, _ := os.ReadFile(filepath.Join(f.Dir, "used-codes")); strings.Count(string(used), "\n") != 1 {
					t.Fatalf("the centre saw %d codes; want 1", strings.Count(string(used), "\n"))
				}
			}

			transcript := filepath.Join(h.state, style.name+".transcript")
			e2eWantMode(t, transcript, 0o600)
			text, err := os.ReadFile(transcript)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(text), "assword") {
				t.Errorf("the transcript does not show the script's prompts:\n%s", text)
			}
			e2eWantPrivateState(t, h.state)
			scan.dir(h.state)
			scan.check()
		})
	}
}

// TestE2EEnvSecretsNotInherited: with env: references (the AiiDA example's
// HPC_PASSWORD and HPC_TOTP_SECRET), the secrets are in hpc-auth's own
// environment; the children it starts (the centre's script, a cmd:
// reference's command) must not inherit them.
func TestE2EEnvSecretsNotInherited(t *testing.T) {
	t.Parallel()
	for _, totpFromCmd := range []bool{false, true} {
		name := "totp=env"
		if totpFromCmd {
			name = "totp=cmd"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			style := e2eScriptStyles[0] // cscs-bash
			f := e2eScriptSetup(t, h, style)
			// Both children write down their environment.
			scriptEnv, cmdEnv := h.path("script-env"), h.path("cmd-env")
			wrapper := h.write("bin/centre-script", []byte(fmt.Sprintf("#!/bin/sh\nenv > %q\nexec %q \"$@\"\n", scriptEnv, f.CSCSBash)), 0o755)
			otpCmd := h.write("bin/otp-secret", []byte(fmt.Sprintf("#!/bin/sh\nenv > %q\nexec cat %q\n", cmdEnv, f.TOTPFile)), 0o755)
			cfg, err := os.ReadFile(h.config)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Replace(string(cfg), f.CSCSBash, wrapper, 1)
			text = strings.Replace(text, "file:"+f.PasswordFile, "env:HPC_PASSWORD", 1)
			env := []string{"HPC_PASSWORD=" + f.Password}
			dumps := []string{scriptEnv}
			if totpFromCmd {
				text = strings.Replace(text, "file:"+f.TOTPFile, "cmd:"+otpCmd, 1)
				dumps = append(dumps, cmdEnv)
			} else {
				text = strings.Replace(text, "file:"+f.TOTPFile, "env:HPC_TOTP_SECRET", 1)
				env = append(env, "HPC_TOTP_SECRET="+f.TOTPSecret)
			}
			h.writeConfig(text)

			wantSilent(t, h.hpcRun(nil, env))
			key := h.path(".ssh/" + style.name)
			if err := f.VerifyPair(key, key+"-cert.pub"); err != nil {
				t.Fatal(err)
			}
			scan := newE2ESecretScan(t, []string{f.Password}, f.TOTPSecret)
			for _, p := range dumps {
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("the child did not run: %v", err)
				}
				scan.texts["the environment of "+filepath.Base(p)] = string(b)
			}
			scan.check()
		})
	}
}
