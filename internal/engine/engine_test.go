package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/cert/certtest"
	"github.com/hpc-auth/hpc-auth/cert/quick"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/state"
	"github.com/hpc-auth/hpc-auth/provider"
)

// fakeProvider returns a new key pair signed by ca, valid for validity from
// the engine's clock, or err.
type fakeProvider struct {
	tb       testing.TB
	ca       *certtest.CA
	now      func() time.Time
	validity time.Duration
	err      error
	calls    int
}

func (f *fakeProvider) Renew(ctx context.Context, req *provider.Request) (*provider.Result, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	priv, pub := certtest.NewKey(f.tb)
	c := f.ca.Sign(f.tb, pub, certtest.Options{Principals: []string{"u"}, ValidAfter: f.now().Add(-time.Minute), ValidBefore: f.now().Add(f.validity)})
	return &provider.Result{PrivateKey: priv, Certificate: c}, nil
}

type rig struct {
	e   *Engine
	p   *config.Profile
	f   *fakeProvider
	ca  *certtest.CA
	now time.Time
}

func newRig(t *testing.T) *rig {
	dir := t.TempDir()
	r := &rig{ca: certtest.NewCA(t), now: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	clock := func() time.Time { return r.now }
	r.f = &fakeProvider{tb: t, ca: r.ca, now: clock, validity: 24 * time.Hour}
	r.p = &config.Profile{
		Name: "t", Provider: "fake", Key: filepath.Join(dir, "id"), Certificate: filepath.Join(dir, "id-cert.pub"),
		MinValidity: cert.Threshold{Duration: time.Hour}, Grace: 10 * time.Minute, Timeout: 10 * time.Second,
		Cooldown: 15 * time.Minute,
	}
	r.e = &Engine{
		Now:         clock,
		State:       state.Store{Dir: filepath.Join(dir, "state")},
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		NewProvider: func(*config.Profile, *Engine) (provider.Provider, error) { return r.f, nil },
	}
	return r
}

// install puts a certificate valid from now-1h for validity into place.
func (r *rig) install(t *testing.T, validity time.Duration) {
	priv, pub := certtest.NewKey(t)
	c := r.ca.Sign(t, pub, certtest.Options{Principals: []string{"u"}, ValidAfter: r.now.Add(-time.Hour), ValidBefore: r.now.Add(validity)})
	if err := cert.Install(r.p.Key, r.p.Certificate, cert.Pair{PrivateKey: priv, Certificate: c}); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshEdges(t *testing.T) {
	rejected := fmt.Errorf("%w: wrong code", provider.ErrRejected)
	down := fmt.Errorf("%w: 503", provider.ErrUnavailable)
	for _, tc := range []struct {
		name     string
		left     time.Duration // validity left on the installed cert; 0 = none installed
		err      error         // provider's error
		want     Action
		wantErr  error
		renewals int
	}{
		{"no certificate", 0, nil, Renewed, nil, 1},
		{"plenty left", 2 * time.Hour, nil, StillValid, nil, 0},
		{"exactly min_validity left", time.Hour, nil, StillValid, nil, 0},
		{"a second short of min_validity", time.Hour - time.Second, nil, Renewed, nil, 1},
		{"expired", -time.Second, nil, Renewed, nil, 1},
		{"failure, exactly grace left", 10 * time.Minute, down, GraceWarning, nil, 1},
		{"failure, a second short of grace", 10*time.Minute - time.Second, down, 0, provider.ErrUnavailable, 1},
		{"rejection within grace still warns", 30 * time.Minute, rejected, GraceWarning, nil, 1},
		{"rejection, nothing left", 0, rejected, 0, provider.ErrRejected, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			if tc.left != 0 {
				r.install(t, tc.left)
			}
			r.f.err = tc.err
			out, err := r.e.Refresh(context.Background(), r.p, Options{})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("err = %v", err)
			} else if out.Action != tc.want {
				t.Fatalf("action = %v, want %v", out.Action, tc.want)
			}
			if r.f.calls != tc.renewals {
				t.Errorf("provider called %d times, want %d", r.f.calls, tc.renewals)
			}
		})
	}
}

