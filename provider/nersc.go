package provider

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// nerscDefaultURL is sshproxy's endpoint for the default scope (24 h keys).
// Another scope is another url: .../create_pair/<scope>/.
const nerscDefaultURL = "https://sshproxy.nersc.gov/create_pair/default/"

// nerscProvider speaks NERSC sshproxy: HTTP Basic auth with the password
// immediately followed by the one-time code, over HTTP/1.1; the answer is the
// PEM private key followed by the certificate line.
type nerscProvider struct{ svc *httpService }

// NewNERSC returns the nersc provider.
func NewNERSC(c HTTPConfig) (Provider, error) {
	svc, err := httpNewService(c, nerscDefaultURL, true)
	if err != nil {
		return nil, err
	}
	return &nerscProvider{svc: svc}, nil
}

func (p *nerscProvider) Renew(ctx context.Context, req *Request) (*Result, error) {
	user, err := httpUsername(req, p.svc.cfg)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(user, ":\r\n") {
		return nil, fmt.Errorf("%w: username %q cannot be sent with Basic auth", ErrConfig, user)
	}
	ctx, cancel := httpWithDeadline(ctx)
	defer cancel()
	password, otp, err := httpSecrets(ctx, req, true, true)
	if err != nil {
		return nil, err
	}
	secrets := httpSecretForms(user, password, otp)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.svc.url.String(), http.NoBody)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	hreq.SetBasicAuth(user, password+otp)
	ans, err := p.svc.do(ctx, httpLogger(req), hreq, secrets, nil)
	if err != nil {
		return nil, err
	}
	// sshproxy.sh judges the first line whatever the status; so do we, in
	// case a proxy turns the 401 into a 200.
	if first := httpCleanMessage(string(ans.body), secrets); strings.HasPrefix(first, "Authentication failed") {
		return nil, &ServiceError{Service: p.svc.host, Status: ans.status, Err: ErrRejected, Message: first}
	}
	key, cert, err := nerscSplitBody(ans.body)
	if err != nil {
		return nil, p.svc.badAnswer(ans.status, "%v%s", err, httpSnippet(ans.body, secrets))
	}
	return p.svc.checkPair(ans.status, cert, true, key, nil)
}

// nerscSplitBody splits sshproxy's success body into the private key (one
// PEM block) and the certificate line. The server sends the key first and
// the certificate without a final newline; any order is accepted, and text
// around them is ignored as long as exactly one certificate line is found.
func nerscSplitBody(body []byte) (key, cert []byte, err error) {
	block, rest := pem.Decode(body)
	if block == nil {
		return nil, nil, errors.New("no PEM private key in the answer")
	}
	if !strings.HasSuffix(block.Type, "PRIVATE KEY") {
		return nil, nil, fmt.Errorf("PEM block is a %q, not a private key", block.Type)
	}
	key = pem.EncodeToMemory(block)
	if key == nil {
		return nil, nil, errors.New("malformed PEM private key in the answer")
	}
	consumed := body[:len(body)-len(rest)]
	var prefix []byte
	if i := bytes.LastIndex(consumed, []byte("-----BEGIN ")); i >= 0 {
		prefix = consumed[:i]
	}
	var found []byte
	for _, part := range [][]byte{prefix, rest} {
		for line := range bytes.SplitSeq(part, []byte("\n")) {
			f := bytes.Fields(line)
			if len(f) < 2 || !bytes.HasSuffix(f[0], []byte("-cert-v01@openssh.com")) {
				continue
			}
			if found != nil {
				return nil, nil, errors.New("more than one certificate in the answer")
			}
			found = bytes.TrimSpace(line)
		}
	}
	if found == nil {
		return nil, nil, errors.New("no certificate line in the answer")
	}
	return key, found, nil
}
