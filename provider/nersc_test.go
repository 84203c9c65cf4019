package provider

import (
	"bytes"
	"encoding/pem"
	"strings"
	"testing"
)

const nerscTestKey = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQJAIJLixBy2qpFoS4DSmoEm\n-----END RSA PRIVATE KEY-----\n"
const nerscTestCert = "ssh-rsa-cert-v01@openssh.com AAAAHHNzaC1yc2EtY2VydC12MDFAb3BlbnNzaC5jb20= jdoe serial:16999999991234"

func TestNERSCSplitBody(t *testing.T) {
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"as sent", nerscTestKey + nerscTestCert, true},
		{"final newline", nerscTestKey + nerscTestCert + "\n", true},
		{"crlf", strings.ReplaceAll(nerscTestKey, "\n", "\r\n") + nerscTestCert + "\r\n", true},
		{"cert first", nerscTestCert + "\n" + nerscTestKey, true},
		{"blank lines", "\n" + nerscTestKey + "\n\n" + nerscTestCert + "\n\n", true},
		{"no cert", nerscTestKey, false},
		{"no key", nerscTestCert, false},
		{"two certs", nerscTestKey + nerscTestCert + "\n" + nerscTestCert, false},
		{"cert glued to END line", strings.TrimSuffix(nerscTestKey, "\n") + nerscTestCert, false},
		{"public key block", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" + nerscTestCert, false},
		{"error text", "Authentication failed. Failed login: jdoe\nPlease provide a proper credential", false},
		{"empty", "", false},
	}
	for _, c := range cases {
		key, cert, err := nerscSplitBody([]byte(c.body))
		if (err == nil) != c.ok {
			t.Errorf("%s: err = %v, want ok=%v", c.name, err, c.ok)
			continue
		}
		if !c.ok {
			if err != nil && strings.Contains(err.Error(), "MIIB") {
				t.Errorf("%s: error quotes the key", c.name)
			}
			continue
		}
		if string(cert) != nerscTestCert {
			t.Errorf("%s: cert %q", c.name, cert)
		}
		b, _ := pem.Decode(key)
		if b == nil || b.Type != "RSA PRIVATE KEY" {
			t.Errorf("%s: key %q", c.name, key)
		}
	}
}

// FuzzNERSCBody: the splitter never panics, and what it returns is one PEM
// private key block and one certificate-looking line taken from the body.
func FuzzNERSCBody(f *testing.F) {
	f.Add([]byte(nerscTestKey + nerscTestCert))
	f.Add([]byte(nerscTestCert + "\n" + nerscTestKey))
	f.Add([]byte(nerscTestKey + nerscTestCert + "\n" + nerscTestCert))
	f.Add([]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\nx-cert-v01@openssh.com a"))
	f.Add([]byte("-----BEGIN A PRIVATE KEY-----\n-----END A PRIVATE KEY-----\n-----BEGIN B PRIVATE KEY-----\n-----END B PRIVATE KEY-----\n"))
	f.Add([]byte("Authentication failed. Too many failed logins jdoe\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, body []byte) {
		key, cert, err := nerscSplitBody(body)
		if err != nil {
			if key != nil || cert != nil {
				t.Fatal("values with an error")
			}
			return
		}
		b, rest := pem.Decode(key)
		if b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") || len(bytes.TrimSpace(rest)) != 0 {
			t.Fatalf("key is not one PEM private key block: %q", key)
		}
		if bytes.ContainsAny(cert, "\r\n") || !bytes.Contains(body, cert) {
			t.Fatalf("cert %q is not one line of the body", cert)
		}
		f := bytes.Fields(cert)
		if len(f) < 2 || !bytes.HasSuffix(f[0], []byte("-cert-v01@openssh.com")) {
			t.Fatalf("cert %q does not look like a certificate", cert)
		}
	})
}
