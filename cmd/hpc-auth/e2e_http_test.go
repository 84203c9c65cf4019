package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"os/user"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/internal/fakeservice"
	"github.com/hpc-auth/hpc-auth/internal/sshtest"
)

// e2ePreset is one HTTP key-service protocol, as a profile speaks it to
// the fake service.
type e2ePreset struct {
	name     string // the profile's name
	provider string
	path     string // the fake's endpoint
	// newPair: the service hands back a new key pair (hpc-auth writes
	// key.pub); otherwise it signs the profile's existing key.
	newPair bool
	extra   string // more profile settings (the last lines of the profile)
	// rejected is what the service says to a wrong password.
	rejected string
}

var e2ePresets = []e2ePreset{
	{name: "cscs", provider: "cscs-legacy", path: fakeservice.PathCSCS, newPair: true,
		rejected: "Authentication failed: invalid username, password or OTP"},
	{name: "nersc", provider: "nersc", path: fakeservice.PathNERSC, newPair: true,
		rejected: "Authentication failed. Failed login: "},
	{name: "lbnl", provider: "lbnl-msm", path: fakeservice.PathLBNL, newPair: true,
		rejected: "authentication failed: invalid username, PIN or OTP"},
	{name: "generic", provider: "http", path: fakeservice.PathGeneric,
		rejected: "invalid credentials"},
	{name: "genericpair", provider: "http", path: fakeservice.PathGeneric, newPair: true,
		rejected: "invalid credentials",
		extra:    "private_key_field = \"private_key\"\n[profiles.genericpair.request]\nusername = \"{username}\"\npassword = \"{password}\"\notp = \"{otp}\"\n"},
}

// e2eService is a running fake key service and the secrets it expects.
type e2eService struct {
	*fakeservice.Server
	user, password, totp string
	ca                   ssh.Signer
	// toml is the profile for it: file: secret references, ca_file and
	// cert_authority, all under the home it was set up in.
	toml string
	key  string // the profile's key path
}

// e2eHTTPSetup starts a fake service for preset p and prepares h for a
// profile that uses it: its TLS certificate as ca_file, its SSH CA's public
// key as cert_authority, the password and TOTP secret in private files
// (file: references). settings go into the profile; without a timeout in
// them the profile gets timeout = "20s". Zero fields of o get: the current
// user, a fresh password, TOTP secret and CA.
func e2eHTTPSetup(t *testing.T, h *hpcHome, p e2ePreset, o fakeservice.Options, settings string) *e2eService {
	t.Helper()
	if o.Username == "" {
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		o.Username = u.Username
	}
	if o.Password == "" {
		o.Password = e2ePassword(t)
	}
	if o.TOTPSecret == "" {
		o.TOTPSecret = e2eRandomBase32(t)
	}
	if o.CA == nil {
		o.CA = e2eNewCA(t)
	}
	srv, err := fakeservice.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	s := &e2eService{Server: srv, user: o.Username, password: o.Password, totp: o.TOTPSecret, ca: o.CA,
		key: h.path(".ssh/" + p.name)}
	h.write("tls/"+p.name+".pem", srv.CACertPEM(), 0o644)
	h.write("ca/"+p.name+".pub", srv.CAPublicKey(), 0o644)
	h.secretFile(p.name+"-password", o.Password)
	h.secretFile(p.name+"-totp", o.TOTPSecret)
	if !p.newPair {
		e2eUserKey(t, s.key) // the service signs this key
	}
	if !strings.Contains(settings, "timeout") {
		settings += "timeout = \"20s\"\n"
	}
	s.toml = fmt.Sprintf(`[profiles.%[1]s]
provider = %[2]q
username = %[3]q
key = "~/.ssh/%[1]s"
url = %[4]q
ca_file = "~/tls/%[1]s.pem"
cert_authority = "~/ca/%[1]s.pub"
password = "file:~/secrets/%[1]s-password"
totp = "file:~/secrets/%[1]s-totp"
%[5]s%[6]s`, p.name, p.provider, o.Username, srv.URL+p.path, settings, p.extra)
	return s
}

