// Package fakeservice is a fake HPC key service for tests and the demo.
//
// One TLS server on 127.0.0.1 speaks the protocols of the cscs-legacy,
// nersc and lbnl-msm presets and of the generic http provider. It checks the
// password and real TOTP codes (refusing a code whose time step was already
// used), signs real user certificates with an SSH CA, counts failures into a
// lockout and issues into a daily quota, and can be switched into failure
// modes that imitate broken or hostile services.
//
// It never logs: not the secrets it receives, not the keys it makes.
package fakeservice

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"golang.org/x/crypto/ssh"
)

// Endpoint paths, one per protocol; the full URL is Server.URL + path.
const (
	PathCSCS    = "/api/v1/auth/ssh-keys/signed-key"
	PathNERSC   = "/create_pair/default/"
	PathLBNL    = "/v1/cert"
	PathGeneric = "/generic/sign"
)

// Mode selects how the server answers.
type Mode string

const (
	ModeOK           Mode = "ok"            // check credentials, issue a good pair
	Mode5xx          Mode = "5xx"           // fail with a server error before checking anything
	ModeHang         Mode = "hang"          // never answer (until the client gives up or Close)
	ModeGarbage      Mode = "garbage"       // 200 with an HTML page instead of the protocol's answer
	ModeWrongKey     Mode = "wrong-key"     // certificate for another key than the one returned (or sent)
	ModeExpired      Mode = "expired"       // certificate that expired an hour ago
	ModeHostCert     Mode = "host-cert"     // host certificate instead of a user certificate
	ModeOtherCA      Mode = "other-ca"      // certificate signed by another CA than Server.CA
	ModeTruncatedKey Mode = "truncated-key" // private key cut in half (signing: certificate cut)
	ModeQuota        Mode = "quota"         // valid credentials, refused with the quota message
	ModeLockout      Mode = "lockout"       // refused with the lockout message, credentials unchecked
)

// Modes lists every mode, for table tests.
var Modes = []Mode{ModeOK, Mode5xx, ModeHang, ModeGarbage, ModeWrongKey, ModeExpired,
	ModeHostCert, ModeOtherCA, ModeTruncatedKey, ModeQuota, ModeLockout}

// Options configure a Server.
type Options struct {
	Username string
	Password string
	// TOTPSecret is the base32 TOTP secret (RFC 6238, SHA-1, 30 s, 6
	// digits). Empty: one-time codes are not checked.
	TOTPSecret string
	CA         ssh.Signer    // nil: a fresh ed25519 CA
	Validity   time.Duration // certificate lifetime; default 24h
	// MaxPerDay limits issues in any 24 h (the CSCS quota is 5); 0: no limit.
	MaxPerDay int
	// Now is the server's clock for TOTP steps, quotas and certificate
	// validity (not for TLS); nil: time.Now.
	Now func() time.Time
	// EchoCredentials makes error answers quote the password and code they
	// received, as a careless service might, so that tests can prove that
	// clients scrub them.
	EchoCredentials bool
}

const (
	totpPeriod     = 30
	maxFailures    = 5 // sshproxy's max_failed_logins
	failureWindow  = 300 * time.Second
	maxRequestBody = 64 << 10
)

// Server is a running fake key service.
type Server struct {
	URL string     // https://127.0.0.1:PORT
	CA  ssh.Signer // the CA that signs good certificates

	opts    Options
	now     func() time.Time
	otherCA ssh.Signer
	tlsPEM  []byte
	srv     *http.Server
	served  chan struct{}
	closing chan struct{}
	active  sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	mode     Mode
	requests int
	issued   []time.Time
	lastStep map[string]uint64 // user -> last accepted TOTP step
	failures map[string][]time.Time
	serial   uint64
	protos   map[string]string
}

