package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/state"
	"github.com/hpc-auth/hpc-auth/lock"
	"github.com/hpc-auth/hpc-auth/provider"
)

// ErrStateDir: the state directory (lock, state, log) cannot be created.
var ErrStateDir = errors.New("state directory not writable")

// RejectedError is a renewal refused because of an authentication rejection,
// now or earlier, with the moment automatic retries may resume.
type RejectedError struct {
	Err            error
	RetryNotBefore time.Time
}

func (e *RejectedError) Error() string { return e.Err.Error() }
func (e *RejectedError) Unwrap() error { return e.Err }

// DeferredError is a renewal the engine did not attempt (daily quota).
type DeferredError struct {
	Err       error
	NotBefore time.Time
}

func (e *DeferredError) Error() string { return e.Err.Error() }
func (e *DeferredError) Unwrap() error { return e.Err }

// Refresh makes sure the profile's certificate is valid for at least
// min_validity, renewing it when not.
//
// The fast path reads two small files and parses them: no lock, no state
// directory, no network, no keyring. It is what AiiDA runs before nearly
// every SSH connection, so it must cost about as much as starting a process.
func (e *Engine) Refresh(ctx context.Context, p *config.Profile, o Options) (*Outcome, error) {
	min := p.MinValidity
	if o.MinValidity != nil {
		min = *o.MinValidity
	}
	if !o.Force && !cert.Pending(p.Key, p.Certificate) {
		now := e.Now()
		if c, err := Usable(p, now); err == nil && cert.Fresh(c, now, min) == nil {
			return &Outcome{Action: StillValid, Left: cert.WindowOf(c).Remaining(now)}, nil
		}
	}
	return e.renew(ctx, p, min, o.Force)
}

// Usable returns the installed certificate when it can log in now: a user
// certificate for the profile's key, correctly signed (by cert_authority when
// set) and inside its validity window.
func Usable(p *config.Profile, now time.Time) (*ssh.Certificate, error) {
	c, err := cert.Load(p.Certificate)
	if err != nil {
		return nil, err
	}
	pub, err := cert.PublicKey(p.Key)
	if err != nil {
		return nil, err
	}
	auth, err := authority(p)
	if err != nil {
		return nil, err
	}
	if err := cert.Verify(c, pub, auth, now); err != nil {
		return nil, err
	}
	return c, nil
}

func authority(p *config.Profile) (*cert.Authority, error) {
	if p.CertAuthority == "" {
		return nil, nil
	}
	a, err := cert.ParseAuthority(p.CertAuthority)
	if err != nil {
		return nil, fmt.Errorf("%w: profiles.%s.cert_authority: %v", config.ErrConfig, p.Name, err)
	}
	return a, nil
}

func (e *Engine) renew(ctx context.Context, p *config.Profile, min cert.Threshold, force bool) (*Outcome, error) {
	// One deadline for every step: the lock wait, reading secrets, waiting
	// for a fresh TOTP step, the provider and the install.
	ctx, cancel := context.WithTimeout(ctx, p.Timeout)
	defer cancel()
	if err := e.State.EnsureDir(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrStateDir, e.State.Dir, err)
	}
	lockPath := e.State.LockPath(p.Name)
	l, err := lock.TryAcquire(lockPath)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStateDir, err)
	}
	if l == nil {
		// Another process is renewing. If what we have still logs in,
		// waiting would only hold up the caller: the other renewal will
		// land before ours could.
		if !force {
			if c, err := Usable(p, e.Now()); err == nil {
				e.Log.Debug("renewal already running elsewhere; current certificate still valid", "profile", p.Name)
				return &Outcome{Action: OtherRenewing, Left: cert.WindowOf(c).Remaining(e.Now())}, nil
			}
		}
		e.Log.Debug("waiting for the lock", "profile", p.Name, "lock", lockPath)
		l, err = lock.Acquire(ctx, lockPath)
		if err != nil {
			return e.withinGrace(p, err)
		}
	}
	defer l.Release()
	out, err := e.renewLocked(ctx, p, min, force)
	if err != nil {
		return e.withinGrace(p, err)
	}
	return out, nil
}

