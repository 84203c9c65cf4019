package provider

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// UserAgent is sent with every request to a key service. The command line
// sets it to "hpc-auth/<version>" at start-up.
var UserAgent = "hpc-auth/dev"

// HTTPConfig configures the key-service providers (cscs-legacy, nersc,
// lbnl-msm and the generic http provider).
type HTTPConfig struct {
	URL      string        // empty -> the preset's endpoint; required for the generic provider
	CAFile   string        // extra PEM roots, added to the system pool
	Username string        // used when the Request has no Username
	Lifetime time.Duration // lbnl-msm: requested lifetime (default 12h)

	// Generic "http" provider only.

	// Request is the JSON body: field -> template using {username}
	// {password} {otp} {public_key}. Nil gives username, password and otp
	// (and public_key when PrivateKeyField is empty).
	Request map[string]string
	// CertificateField is the dotted path of the certificate in the JSON
	// answer, e.g. "public" or "sshKey.publicKey" (default "certificate").
	CertificateField string
	// PrivateKeyField is the dotted path of the private key in the answer.
	// Empty means the service signs the existing key (Request.PublicKey).
	PrivateKeyField string

	// Client replaces the built-in client (tests). Nil: a client built from
	// CAFile. Redirects are never followed either way; CAFile and the
	// nersc preset's HTTP/1.1 are the given client's business.
	Client *http.Client
	// Now is the clock for the light expiry check (tests); nil -> time.Now.
	Now func() time.Time
}

const (
	// httpMaxAnswer bounds what we read from a key service: a key pair and
	// a certificate are a few kilobytes, so anything near this is wrong.
	httpMaxAnswer = 1 << 20
	// httpDefaultTimeout applies only when the caller's ctx has no deadline,
	// so that no request can wait forever.
	httpDefaultTimeout = 2 * time.Minute
	// httpMaxMessage is how many runes of a service's message we quote.
	httpMaxMessage = 200
)

// httpService is what every HTTP provider shares: the endpoint, the client
// and the clock.
type httpService struct {
	url    *url.URL
	host   string // for messages: host name without port
	client *http.Client
	cfg    HTTPConfig
	now    func() time.Time
}

// httpNewService checks the endpoint and builds the client. http1Only forces
// HTTP/1.1 (NERSC's service misbehaves with HTTP/2 through its proxies).
func httpNewService(c HTTPConfig, defaultURL string, http1Only bool) (*httpService, error) {
	raw := c.URL
	if raw == "" {
		raw = defaultURL
	}
	if raw == "" {
		return nil, fmt.Errorf("%w: url is required", ErrConfig)
	}
	u, err := httpCheckURL(raw)
	if err != nil {
		return nil, err
	}
	s := &httpService{url: u, host: u.Hostname(), cfg: c, now: c.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if c.Client != nil {
		cl := *c.Client // a copy: never change the caller's client
		cl.CheckRedirect = httpNoRedirect
		s.client = &cl
		return s, nil
	}
	s.client, err = httpNewClient(c.CAFile, u.Scheme == "http", http1Only)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// httpCheckURL accepts https URLs, and plain http only to the loopback
// interface (tests, local forwarders): a password must never cross a network
// in clear text.
func httpCheckURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: url: %v", ErrConfig, err)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%w: url %q must not contain credentials", ErrConfig, u.Redacted())
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: url %q has no host", ErrConfig, u.Redacted())
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !httpIsLoopbackHost(u.Hostname()) {
			return nil, fmt.Errorf("%w: url %q: plain http is allowed only to localhost; use https", ErrConfig, u.Redacted())
		}
	default:
		return nil, fmt.Errorf("%w: url %q: scheme must be https", ErrConfig, u.Redacted())
	}
	return u, nil
}

func httpIsLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

func httpNoRedirect(*http.Request, []*http.Request) error {
	// Following a redirect would re-send the password to wherever the
	// Location points; report it instead.
	return http.ErrUseLastResponse
}