// TestE2EHTTPRenewAndLogIn: for every HTTP preset and the generic http
// provider (signing our key, or handing out a pair), a headless hpc-auth
// renews silently against the fake service over real TLS with ca_file,
// checks the certificate against cert_authority, installs key (0600),
// certificate (0644) and key.pub, and a real ssh and sftp log in with them.
// The next run takes the fast path: no request reaches the service.
func TestE2EHTTPRenewAndLogIn(t *testing.T) {
	t.Parallel()
	ca := e2eNewCA(t)
	sshd := sshtest.Start(t, ca)
	for _, p := range e2ePresets {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			svc := e2eHTTPSetup(t, h, p, fakeservice.Options{CA: ca, Username: sshd.User}, "")
			h.writeConfig(svc.toml)

			wantSilent(t, h.hpc())
			if svc.Requests() != 1 || svc.Issued() != 1 {
				t.Fatalf("requests %d, issued %d; want 1 and 1", svc.Requests(), svc.Issued())
			}
			if proto := svc.Proto(p.path); p.provider == "nersc" && proto != "HTTP/1.1" {
				t.Errorf("nersc spoke %s; its service wants HTTP/1.1", proto)
			}
			cert := svc.key + "-cert.pub"
			e2eCheckPair(t, svc.key, cert, ca.PublicKey(), sshd.User, true)
			e2eWantPrivateState(t, h.state)

			if out, err := sshd.SSH(t, svc.key, cert, "echo", "logged-in"); err != nil || !strings.Contains(out, "logged-in") {
				t.Fatalf("ssh with the renewed key: %v\n%s\nsshd log:\n%s", err, out, sshd.Log())
			}
			if err := sshd.SFTP(t, svc.key, cert); err != nil {
				t.Fatalf("sftp with the renewed key: %v", err)
			}

			// The fast path: no arguments (as AiiDA runs it), `refresh`, -p.
			wantSilent(t, h.hpc())
			wantSilent(t, h.hpc("refresh"))
			wantSilent(t, h.hpc("-p", p.name))
			if svc.Requests() != 1 {
				t.Fatalf("%d requests after fast-path runs; want still 1", svc.Requests())
			}
		})
	}
}

// TestE2EHTTPFailures: every failure mode of the fake service through the
// command line, for every protocol. The installed pair (an expired
// certificate, so that refresh must renew) is byte-identical afterwards: a
// refused answer never touches it. Each failure costs exactly one request
// (nothing is retried automatically), and the one stderr line names the
// profile and the way out.
func TestE2EHTTPFailures(t *testing.T) {
	t.Parallel()
	type failure struct {
		mode fakeservice.Mode
		code int
		says []string // in the stderr line
	}
	failures := []failure{
		{fakeservice.Mode5xx, 69, []string{"unavailable", "try again later"}},
		{fakeservice.ModeHang, 69, []string{"try again later"}},
		{fakeservice.ModeGarbage, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeWrongKey, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeExpired, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeHostCert, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeOtherCA, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeTruncatedKey, 65, []string{"unusable answer", "installed files left untouched"}},
		{fakeservice.ModeQuota, 77, []string{"rejected", "uota", "no automatic retry before"}},
		{fakeservice.ModeLockout, 77, []string{"rejected", "no automatic retry before"}},
	}
	for _, p := range e2ePresets {
		for _, f := range failures {
			t.Run(p.name+"/"+string(f.mode), func(t *testing.T) {
				t.Parallel()
				h := newHPCHome(t)
				ca := e2eNewCA(t)
				settings := ""
				if f.mode == fakeservice.ModeHang {
					settings = "timeout = \"3s\"\n"
				}
				svc := e2eHTTPSetup(t, h, p, fakeservice.Options{CA: ca}, settings)
				h.writeConfig(svc.toml)
				pub := e2eUserKey(t, svc.key)
				now := time.Now()
				e2eSignCert(t, ca, pub, svc.user, now.Add(-48*time.Hour), now.Add(-24*time.Hour), svc.key+"-cert.pub")
				before := e2eSnapshot(t, h.ssh)

				svc.SetMode(f.mode)
				r := h.hpc()
				line := wantFail(t, r, f.code, p.name)
				wantContains(t, "stderr line", line, f.says...)
				if f.mode == fakeservice.ModeHang && r.took > 3*time.Second+7*time.Second {
					// A hang guard, not a speed claim: the profile's timeout is 3s.
					t.Errorf("a hanging service held hpc-auth for %v with timeout = 3s", r.took)
				}
				if n := svc.Requests(); n != 1 {
					t.Errorf("%d requests; want exactly 1 (no automatic retry)", n)
				}
				e2eSameSnapshot(t, "~/.ssh after a refused answer", before, e2eSnapshot(t, h.ssh))
				e2eWantPrivateState(t, h.state)
			})
		}
	}
}

