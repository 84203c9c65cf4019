package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// genericProvider speaks a configurable JSON-over-HTTPS key service: a POST
// whose JSON fields are templates, answered by JSON that holds a
// certificate and, unless the service signs our key, a private key.
type genericProvider struct {
	svc       *httpService
	request   map[string]string
	certField string
	keyField  string // empty: the service signs Request.PublicKey

	needPassword, needOTP, needPublicKey bool
}

var genericPlaceholderRE = regexp.MustCompile(`\{[A-Za-z_]+\}`)

// NewHTTP returns the generic http provider. URL is required. Without
// Request the body is {"username","password","otp"} plus "public_key" when
// PrivateKeyField is empty; CertificateField defaults to "certificate".
func NewHTTP(c HTTPConfig) (Provider, error) {
	if c.URL == "" {
		return nil, fmt.Errorf("%w: the http provider needs a url", ErrConfig)
	}
	svc, err := httpNewService(c, "", false)
	if err != nil {
		return nil, err
	}
	p := &genericProvider{svc: svc, request: c.Request, certField: c.CertificateField, keyField: c.PrivateKeyField}
	if p.certField == "" {
		p.certField = "certificate"
	}
	if p.request == nil {
		p.request = map[string]string{"username": "{username}", "password": "{password}", "otp": "{otp}"}
		if p.keyField == "" {
			p.request["public_key"] = "{public_key}"
		}
	}
	for field, tmpl := range p.request {
		for _, ph := range genericPlaceholderRE.FindAllString(tmpl, -1) {
			switch ph {
			case "{username}":
			case "{password}":
				p.needPassword = true
			case "{otp}":
				p.needOTP = true
			case "{public_key}":
				p.needPublicKey = true
			default:
				return nil, fmt.Errorf("%w: request field %q: unknown placeholder %s (known: {username} {password} {otp} {public_key})", ErrConfig, field, ph)
			}
		}
	}
	if p.keyField == "" && !p.needPublicKey {
		return nil, fmt.Errorf("%w: without private_key_field the service must sign our key, but no request field sends {public_key}", ErrConfig)
	}
	return p, nil
}

func (p *genericProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
	user, err := httpUsername(req, p.svc.cfg)
	if err != nil {
		return nil, err
	}
	pub := strings.TrimSpace(string(req.PublicKey))
	if p.needPublicKey && pub == "" {
		return nil, fmt.Errorf("%w: the service signs an existing key, but there is no public key for %s", ErrConfig, req.Key)
	}
	ctx, cancel := httpWithDeadline(ctx)
	defer cancel()
	password, otp, err := httpSecrets(ctx, req, p.needPassword, p.needOTP)
	if err != nil {
		return nil, err
	}
	secrets := httpSecretForms(user, password, otp)
	// One pass, so that a password containing "{otp}" stays as it is.
	r := strings.NewReplacer("{username}", user, "{password}", password, "{otp}", otp, "{public_key}", pub)
	fields := make(map[string]string, len(p.request))
	for k, v := range p.request {
		fields[k] = r.Replace(v)
	}
	ans, err := p.svc.postJSON(ctx, req, fields, secrets, httpJSONMessage)
	if err != nil {
		return nil, err
	}
	cert, key, err := genericExtract(ans.body, p.certField, p.keyField)
	if err != nil {
		return nil, p.svc.badAnswer(ans.status, "%v%s", err, httpSnippet(ans.body, secrets))
	}
	return p.svc.checkPair(ans.status, cert, p.keyField != "", key, req.PublicKey)
}

// genericExtract finds the certificate and (when keyField is set) the
// private key in a JSON answer. key is nil when keyField is empty.
func genericExtract(body []byte, certField, keyField string) (cert, key []byte, err error) {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, nil, fmt.Errorf("answer is not JSON")
	}
	c, ok := httpJSONField(doc, certField)
	if !ok {
		return nil, nil, fmt.Errorf("answer has no string field %q", certField)
	}
	cert = []byte(c)
	if keyField != "" {
		k, ok := httpJSONField(doc, keyField)
		if !ok {
			return nil, nil, fmt.Errorf("answer has no string field %q", keyField)
		}
		key = []byte(k)
	}
	return cert, key, nil
}
