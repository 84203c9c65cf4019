package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hpc-auth/hpc-auth/cert"
	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/internal/engine"
	"github.com/hpc-auth/hpc-auth/internal/state"
)

func statusCmd() *command {
	return &command{name: "status", usage: statusUsage, run: runStatus}
}

// profileStatus is one element of `status --json`; the field names are the
// spec's.
type profileStatus struct {
	Profile          string   `json:"profile"`
	Provider         string   `json:"provider"`
	Key              string   `json:"key"`
	Certificate      string   `json:"certificate"`
	KeyID            *string  `json:"key_id"`
	Principals       []string `json:"principals"`
	ValidAfter       *string  `json:"valid_after"`
	ValidBefore      *string  `json:"valid_before"`
	RemainingSeconds *int64   `json:"remaining_seconds"`
	NeedsRenewal     bool     `json:"needs_renewal"`
	LastRenewal      *string  `json:"last_renewal"`
	LastError        *string  `json:"last_error"`
	RetryNotBefore   *string  `json:"retry_not_before"`
	RenewalsLast24h  int      `json:"renewals_last_24h"`

	problem string // why the certificate is not usable, for the human output
}

func runStatus(c *cli, args []string) int {
	cmd := statusCmd()
	fs := newFlagSet("status")
	asJSON := fs.Bool("json", false, "")
	all := fs.Bool("all", false, "")
	if code := c.parse(cmd, fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return c.usageFail(&usageError{msg: fmt.Sprintf("unexpected argument %q", fs.Arg(0)), cmd: "status"})
	}
	ps, err := c.profiles(*all)
	if err != nil {
		return c.fail("", err)
	}
	dir, _ := c.resolveStateDir()
	store := state.Store{Dir: dir}
	now := time.Now()
	var out []*profileStatus
	code := exitOK
	for _, p := range ps {
		s := c.status(p, store, now)
		if s.NeedsRenewal {
			code = exitNeedsRenew
		}
		out = append(out, s)
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		var v any = out[0]
		if *all {
			v = out
		}
		if err := enc.Encode(v); err != nil {
			return c.fail("", err)
		}
		return code
	}
	for i, s := range out {
		if i > 0 {
			fmt.Fprintln(c.stdout)
		}
		c.printStatus(s, now)
	}
	return code
}

func (c *cli) status(p *config.Profile, store state.Store, now time.Time) *profileStatus {
	s := &profileStatus{Profile: p.Name, Provider: p.Provider, Key: p.Key, Certificate: p.Certificate, Principals: []string{}}
	crt, err := cert.Load(p.Certificate)
	if err == nil {
		id := crt.KeyId
		s.KeyID = &id
		if crt.ValidPrincipals != nil {
			s.Principals = crt.ValidPrincipals
		}
		w := cert.WindowOf(crt)
		va := w.After.UTC().Format(time.RFC3339)
		s.ValidAfter = &va
		if !w.Forever {
			vb := w.Before.UTC().Format(time.RFC3339)
			s.ValidBefore = &vb
			r := int64(w.Remaining(now) / time.Second)
			if r < 0 {
				r = 0
			}
			s.RemainingSeconds = &r
		}
	}
	usable, uerr := engine.Usable(p, now)
	switch {
	case err != nil:
		s.problem = err.Error()
		s.NeedsRenewal = true
	case uerr != nil:
		s.problem = uerr.Error()
		s.NeedsRenewal = true
	case cert.Fresh(usable, now, p.MinValidity) != nil:
		s.problem = fmt.Sprintf("less than min_validity (%s) left", p.MinValidity)
		s.NeedsRenewal = true
	}
	if cert.Pending(p.Key, p.Certificate) {
		s.NeedsRenewal = true
		s.problem = "an interrupted install is pending repair (run refresh)"
	}
	st, err := store.Load(p.Name)
	if err == nil || st != nil {
		s.LastRenewal = rfc3339(st.LastRenewal)
		if st.LastError != "" {
			e := oneLine(st.LastError)
			s.LastError = &e
		}
		if st.RetryNotBefore != nil && now.Before(*st.RetryNotBefore) {
			s.RetryNotBefore = rfc3339(st.RetryNotBefore)
		}
		s.RenewalsLast24h = st.RenewalsSince(now)
	}
	return s
}

func (c *cli) printStatus(s *profileStatus, now time.Time) {
	w := c.stdout
	fmt.Fprintf(w, "profile:      %s (%s)\n", s.Profile, s.Provider)
	fmt.Fprintf(w, "key:          %s\n", s.Key)
	fmt.Fprintf(w, "certificate:  %s\n", s.Certificate)
	if s.KeyID != nil {
		fmt.Fprintf(w, "key id:       %s\n", *s.KeyID)
		fmt.Fprintf(w, "principals:   %s\n", strings.Join(s.Principals, ", "))
		before := "forever"
		if s.ValidBefore != nil {
			before = *s.ValidBefore
		}
		fmt.Fprintf(w, "valid:        %s to %s\n", *s.ValidAfter, before)
		if s.RemainingSeconds != nil {
			fmt.Fprintf(w, "remaining:    %s\n", roundDur(time.Duration(*s.RemainingSeconds)*time.Second))
		}
	}
	verdict := "ok"
	if s.NeedsRenewal {
		verdict = "needs renewal: " + oneLine(s.problem)
	}
	fmt.Fprintf(w, "state:        %s\n", verdict)
	if s.LastRenewal != nil {
		fmt.Fprintf(w, "last renewal: %s\n", *s.LastRenewal)
	}
	fmt.Fprintf(w, "renewals:     %d in the last 24 h\n", s.RenewalsLast24h)
	if s.LastError != nil {
		fmt.Fprintf(w, "last error:   %s\n", *s.LastError)
	}
	if s.RetryNotBefore != nil {
		fmt.Fprintf(w, "no retry before %s (after an authentication rejection; --force overrides)\n", *s.RetryNotBefore)
	}
}

// rfc3339 formats a state time for status, to the second, in UTC.
func rfc3339(t *time.Time) *string {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Second).Format(time.RFC3339)
	return &v
}