// TestE2EOtherCAWithoutPinning: without cert_authority, a certificate from
// a CA other than the expected one is the service's business (a centre may
// rotate its CA); with cert_authority (TestE2EHTTPFailures) it is refused.
func TestE2EOtherCAWithoutPinning(t *testing.T) {
	t.Parallel()
	h := newHPCHome(t)
	p := e2ePresets[0]
	svc := e2eHTTPSetup(t, h, p, fakeservice.Options{}, "")
	h.writeConfig(strings.Replace(svc.toml, "cert_authority = ", "# cert_authority = ", 1))
	svc.SetMode(fakeservice.ModeOtherCA)
	wantSilent(t, h.hpc())
	e2eCheckPair(t, svc.key, svc.key+"-cert.pub", svc.OtherCAPublicKey(), svc.user, true)
}

// TestE2EWrongPasswordCooldown: a wrong password is exit 77 with the
// service's own words and the time before which nothing is retried; the
// next run is refused without contacting the service; --force, once the
// secret is fixed, renews.
//
// The --force run waits for the next TOTP time step (at most 30 s): the
// failed run spent the current one, and the engine never sends a step
// twice. That one wait is deliberate (cscs only): it proves the ledger
// across processes against a service that refuses reused codes.
func TestE2EWrongPasswordCooldown(t *testing.T) {
	t.Parallel()
	for _, p := range e2ePresets[:4] {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			svc := e2eHTTPSetup(t, h, p, fakeservice.Options{}, "timeout = \"50s\"\n")
			h.writeConfig(svc.toml)
			h.secretFile(p.name+"-password", "not-"+svc.password)

			line := wantFail(t, h.hpc(), 77, p.name)
			wantContains(t, "stderr line", line, p.rejected, "no automatic retry before ",
				"fix the secret, then run: hpc-auth -p "+p.name+" refresh --force")
			if svc.Requests() != 1 {
				t.Fatalf("%d requests; want 1", svc.Requests())
			}

			line = wantFail(t, h.hpc(), 77, p.name)
			wantContains(t, "stderr line", line, "earlier authentication rejection", "no automatic retry before ", "refresh --force")
			if svc.Requests() != 1 {
				t.Fatalf("the run during the cooldown reached the service (%d requests)", svc.Requests())
			}
			// Fixing the secret does not lift the cooldown by itself.
			h.secretFile(p.name+"-password", svc.password)
			wantFail(t, h.hpc(), 77, p.name)
			if svc.Requests() != 1 {
				t.Fatalf("the run during the cooldown reached the service (%d requests)", svc.Requests())
			}
			if p.name != "cscs" {
				return
			}
			wantSilent(t, h.hpc("--force"))
			if svc.Requests() != 2 || svc.Issued() != 1 {
				t.Fatalf("requests %d, issued %d; want 2 and 1", svc.Requests(), svc.Issued())
			}
			e2eCheckPair(t, svc.key, svc.key+"-cert.pub", svc.ca.PublicKey(), svc.user, true)
			wantSilent(t, h.hpc())
			if svc.Requests() != 2 {
				t.Fatalf("the fast path reached the service")
			}
		})
	}
}

