package engine

import (
	"fmt"
	"path/filepath"

	"github.com/hpc-auth/hpc-auth/internal/config"
	"github.com/hpc-auth/hpc-auth/provider"
)

func (e *Engine) provider(p *config.Profile) (provider.Provider, error) {
	if e.NewProvider != nil {
		return e.NewProvider(p, e)
	}
	return Build(p, e.State.Dir)
}

// Build makes the profile's provider from its settings. The provider table
// is explicit: no init() registry, so what can run is visible here.
func Build(p *config.Profile, stateDir string) (provider.Provider, error) {
	h := provider.HTTPConfig{
		URL:              p.URL,
		CAFile:           p.CAFile,
		Username:         Username(p),
		Lifetime:         p.Lifetime,
		Request:          p.Request,
		CertificateField: p.CertificateField,
		PrivateKeyField:  p.PrivateKeyField,
	}
	var (
		prov provider.Provider
		err  error
	)
	switch p.Provider {
	case "command":
		prov, err = provider.NewCommand(provider.CommandConfig{Command: p.Command, NeedsTerminal: p.NeedsTerminal})
	case "script":
		sc := provider.ScriptConfig{
			Command:     p.Command,
			AnswerAfter: p.AnswerAfter,
			Transcript:  filepath.Join(stateDir, p.Name+".transcript"),
		}
		for _, d := range p.Dialog {
			sc.Dialog = append(sc.Dialog, dialogStep(d))
		}
		prov, err = provider.NewScript(sc)
	case "cscs-legacy":
		prov, err = provider.NewCSCSLegacy(h)
	case "nersc":
		prov, err = provider.NewNERSC(h)
	case "lbnl-msm":
		prov, err = provider.NewLBNLMSM(h)
	case "http":
		prov, err = provider.NewHTTP(h)
	default:
		err = fmt.Errorf("%w: unknown provider %q", provider.ErrConfig, p.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("profiles.%s: %w", p.Name, err)
	}
	return prov, nil
}

func dialogStep(d config.DialogStep) provider.DialogStep {
	return provider.DialogStep{Expect: d.Expect, Send: d.Send, Optional: d.Optional, NoEnter: !d.Enter}
}
