package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// lbnlDefaultURL is the Lawrencium MSM endpoint (preset "lrc" of
// request_cert.sh); BRC/Savio users set url = "https://msm.brc.lbl.gov/v1/cert".
const lbnlDefaultURL = "https://msm.scs.lbl.gov/v1/cert"

// lbnlDefaultLifetime is what request_cert.sh asks for.
const lbnlDefaultLifetime = 12 * time.Hour

// lbnlProvider speaks LBNL MSM: a JSON body with username, password (the
// PIN), mfa and lifetime, answered by 201 with a server-generated key pair.
type lbnlProvider struct {
	svc      *httpService
	lifetime string
}

// NewLBNLMSM returns the lbnl-msm provider.
func NewLBNLMSM(c HTTPConfig) (Provider, error) {
	if c.Lifetime < 0 {
		return nil, fmt.Errorf("%w: negative lifetime", ErrConfig)
	}
	if c.Lifetime == 0 {
		c.Lifetime = lbnlDefaultLifetime
	}
	svc, err := httpNewService(c, lbnlDefaultURL, false)
	if err != nil {
		return nil, err
	}
	return &lbnlProvider{svc: svc, lifetime: lbnlFormatLifetime(c.Lifetime)}, nil
}

// lbnlFormatLifetime writes a lifetime the way request_cert.sh does ("12h"):
// whole hours, else whole minutes (rounded up).
func lbnlFormatLifetime(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", (d+time.Minute-1)/time.Minute)
}

func (p *lbnlProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
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
	ans, err := p.svc.postJSON(ctx, req, map[string]string{"username": user, "password": password, "mfa": otp, "lifetime": p.lifetime}, secrets, nil)
	if err != nil {
		return nil, err
	}
	var out struct {
		KeyID           string  `json:"key_id"`
		PrivateKey      *string `json:"private_key"`
		SignedPublicKey *string `json:"signed_public_key"`
		ExpiresAt       string  `json:"expires_at"`
	}
	if err := json.Unmarshal(ans.body, &out); err != nil {
		return nil, p.svc.badAnswer(ans.status, "answer is not the expected JSON%s", httpSnippet(ans.body, secrets))
	}
	if out.PrivateKey == nil || out.SignedPublicKey == nil {
		return nil, p.svc.badAnswer(ans.status, "answer lacks \"private_key\" or \"signed_public_key\"")
	}
	httpLogger(req).Debug("key service issued", "host", p.svc.host, "key_id", out.KeyID, "expires_at", out.ExpiresAt)
	return p.svc.checkPair(ans.status, []byte(*out.SignedPublicKey), true, []byte(*out.PrivateKey), nil)
}