// TestE2EGraceWarning: the certificate needs renewal (30 min left, under
// the default min_validity of 1h) but still has more than grace (10m): a
// failed renewal warns on stderr and exits 0, so that AiiDA's connection
// goes ahead. A rejection still starts the cooldown: the next run warns
// again without contacting the service. -q silences the warning.
func TestE2EGraceWarning(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		mode fakeservice.Mode
		says string
	}{
		{"5xx", fakeservice.Mode5xx, "unavailable"},
		{"wrong-password", fakeservice.ModeOK, "rejected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHPCHome(t)
			svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "")
			h.writeConfig(svc.toml)
			pub := e2eUserKey(t, svc.key)
			now := time.Now()
			e2eSignCert(t, svc.ca, pub, svc.user, now.Add(-time.Hour), now.Add(30*time.Minute), svc.key+"-cert.pub")
			before := e2eSnapshot(t, h.ssh)
			svc.SetMode(c.mode)
			if c.mode == fakeservice.ModeOK {
				h.secretFile("cscs-password", "not-"+svc.password)
			}

			r := h.hpc()
			if r.code != 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("want exit 0 and one warning line; got %v", r)
			}
			wantContains(t, "warning", r.stderr, "hpc-auth: warning: cscs: renewal failed (", c.says,
				"the current certificate is still valid for ")
			if svc.Requests() != 1 {
				t.Fatalf("%d requests; want 1", svc.Requests())
			}
			var env []string
			if c.mode != fakeservice.ModeOK {
				// A state directory whose TOTP ledger has not spent this
				// step, or the run would wait for the next one.
				env = []string{"HPC_AUTH_STATE_DIR=" + h.path("state2")}
			}
			r = h.hpcRun(nil, env, "-q")
			if r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Fatalf("-q: want exit 0 and no output; got %v", r)
			}
			if c.mode == fakeservice.ModeOK {
				if svc.Requests() != 1 {
					t.Fatalf("the run during the cooldown reached the service")
				}
				wantContains(t, "warning", h.hpc().stderr, "earlier authentication rejection")
			}
			e2eSameSnapshot(t, "~/.ssh after a failed renewal", before, e2eSnapshot(t, h.ssh))
		})
	}
}

// TestE2EServiceUnreachable: a service that is down is 69; one whose TLS
// certificate is not trusted (no ca_file) is 69 too, and the line points at
// ca_file; a ca_file that does not exist is a configuration problem (78).
func TestE2EServiceUnreachable(t *testing.T) {
	t.Parallel()
	h := newHPCHome(t)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "")

	h.writeConfig(strings.Replace(svc.toml, "ca_file = ", "# ca_file = ", 1))
	line := wantFail(t, h.hpc(), 69, "cscs")
	wantContains(t, "stderr line", line, "TLS", "ca_file", "try again later")

	h.writeConfig(strings.Replace(svc.toml, "tls/cscs.pem", "tls/nope.pem", 1))
	line = wantFail(t, h.hpc(), 78, "cscs")
	wantContains(t, "stderr line", line, "ca_file", "nope.pem")
	if svc.Requests() != 0 {
		t.Fatalf("%d requests reached the service through untrusted TLS", svc.Requests())
	}

	h.writeConfig(svc.toml)
	svc.Close()
	h.state = h.path("state2") // the first run spent this step's code in the first state dir
	line = wantFail(t, h.hpc(), 69, "cscs")
	wantContains(t, "stderr line", line, "connection refused", "try again later")
}

