package fakeservice

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// echo quotes the received secrets in error answers when EchoCredentials is
// set (a careless service); otherwise nothing.
func (s *Server) echo(received ...string) string {
	if !s.opts.EchoCredentials {
		return ""
	}
	return " (received " + strings.Join(received, " ") + ")"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeText(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8") // Flask's default, as sshproxy sends
	w.WriteHeader(status)
	_, _ = io.WriteString(w, text)
}

// ---- cscs-legacy: POST /api/v1/auth/ssh-keys/signed-key ----
//
// Request {"username","password","otp"}; answer 200 {"public": cert,
// "private": key} (public first, as the bash client depends on the order);
// errors {"payload": {"message": ...}}. The real status codes and texts for
// each error are not public; these are plausible.

func (s *Server) handleCSCS(w http.ResponseWriter, r *http.Request, mode Mode) {
	fail := func(status int, msg string) {
		writeJSON(w, status, map[string]any{"payload": map[string]any{"message": msg, "status": status}})
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "Method not allowed")
		return
	}
	if mode == Mode5xx {
		fail(http.StatusInternalServerError, "Internal server error")
		return
	}
	var in struct{ Username, Password, OTP string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "Bad request: expected JSON with username, password and otp")
		return
	}
	switch s.authorize(credentials{in.Username, in.Password, in.OTP}, mode) {
	case refuseCredentials:
		fail(http.StatusUnauthorized, "Authentication failed: invalid username, password or OTP"+s.echo(in.Password, in.OTP))
		return
	case refuseOTPReused:
		fail(http.StatusUnauthorized, "Authentication failed: OTP already used"+s.echo(in.OTP))
		return
	case refuseLocked:
		fail(http.StatusForbidden, "Account locked: too many failed login attempts, try again later")
		return
	case refuseQuota:
		fail(http.StatusForbidden, fmt.Sprintf("Quota exceeded: you can create up to %d keys per day", s.quota()))
		return
	}
	iss, err := s.issue(mode, in.Username, keyEd25519, nil, s.opts.Validity,
		func(serial uint64) string { return fmt.Sprintf("%s-%d", in.Username, serial) })
	if err != nil {
		fail(http.StatusInternalServerError, "Internal server error")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Public  string `json:"public"`
		Private string `json:"private"`
	}{string(iss.certLine) + "\n", string(iss.privatePEM)})
}

// ---- nersc sshproxy: POST /create_pair/<scope>/ ----
//
// Basic auth user:password+otp; answer 200 text: RSA PEM key followed by
// "ssh-rsa-cert-v01@openssh.com AAAA… <user> serial:<n>" without a final
// newline; errors 401 "Authentication failed. …" as sshproxy's
// auth_failure(), 404 "Unrecognized scope", 500 "Request failed unexpectedly".