func TestCooldownAndQuota(t *testing.T) {
	r := newRig(t)
	r.f.err = fmt.Errorf("%w: bad password", provider.ErrRejected)
	_, err := r.e.Refresh(context.Background(), r.p, Options{})
	var rej *RejectedError
	if !errors.As(err, &rej) || !rej.RetryNotBefore.Equal(r.now.Add(15*time.Minute)) {
		t.Fatalf("first rejection: %v", err)
	}
	r.f.err = nil
	r.now = r.now.Add(15*time.Minute - time.Second)
	if _, err := r.e.Refresh(context.Background(), r.p, Options{}); !errors.Is(err, ErrCooldown) || r.f.calls != 1 {
		t.Fatalf("during cooldown: %v (calls %d)", err, r.f.calls)
	}
	r.now = r.now.Add(time.Second)
	if out, err := r.e.Refresh(context.Background(), r.p, Options{}); err != nil || out.Action != Renewed {
		t.Fatalf("after cooldown: %v %v", out, err)
	}

	// max_per_day: the third renewal within 24 h is deferred until the
	// first leaves the window.
	q := newRig(t)
	q.p.MaxPerDay = 2
	first := q.now
	for i := 0; i < 2; i++ {
		if _, err := q.e.Refresh(context.Background(), q.p, Options{Force: true}); err != nil {
			t.Fatal(err)
		}
		q.now = q.now.Add(time.Hour)
	}
	os.Remove(q.p.Certificate)
	_, err = q.e.Refresh(context.Background(), q.p, Options{})
	var def *DeferredError
	if !errors.As(err, &def) || !errors.Is(err, ErrQuota) || !def.NotBefore.Equal(first.Add(24*time.Hour)) {
		t.Fatalf("quota: %v", err)
	}
	q.now = first.Add(24 * time.Hour)
	if _, err := q.e.Refresh(context.Background(), q.p, Options{}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
}

// TestRefusedAnswerLeavesFiles: an answer that fails the checks (wrong CA,
// expired, host certificate) never touches the installed pair.
func TestRefusedAnswerLeavesFiles(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(r *rig)
	}{
		{"other CA", func(r *rig) {
			r.p.CertAuthority = r.ca.WritePub(t.TempDir())
			r.f.ca = certtest.NewCA(t)
		}},
		{"expired", func(r *rig) { r.f.validity = -time.Minute }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.install(t, 30*time.Minute)
			r.p.Grace = 0
			before, _ := os.ReadFile(r.p.Certificate)
			beforeKey, _ := os.ReadFile(r.p.Key)
			tc.mod(r)
			_, err := r.e.Refresh(context.Background(), r.p, Options{})
			if !errors.Is(err, provider.ErrBadAnswer) {
				t.Fatalf("err = %v, want ErrBadAnswer", err)
			}
			after, _ := os.ReadFile(r.p.Certificate)
			afterKey, _ := os.ReadFile(r.p.Key)
			if string(before) != string(after) || string(beforeKey) != string(afterKey) {
				t.Fatal("a refused answer changed the installed files")
			}
		})
	}
}

// installingProvider writes the key and certificate itself, without a .pub,
// as centre scripts do.
type installingProvider struct {
	r *rig
	t *testing.T
}

func (f installingProvider) Renew(ctx context.Context, req *provider.Request) (*provider.Result, error) {
	priv, pub := certtest.NewKey(f.t)
	c := f.r.ca.Sign(f.t, pub, certtest.Options{Principals: []string{"u"}, ValidAfter: f.r.now.Add(-time.Minute), ValidBefore: f.r.now.Add(24 * time.Hour)})
	if err := os.WriteFile(req.Key, priv, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(req.Certificate, c, 0o644); err != nil {
		return nil, err
	}
	return &provider.Result{Installed: true}, nil
}

// TestInstalledByProviderGetsPub: after a provider installs a pair without
// a .pub, the engine writes one, so that the next run takes the fast path.
func TestInstalledByProviderGetsPub(t *testing.T) {
	r := newRig(t)
	r.e.NewProvider = func(*config.Profile, *Engine) (provider.Provider, error) { return installingProvider{r, t}, nil }
	if out, err := r.e.Refresh(context.Background(), r.p, Options{}); err != nil || out.Action != Renewed {
		t.Fatalf("%v %v", out, err)
	}
	if !quick.Check(r.p.Key, r.p.Certificate, "", r.p.MinValidity, r.now) {
		t.Fatal("the fast path does not accept the installed pair")
	}
}

// TestInstallFailsToWrite: a key directory that cannot be written gives
// cert.ErrWrite (exit 73), not a bad answer.
func TestInstallFailsToWrite(t *testing.T) {
	r := newRig(t)
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	r.p.Key = filepath.Join(blocker, "id") // a directory that is a file
	r.p.Certificate = r.p.Key + "-cert.pub"
	_, err := r.e.Refresh(context.Background(), r.p, Options{})
	if !errors.Is(err, cert.ErrWrite) || errors.Is(err, provider.ErrBadAnswer) {
		t.Fatalf("err = %v, want cert.ErrWrite", err)
	}
}