// TestE2EInsecureSecretFile: a file: secret that others may read is refused
// (78, saying how to fix it) before anything is sent.
func TestE2EInsecureSecretFile(t *testing.T) {
	t.Parallel()
	h := newHPCHome(t)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "")
	h.writeConfig(svc.toml)
	h.write("secrets/cscs-password", []byte(svc.password), 0o644)
	line := wantFail(t, h.hpc(), 78, "cscs")
	wantContains(t, "stderr line", line, "cscs-password", "chmod 600")
	if svc.Requests() != 0 {
		t.Fatal("the service was contacted")
	}
}

// TestE2EHTTPConcurrentCallers: AiiDA's daemon workers find the expired
// certificate at once. With a real key service that refuses a reused TOTP
// code, exactly one request is made (the lock, the re-check under it, and
// the TOTP ledger), and every caller exits 0 without a word.
func TestE2EHTTPConcurrentCallers(t *testing.T) {
	t.Parallel()
	h := newHPCHome(t)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "")
	h.writeConfig(svc.toml)
	const n = 8
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range cmds {
		cmds[i] = exec.Command(hpcAuthBinary(t))
		cmds[i].Env = h.environ()
		cmds[i].SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		outs[i] = &bytes.Buffer{}
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	guard := time.AfterFunc(hpcRunGuard, func() {
		for _, c := range cmds {
			syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		}
	})
	defer guard.Stop()
	for i, c := range cmds {
		if err := c.Wait(); err != nil || outs[i].Len() > 0 {
			t.Errorf("caller %d: %v, output %q", i, err, outs[i])
		}
	}
	if svc.Requests() != 1 || svc.Issued() != 1 {
		t.Fatalf("requests %d, issued %d for %d concurrent callers; want 1 and 1", svc.Requests(), svc.Issued(), n)
	}
	e2eCheckPair(t, svc.key, svc.key+"-cert.pub", svc.ca.PublicKey(), svc.user, true)
}

// TestE2EGraceDoesNotWaitForTOTP: the certificate is due for renewal but
// still logs in (more than grace left), and the last attempt, moments ago,
// spent the current TOTP step. The next caller (an AiiDA worker about to
// connect) must not be held up until the next step (up to 30 s) for a
// renewal that can wait: it warns and exits 0 without a request.
func TestE2EGraceDoesNotWaitForTOTP(t *testing.T) {
	t.Parallel()
	h := newHPCHome(t)
	svc := e2eHTTPSetup(t, h, e2ePresets[0], fakeservice.Options{}, "timeout = \"50s\"\n")
	h.writeConfig(svc.toml)
	pub := e2eUserKey(t, svc.key)
	now := time.Now()
	e2eSignCert(t, svc.ca, pub, svc.user, now.Add(-time.Hour), now.Add(30*time.Minute), svc.key+"-cert.pub")
	if left := 30 - now.Unix()%30; left < 5 {
		// Both runs must fall into one time step.
		time.Sleep(time.Duration(left) * time.Second)
	}
	step := time.Now().Unix() / 30

	svc.SetMode(fakeservice.Mode5xx)
	r := h.hpc()
	if r.code != 0 || !strings.Contains(r.stderr, "warning") {
		t.Fatalf("want a warning and exit 0; got %v", r)
	}
	svc.SetMode(fakeservice.ModeOK)
	r = h.hpc()
	if r.code != 0 || !strings.Contains(r.stderr, "warning") {
		t.Fatalf("want a warning and exit 0; got %v", r)
	}
	if time.Now().Unix()/30 != step {
		t.Fatal("the runs took longer than a time step")
	}
	if svc.Requests() != 1 {
		t.Fatalf("the second run waited for the next TOTP step and renewed (%d requests) although the certificate still logs in", svc.Requests())
	}
	// That --force waits for the next step is TestE2EWrongPasswordCooldown's.
}