// httpNewClient builds a client that always verifies TLS against the system
// roots plus caFile. loopbackOnly makes the dialer refuse any address that
// is not loopback, so that "http://localhost" cannot be resolved elsewhere.
func httpNewClient(caFile string, loopbackOnly, http1Only bool) (*http.Client, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("%w: ca_file: %v", ErrConfig, err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%w: ca_file %s: no PEM certificate found", ErrConfig, caFile)
		}
	}
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	if loopbackOnly {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				return fmt.Errorf("plain http refused to non-loopback address %s", host)
			}
			return nil
		}
	}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   30 * time.Second,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     !http1Only,
	}
	if http1Only {
		var p http.Protocols
		p.SetHTTP1(true)
		t.Protocols = &p
	}
	return &http.Client{Transport: t, CheckRedirect: httpNoRedirect}, nil
}

// httpUsername picks the login name: the Request's, else the config's.
func httpUsername(req *Request, c HTTPConfig) (string, error) {
	if req.Username != "" {
		return req.Username, nil
	}
	if c.Username != "" {
		return c.Username, nil
	}
	return "", fmt.Errorf("%w: no username", ErrConfig)
}

func httpLogger(req *Request) *slog.Logger {
	if req.Log != nil {
		return req.Log
	}
	return slog.New(slog.DiscardHandler)
}

// httpAnswer is a successful (2xx) answer.
type httpAnswer struct {
	status int
	body   []byte
}

// httpDo sends hreq and reads the answer. Any failure comes back as a
// *ServiceError: transport errors as ErrUnavailable, non-2xx statuses
// classified by httpStatusError with the message that errMessage finds in
// postJSON POSTs body as JSON and returns the answer (see do).
func (s *httpService) postJSON(ctx context.Context, req *Request, body any, secrets []string, errMessage func([]byte) string) (*httpAnswer, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url.String(), bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	return s.do(ctx, httpLogger(req), hreq, secrets, errMessage)
}

// the body, scrubbed of secrets.
func (s *httpService) do(ctx context.Context, log *slog.Logger, hreq *http.Request, secrets []string, errMessage func([]byte) string) (*httpAnswer, error) {
	hreq.Header.Set("User-Agent", UserAgent)
	start := time.Now()
	log.Debug("key service request", "method", hreq.Method, "host", hreq.URL.Host, "path", hreq.URL.Path)
	resp, err := s.client.Do(hreq)
	if err != nil {
		log.Debug("key service unreachable", "host", hreq.URL.Host, "duration", time.Since(start).Round(time.Millisecond))
		return nil, s.transportError(ctx, err, secrets)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, httpMaxAnswer+1))
	log.Debug("key service answer", "host", hreq.URL.Host, "status", resp.StatusCode,
		"bytes", len(body), "duration", time.Since(start).Round(time.Millisecond))
	if err != nil && len(body) <= httpMaxAnswer {
		if resp.StatusCode/100 == 2 {
			return nil, s.transportError(ctx, err, secrets)
		}
		// For an error answer the status says enough; use what arrived.
	}
	if resp.StatusCode/100 != 2 {
		if len(body) > httpMaxAnswer {
			body = body[:httpMaxAnswer]
		}
		return nil, s.statusError(resp, body, secrets, errMessage)
	}
	if len(body) > httpMaxAnswer {
		return nil, &ServiceError{Service: s.host, Status: resp.StatusCode, Err: ErrBadAnswer,
			Message: fmt.Sprintf("answer larger than %d bytes", httpMaxAnswer)}
	}
	return &httpAnswer{status: resp.StatusCode, body: body}, nil
}

// transportError classifies a failure to get an answer at all. They are all
// ErrUnavailable: no credentials were judged, so a later retry is safe.
func (s *httpService) transportError(ctx context.Context, err error, secrets []string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // drop "Post <url>:", the host is already named
	}
	var msg string
	var (
		verr  *tls.CertificateVerificationError
		uaerr x509.UnknownAuthorityError
		herr  x509.HostnameError
		cierr x509.CertificateInvalidError
		rherr tls.RecordHeaderError
		nerr  net.Error
	)
	switch {
	case errors.As(err, &verr), errors.As(err, &uaerr), errors.As(err, &herr), errors.As(err, &cierr):
		msg = "TLS: " + strings.TrimPrefix(err.Error(), "tls: ") + " (ca_file adds trusted roots)"
	case errors.As(err, &rherr):
		msg = "TLS handshake failed: the server does not speak TLS"
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) ||
		(errors.As(err, &nerr) && nerr.Timeout()):
		msg = "timed out waiting for an answer"
	case errors.Is(err, context.Canceled):
		msg = "request canceled"
	default:
		msg = err.Error()
	}
	return &ServiceError{Service: s.host, Err: ErrUnavailable, Message: httpCleanMessage(msg, secrets)}
}