// New starts a server. Close it when done.
func New(o Options) (*Server, error) {
	if o.Username == "" {
		return nil, errors.New("fakeservice: Username is required")
	}
	if o.TOTPSecret != "" {
		if _, err := hotp.GenerateCodeCustom(o.TOTPSecret, 0, hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}); err != nil {
			return nil, fmt.Errorf("fakeservice: TOTPSecret: %w", err)
		}
	}
	if o.Validity <= 0 {
		o.Validity = 24 * time.Hour
	}
	s := &Server{
		opts:     o,
		now:      o.Now,
		mode:     ModeOK,
		lastStep: map[string]uint64{},
		failures: map[string][]time.Time{},
		protos:   map[string]string{},
		served:   make(chan struct{}),
		closing:  make(chan struct{}),
		serial:   uint64(time.Now().Unix()) * 1000,
	}
	if s.now == nil {
		s.now = time.Now
	}
	var err error
	if s.CA = o.CA; s.CA == nil {
		if s.CA, err = newEd25519Signer(); err != nil {
			return nil, err
		}
	}
	if s.otherCA, err = newEd25519Signer(); err != nil {
		return nil, err
	}
	cert, pemBytes, err := newTLSCert()
	if err != nil {
		return nil, err
	}
	s.tlsPEM = pemBytes

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fakeservice: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(PathCSCS, s.wrap(s.handleCSCS))
	mux.HandleFunc("/create_pair/", s.wrap(s.handleNERSC))
	mux.HandleFunc(PathLBNL, s.wrap(s.handleLBNL))
	mux.HandleFunc(PathGeneric, s.wrap(s.handleGeneric))
	s.srv = &http.Server{
		Handler:           mux,
		ErrorLog:          log.New(io.Discard, "", 0), // TLS handshake noise from tests that refuse our cert
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.srv.TLSConfig = newTLSConfig(cert)
	s.URL = "https://" + ln.Addr().String()
	go func() {
		defer close(s.served)
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// Close stops the server; requests that hang return.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	s.mu.Unlock()
	_ = s.srv.Close()
	close(s.closing)
	<-s.served
	s.active.Wait()
}

// SetMode switches how the server answers from now on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// CACertPEM returns the server's TLS certificate (self-signed, for
// 127.0.0.1, ::1 and localhost) as PEM, to be written as ca_file.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.tlsPEM...) }

// CAPublicKey returns the SSH CA's public key as an authorized_keys line,
// for sshd's TrustedUserCAKeys and hpc-auth's cert_authority.
func (s *Server) CAPublicKey() []byte { return ssh.MarshalAuthorizedKey(s.CA.PublicKey()) }

// OtherCAPublicKey returns the public key of the CA used in ModeOtherCA.
func (s *Server) OtherCAPublicKey() ssh.PublicKey { return s.otherCA.PublicKey() }

// Issued returns how many certificates the server has handed out (in any
// mode that hands one out).
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.issued)
}

// Requests returns how many requests reached an endpoint.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Proto returns the protocol ("HTTP/1.1", "HTTP/2.0") of the last request
// to path, or "" when there was none.
func (s *Server) Proto(path string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protos[path]
}

// wrap counts the request, tracks it for Close, and handles the modes in
// which the service is broken before it looks at anything.
func (s *Server) wrap(h func(w http.ResponseWriter, r *http.Request, mode Mode)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.active.Add(1)
		s.requests++
		s.protos[r.URL.Path] = r.Proto
		mode := s.mode
		s.mu.Unlock()
		defer s.active.Done()
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBody)
		switch mode {
		case ModeHang:
			select {
			case <-r.Context().Done():
			case <-s.closing:
				// Drop the connection without an answer, as a dying
				// server does.
				panic(http.ErrAbortHandler)
			}
			return
		case ModeGarbage:
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<html><head><title>Scheduled maintenance</title></head>\n<body><h1>We are upgrading the service</h1></body></html>\n")
			return
		}
		h(w, r, mode)
	}
}

func newEd25519Signer() (ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("fakeservice: %w", err)
	}
	return ssh.NewSignerFromKey(priv)
}