func (s *Server) handleNERSC(w http.ResponseWriter, r *http.Request, mode Mode) {
	authFail := func(mess string) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Login Required"`)
		writeText(w, http.StatusUnauthorized, "Authentication failed. "+mess+"\nPlease provide a proper credential")
	}
	if r.Method != http.MethodPost {
		writeText(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if r.URL.Path != PathNERSC {
		writeText(w, http.StatusNotFound, "Unrecognized scope")
		return
	}
	if mode == Mode5xx {
		writeText(w, http.StatusInternalServerError, "Request failed unexpectedly\n")
		return
	}
	user, pwOTP, ok := r.BasicAuth()
	if !ok {
		authFail("Authentication required")
		return
	}
	if user == "" || pwOTP == "" {
		authFail("Username and password required")
		return
	}
	pw, code := pwOTP, ""
	if s.opts.TOTPSecret != "" && len(pwOTP) >= 6 {
		pw, code = pwOTP[:len(pwOTP)-6], pwOTP[len(pwOTP)-6:]
	}
	switch s.authorize(credentials{user, pw, code}, mode) {
	case refuseCredentials:
		authFail("Failed login: " + user + s.echo(pwOTP))
		return
	case refuseOTPReused:
		authFail("Failed login: " + user + " (OTP already used)" + s.echo(code))
		return
	case refuseLocked:
		authFail("Too many failed logins " + user)
		return
	case refuseQuota:
		writeText(w, http.StatusForbidden, fmt.Sprintf("User %s not allowed: quota of %d keys per day reached", user, s.quota()))
		return
	}
	iss, err := s.issue(mode, user, keyRSA, nil, s.opts.Validity,
		func(uint64) string { return "user_" + user })
	if err != nil {
		writeText(w, http.StatusInternalServerError, "Request failed unexpectedly\n")
		return
	}
	writeText(w, http.StatusOK, string(iss.privatePEM)+string(iss.certLine)+" "+user+" serial:"+strconv.FormatUint(iss.serial, 10))
}

// ---- lbnl-msm: POST /v1/cert ----
//
// JSON {"username","password","mfa","lifetime"} with any Content-Type
// (request_cert.sh sends form-urlencoded); answer 201 {key_id, public_key,
// private_key, signed_public_key, expires_at}. The error format is not
// public; these use {"error": ...}.

func (s *Server) handleLBNL(w http.ResponseWriter, r *http.Request, mode Mode) {
	fail := func(status int, msg string) { writeJSON(w, status, map[string]string{"error": msg}) }
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if mode == Mode5xx {
		fail(http.StatusInternalServerError, "internal server error")
		return
	}
	var in struct{ Username, Password, MFA, Lifetime string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "invalid request body")
		return
	}
	switch s.authorize(credentials{in.Username, in.Password, in.MFA}, mode) {
	case refuseCredentials:
		fail(http.StatusUnauthorized, "authentication failed: invalid username, PIN or OTP"+s.echo(in.Password, in.MFA))
		return
	case refuseOTPReused:
		fail(http.StatusUnauthorized, "authentication failed: OTP already used"+s.echo(in.MFA))
		return
	case refuseLocked:
		fail(http.StatusForbidden, "account locked: too many failed attempts")
		return
	case refuseQuota:
		fail(http.StatusTooManyRequests, fmt.Sprintf("quota exceeded: %d certificates per day", s.quota()))
		return
	}
	validity := s.opts.Validity
	if d, err := time.ParseDuration(in.Lifetime); err == nil && d > 0 && d < validity {
		validity = d
	}
	var keyID string
	iss, err := s.issue(mode, in.Username, keyEd25519, nil, validity,
		func(serial uint64) string { keyID = fmt.Sprintf("%016x", serial); return keyID })
	if err != nil {
		fail(http.StatusInternalServerError, "internal server error")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{
		"key_id":            keyID,
		"public_key":        string(iss.publicLine) + "\n",
		"private_key":       string(iss.privatePEM),
		"signed_public_key": string(iss.certLine) + "\n",
		"expires_at":        iss.validUntil.UTC().Format(time.RFC3339),
	})
}

// ---- generic: POST /generic/sign ----
//
// JSON {"username","password","otp","public_key"?}; answer 200
// {"certificate": cert, "private_key": key}, or only "certificate" when it
// signed public_key; errors {"message": ...}, 5xx as a proxy's HTML page.

func (s *Server) handleGeneric(w http.ResponseWriter, r *http.Request, mode Mode) {
	fail := func(status int, msg string) { writeJSON(w, status, map[string]string{"message": msg}) }
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	if mode == Mode5xx {
		writeText(w, http.StatusBadGateway, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n")
		return
	}
	var in struct {
		Username, Password, OTP string
		PublicKey               string `json:"public_key"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(http.StatusBadRequest, "invalid JSON")
		return
	}
	var pub ssh.PublicKey
	if strings.TrimSpace(in.PublicKey) != "" {
		var err error
		if pub, _, _, _, err = ssh.ParseAuthorizedKey([]byte(in.PublicKey)); err != nil {
			fail(http.StatusBadRequest, "public_key is not an authorized_keys line")
			return
		}
	}
	switch s.authorize(credentials{in.Username, in.Password, in.OTP}, mode) {
	case refuseCredentials:
		fail(http.StatusUnauthorized, "invalid credentials"+s.echo(in.Password, in.OTP))
		return
	case refuseOTPReused:
		fail(http.StatusUnauthorized, "OTP already used"+s.echo(in.OTP))
		return
	case refuseLocked:
		fail(http.StatusForbidden, "account locked: too many failed attempts")
		return
	case refuseQuota:
		fail(http.StatusTooManyRequests, fmt.Sprintf("quota exceeded: %d certificates per day", s.quota()))
		return
	}
	iss, err := s.issue(mode, in.Username, keyEd25519, pub, s.opts.Validity,
		func(serial uint64) string { return fmt.Sprintf("generic-%s-%d", in.Username, serial) })
	if err != nil {
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	out := map[string]string{"certificate": string(iss.certLine) + "\n"}
	if iss.privatePEM != nil {
		out["private_key"] = string(iss.privatePEM)
	}
	writeJSON(w, http.StatusOK, out)
}
