package provider

import (
	"context"
	"encoding/json"
)

// cscsDefaultURL is the legacy CSCS SSHService endpoint (retired from Q2
// 2026, but still what most automation speaks).
const cscsDefaultURL = "https://sshservice.cscs.ch/api/v1/auth/ssh-keys/signed-key"

// cscsProvider speaks the legacy CSCS SSHService protocol: a JSON body with
// username, password and otp (a separate field), answered by a
// server-generated key pair {"public": cert, "private": key}; errors are
// {"payload": {"message": ...}}.
type cscsProvider struct{ svc *httpService }

// NewCSCSLegacy returns the cscs-legacy provider.
func NewCSCSLegacy(c HTTPConfig) (Provider, error) {
	svc, err := httpNewService(c, cscsDefaultURL, false)
	if err != nil {
		return nil, err
	}
	return &cscsProvider{svc: svc}, nil
}

func (p *cscsProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
	user, err := httpUsername(req, p.svc.cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := httpWithDeadline(ctx)
	defer cancel()
	password, otp, err := httpSecrets(ctx, req, true, true)
	if err != nil {
		return nil, err
	}
	secrets := httpSecretForms(user, password, otp)
	ans, err := p.svc.postJSON(ctx, req, map[string]string{"username": user, "password": password, "otp": otp}, secrets, httpJSONMessage)
	if err != nil {
		return nil, err
	}
	var out struct {
		Public  *string `json:"public"`
		Private *string `json:"private"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		return nil, p.svc.badAnswer(ans.status, "answer is not the expected JSON%s", httpSnippet(ans.body, secrets))
	}
	if out.Public == nil || out.Private == nil {
		return nil, p.svc.badAnswer(ans.status, "answer lacks \"public\" or \"private\"")
	}
	return p.svc.checkPair(ans.status, []byte(*out.Public), true, []byte(*out.Private), nil)
}