// withinGrace turns a failed renewal into a warning when the certificate in
// place still has at least grace left: the caller can connect now, and the
// next run will try again.
func (e *Engine) withinGrace(p *config.Profile, err error) (*Outcome, error) {
	now := e.Now()
	c, uerr := Usable(p, now)
	if uerr != nil || p.Grace <= 0 {
		return nil, err
	}
	left := cert.WindowOf(c).Remaining(now)
	if left < p.Grace {
		return nil, err
	}
	e.Log.Warn("renewal failed; current certificate still valid", "profile", p.Name, "left", left.Round(time.Second).String(), "err", err.Error())
	return &Outcome{Action: GraceWarning, Warning: err, Left: left}, nil
}

func (e *Engine) renewLocked(ctx context.Context, p *config.Profile, min cert.Threshold, force bool) (*Outcome, error) {
	if repaired, err := cert.Repair(p.Key, p.Certificate); err != nil {
		return nil, err
	} else if repaired {
		e.Log.Info("repaired an interrupted install", "profile", p.Name)
	}
	now := e.Now()
	// Re-check under the lock: another process may have renewed while we
	// waited, and a second renewal would only burn the daily quota.
	cur, curErr := Usable(p, now)
	if !force && curErr == nil && cert.Fresh(cur, now, min) == nil {
		return &Outcome{Action: RenewedByOther, Left: cert.WindowOf(cur).Remaining(now)}, nil
	}
	st, err := e.State.Load(p.Name)
	if err != nil {
		e.Log.Warn("state file unreadable; starting afresh", "profile", p.Name, "err", err.Error())
		st = &state.State{}
	}
	if st.RetryNotBefore != nil && now.Before(*st.RetryNotBefore) {
		if !force {
			return nil, &RejectedError{Err: fmt.Errorf("%w (%s)", ErrCooldown, st.LastError), RetryNotBefore: *st.RetryNotBefore}
		}
		e.Log.Info("--force overrides the cooldown", "profile", p.Name)
	}
	if p.MaxPerDay > 0 && st.RenewalsSince(now) >= p.MaxPerDay {
		next := st.NextAllowed(now, p.MaxPerDay)
		return nil, &DeferredError{Err: fmt.Errorf("%w: %d renewals in the last 24 h (max_per_day = %d)", ErrQuota, st.RenewalsSince(now), p.MaxPerDay), NotBefore: next}
	}
	prov, err := e.provider(p)
	if err != nil {
		return nil, err
	}
	secrets := e.secretsFor(p)
	// As with the lock above: while the certificate in place still logs in
	// for at least grace, do not hold the caller up for a fresh TOTP step.
	// A human's --force waits.
	if !force && p.Grace > 0 && curErr == nil && cert.WindowOf(cur).Remaining(now) >= p.Grace {
		secrets.noWait = true
	}
	req := &provider.Request{
		Profile:     p.Name,
		Username:    Username(p),
		Key:         p.Key,
		Certificate: p.Certificate,
		Secrets:     secrets,
		Terminal:    e.Terminal,
		Log:         e.Log.With("profile", p.Name, "provider", p.Provider),
	}
	if pub, err := os.ReadFile(p.Key + ".pub"); err == nil {
		req.PublicKey = pub
	}
	e.Log.Info("renewing", "profile", p.Name, "provider", p.Provider, "force", force)
	start := e.Now()
	res, err := prov.Renew(ctx, req)
	var c *ssh.Certificate
	if err == nil {
		c, err = e.install(p, res)
	}
	if err != nil {
		var retry time.Time
		if errors.Is(err, provider.ErrRejected) {
			// Accounts get locked after a few failures: a rejected
			// password or code is never retried automatically.
			retry = e.Now().Add(p.Cooldown)
			err = &RejectedError{Err: err, RetryNotBefore: retry}
		}
		st.Failed(e.Now(), err.Error(), retry)
		if serr := e.State.Save(p.Name, st); serr != nil {
			e.Log.Warn("cannot save state", "profile", p.Name, "err", serr.Error())
		}
		e.Log.Error("renewal failed", "profile", p.Name, "err", err.Error())
		return nil, err
	}
	now = e.Now()
	st.Succeeded(now)
	if serr := e.State.Save(p.Name, st); serr != nil {
		e.Log.Warn("cannot save state", "profile", p.Name, "err", serr.Error())
	}
	left := cert.WindowOf(c).Remaining(now)
	e.Log.Info("renewed", "profile", p.Name, "key_id", c.KeyId, "valid_for", left.Round(time.Second).String(), "took", now.Sub(start).Round(time.Millisecond).String())
	if err := cert.Fresh(c, now, min); err != nil {
		e.Log.Warn("the service issued a certificate valid for less than min_validity", "profile", p.Name, "valid_for", left.Round(time.Second).String(), "min_validity", min.String())
	}
	if p.Agent {
		if err := addToAgent(p, c, now); err != nil {
			e.Log.Warn("could not add the key to ssh-agent", "profile", p.Name, "err", err.Error())
		}
	}
	return &Outcome{Action: Renewed, Left: left}, nil
}