// statusError turns a non-2xx answer into a ServiceError.
func (s *httpService) statusError(resp *http.Response, body []byte, secrets []string, errMessage func([]byte) string) error {
	var msg string
	if errMessage != nil {
		msg = errMessage(body)
	}
	if msg == "" {
		msg = httpTextMessage(body)
	}
	msg = httpCleanMessage(msg, secrets)
	if resp.StatusCode/100 == 3 {
		loc := resp.Header.Get("Location")
		if lu, err := url.Parse(loc); err == nil {
			loc = lu.Redacted()
		}
		msg = httpCleanMessage("redirected to "+loc+" (not followed; check url)", secrets)
	}
	return &ServiceError{Service: s.host, Status: resp.StatusCode, Message: msg,
		Err: httpStatusSentinel(resp.StatusCode, msg)}
}

// httpStatusSentinel classifies a non-2xx status. It is fail-safe: whatever
// might mean "your credentials were judged and refused" is ErrRejected,
// because retrying a rejection burns one-time codes and leads to lockouts.
// Only answers that certainly judged no credentials are anything else.
func httpStatusSentinel(status int, msg string) error {
	switch {
	case status/100 == 5:
		// Some services answer a lockout or quota with a 5xx; believe
		// the words over the number.
		if httpLooksRejected(msg) {
			return ErrRejected
		}
		return ErrUnavailable
	case status == http.StatusRequestTimeout:
		return ErrUnavailable
	case status == http.StatusNotFound, status == http.StatusMethodNotAllowed, status == http.StatusGone,
		status/100 == 3:
		// Wrong endpoint: nothing was checked, and the fix is the url.
		return ErrConfig
	case status/100 == 4:
		return ErrRejected
	default:
		return ErrBadAnswer
	}
}

// httpLooksRejected reports whether a message speaks of refused
// credentials, a lockout or a quota.
func httpLooksRejected(msg string) bool {
	m := strings.ToLower(msg)
	for _, w := range []string{"authentication failed", "invalid credentials", "invalid user credentials",
		"wrong password", "failed login", "locked", "too many", "quota", "limit reached", "limit exceeded"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// httpBadAnswer is the error for a 2xx answer that holds no usable pair.
func (s *httpService) badAnswer(status int, format string, args ...any) error {
	return &ServiceError{Service: s.host, Status: status, Err: ErrBadAnswer, Message: fmt.Sprintf(format, args...)}
}

// httpWithDeadline makes sure that a request cannot wait forever when the
// caller gave no deadline.
func httpWithDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, httpDefaultTimeout)
}

// httpSecrets asks for the secrets a request sends, password first and the
// one-time code last, just before sending, so that the code is fresh.
func httpSecrets(ctx context.Context, req *Request, needPassword, needOTP bool) (password, otp string, err error) {
	if (needPassword || needOTP) && req.Secrets == nil {
		return "", "", fmt.Errorf("%w: no secrets available", ErrConfig)
	}
	if needPassword {
		if password, err = req.Secrets.Password(ctx); err != nil {
			return "", "", err // Secrets names the secret and where it comes from
		}
	}
	if needOTP {
		if otp, err = req.Secrets.OTP(ctx); err != nil {
			return "", "", err
		}
	}
	return password, otp, nil
}

// httpSnippet quotes what a garbage answer seems to say, for the error
// message; never key material, never secrets.
func httpSnippet(body []byte, secrets []string) string {
	m := httpCleanMessage(httpTextMessage(body), secrets)
	if m == "" {
		return ""
	}
	return ": " + m
}
