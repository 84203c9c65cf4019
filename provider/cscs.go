package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
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
	body, err := json.Marshal(map[string]string{"username": user, "password": password, "otp": otp})
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.svc.url.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	ans, err := p.svc.do(ctx, httpLogger(req), hreq, secrets, httpJSONMessage)
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