// install checks what the provider returned and, when it is sound, replaces
// the key and certificate. A refused answer never touches the files.
func (e *Engine) install(p *config.Profile, res *provider.Result) (*ssh.Certificate, error) {
	now := e.Now()
	bad := func(err error) error { return fmt.Errorf("%w: %w", provider.ErrBadAnswer, err) }
	if res == nil {
		return nil, bad(ErrNoCertificate)
	}
	if res.Installed {
		// The command wrote the files itself; all we can do is judge them.
		if _, err := cert.Repair(p.Key, p.Certificate); err != nil {
			return nil, err
		}
		c, err := Usable(p, now)
		if err != nil {
			return nil, bad(fmt.Errorf("after the provider's command: %w", err))
		}
		// Centre scripts often write no .pub (cscs-keygen.sh does not);
		// the fast path compares the certificate with the .pub, so give
		// it one, derived from the certificate just checked against the key.
		if _, err := os.Lstat(p.Key + ".pub"); errors.Is(err, os.ErrNotExist) {
			if err := state.WriteFileAtomic(p.Key+".pub", ssh.MarshalAuthorizedKey(c.Key), 0o644); err != nil {
				e.Log.Warn("cannot write the public key", "path", p.Key+".pub", "err", err.Error())
			}
		}
		return c, nil
	}
	c, err := cert.Parse(res.Certificate)
	if err != nil {
		return nil, bad(err)
	}
	var pub ssh.PublicKey
	if res.PrivateKey != nil {
		signer, err := cert.ParsePrivateKey(res.PrivateKey)
		if err != nil {
			return nil, bad(err)
		}
		pub = signer.PublicKey()
	} else {
		pub, err = cert.PublicKey(p.Key)
		if err != nil {
			return nil, bad(fmt.Errorf("the service signed the existing key, but it cannot be read: %w", err))
		}
	}
	auth, err := authority(p)
	if err != nil {
		return nil, err
	}
	if err := cert.Verify(c, pub, auth, now); err != nil {
		return nil, bad(err)
	}
	pair := cert.Pair{PrivateKey: res.PrivateKey, Certificate: res.Certificate}
	if err := cert.Install(p.Key, p.Certificate, pair); err != nil {
		return nil, err
	}
	return c, nil
}

// Username is the profile's username, by default the login name. It is
// looked up here, at renewal, not when the config is read: the fast path
// must not pay for a passwd lookup.
func Username(p *config.Profile) string {
	if p.Username != "" {
		return p.Username
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return os.Getenv("LOGNAME")
}
