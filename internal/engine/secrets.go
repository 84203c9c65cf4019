package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/keyring"
	"github.com/hpc-auth/hpc-auth/totp"
)

// LedgerFile is the state directory's record of TOTP steps already sent,
// shared by every profile so that two clusters behind one account never
// receive the same code.
const LedgerFile = "totp-steps.json"

// profileSecrets reads a profile's secrets only when a provider asks.
type profileSecrets struct {
	e        *Engine
	p        *config.Profile
	password string
	havePass bool
	// noWait: the certificate in place still logs in for at least grace,
	// so the caller (an AiiDA worker about to connect) is not held up for
	// a fresh TOTP step, which can take a whole period; a later run renews.
	noWait bool
}

// noWaitOTP bounds the wait for a TOTP step when noWait is set.
const noWaitOTP = 2 * time.Second

func (e *Engine) secretsFor(p *config.Profile) *profileSecrets {
	return &profileSecrets{e: e, p: p}
}

// Ref parses one of the profile's secret references ("password" or "totp").
func Ref(p *config.Profile, kind string) (keyring.Ref, error) {
	raw := p.Password
	if kind == "totp" {
		raw = p.TOTP
	}
	ref, err := keyring.ParseRef(raw, p.Name, kind)
	if err != nil {
		return ref, fmt.Errorf("profiles.%s.%s: %w", p.Name, kind, err)
	}
	return ref, nil
}

func (s *profileSecrets) Password(ctx context.Context) (string, error) {
	if s.havePass {
		return s.password, nil
	}
	ref, err := Ref(s.p, "password")
	if err != nil {
		return "", err
	}
	v, err := s.e.Secrets.Get(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("password: %w", err) // err names the reference
	}
	s.password, s.havePass = v, true
	return v, nil
}

func (s *profileSecrets) OTP(ctx context.Context) (string, error) {
	ref, err := Ref(s.p, "totp")
	if err != nil {
		return "", err
	}
	raw, err := s.e.Secrets.Get(ctx, ref)
	if err != nil {
		return "", fmt.Errorf("TOTP secret: %w", err) // err names the reference
	}
	sec, err := totp.Parse(raw)
	raw = ""
	if err != nil {
		return "", fmt.Errorf("TOTP secret from %s: %w", ref, err)
	}
	l := &totp.Ledger{
		Path: filepath.Join(s.e.State.Dir, LedgerFile),
		Now:  s.e.Now,
		Log:  s.e.Log.With("profile", s.p.Name),
	}
	if s.noWait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, noWaitOTP)
		defer cancel()
	}
	return l.Next(ctx, sec)
}
