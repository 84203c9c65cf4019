package cert

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

func writeFile(t testing.TB, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// signRaw signs c as is (SignCert would refuse some of what tests need).
func signRaw(t testing.TB, ca *certtest.CA, c *ssh.Certificate) []byte {
	t.Helper()
	c.Nonce = make([]byte, 32)
	c.SignatureKey = ca.PublicKey()
	sig, err := ca.Signer.Sign(rand.Reader, bytesForSigning(c))
	if err != nil {
		t.Fatal(err)
	}
	c.Signature = sig
	return ssh.MarshalAuthorizedKey(c)
}

func TestParse(t *testing.T) {
	ca := certtest.NewCA(t)
	_, pub := certtest.NewKey(t)
	good := hourCert(t, ca, pub)
	typ, b64, _ := strings.Cut(strings.TrimSpace(string(good)), " ")

	tests := []struct {
		name string
		in   string
		want error // nil: parses
	}{
		{"plain", string(good), nil},
		{"comment", typ + " " + b64 + " jdoe@laptop\n", nil},
		{"no newline", typ + " " + b64, nil},
		{"crlf and blank lines", "\r\n# made by ssh-keygen\r\n" + typ + " " + b64 + " c\r\n\r\n", nil},
		{"empty", "", ErrEmpty},
		{"white space", " \n\t\r\n ", ErrEmpty},
		{"only comments", "# nothing\n#here\n", ErrEmpty},
		{"garbage", "hello world\n", ErrCorrupt},
		{"one field", typ + "\n", ErrCorrupt},
		{"bad base64", typ + " !!!!\n", ErrCorrupt},
		{"truncated base64", typ + " " + b64[:len(b64)/2], ErrCorrupt},
		{"truncated blob", typ + " " + base64.StdEncoding.EncodeToString(mustB64(t, b64)[:100]), ErrCorrupt},
		{"type mismatch", "ssh-rsa-cert-v01@openssh.com " + b64, ErrCorrupt},
		{"two certificates", string(good) + string(good), ErrCorrupt},
		{"plain public key", string(ssh.MarshalAuthorizedKey(pub)), ErrNotCertificate},
		{"CA public key", string(ca.AuthorizedKey), ErrNotCertificate},
		{"host certificate", string(ca.Sign(t, pub, certtest.Options{Type: ssh.HostCert})), ErrHostCertificate},
		{"unknown type", string(signRaw(t, ca, &ssh.Certificate{Key: pub, CertType: 3, ValidPrincipals: []string{"u"}, ValidBefore: ssh.CertTimeInfinity})), ErrCorrupt},
		{"valid-before beyond int64", string(signRaw(t, ca, &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidPrincipals: []string{"u"}, ValidBefore: math.MaxInt64 + 1})), ErrCorrupt},
		{"valid-after beyond int64", string(signRaw(t, ca, &ssh.Certificate{Key: pub, CertType: ssh.UserCert, ValidPrincipals: []string{"u"}, ValidAfter: math.MaxUint64, ValidBefore: ssh.CertTimeInfinity})), ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !SameKey(c.Key, pub) || c.KeyId != "hour" {
					t.Errorf("wrong certificate: %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.want) || c != nil {
				t.Errorf("Parse = %v, %v; want %v", c, err, tt.want)
			}
		})
	}
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseTruncated cuts a certificate at every length: each prefix is
// refused (or, cut in the comment, accepted), and nothing panics.
func TestParseTruncated(t *testing.T) {
	ca := certtest.NewCA(t)
	_, pub := certtest.NewKey(t)
	good := bytes.TrimSpace(hourCert(t, ca, pub))
	good = append(good, " comment"...)
	sp := bytes.LastIndexByte(good, ' ')
	for n := 0; n < len(good); n++ {
		_, err := Parse(good[:n])
		switch {
		case n == 0:
			if !errors.Is(err, ErrEmpty) {
				t.Errorf("len %d: %v, want ErrEmpty", n, err)
			}
		case n >= sp:
			if err != nil {
				t.Errorf("len %d (in the comment): %v", n, err)
			}
		case !errors.Is(err, ErrCorrupt):
			t.Errorf("len %d: %v, want ErrCorrupt", n, err)
		}
	}
	// And the blob cut at every length, with valid base64.
	blob := mustB64(t, strings.Fields(string(good))[1])
	for n := 0; n < len(blob); n++ {
		line := "ssh-ed25519-cert-v01@openssh.com " + base64.StdEncoding.EncodeToString(blob[:n])
		if _, err := Parse([]byte(line)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("blob len %d: %v, want ErrCorrupt", n, err)
		}
	}
}

func TestLoad(t *testing.T) {
	ca := certtest.NewCA(t)
	dir := t.TempDir()
	_, certPath, pub := writePair(t, dir, ca)
	c, err := Load(certPath)
	if err != nil || !SameKey(c.Key, pub) {
		t.Fatalf("Load: %v", err)
	}

	missing := filepath.Join(dir, "nope-cert.pub")
	_, err = Load(missing)
	if !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}

	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, nil, 0o644)
	if _, err := Load(empty); !errors.Is(err, ErrEmpty) || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty file: %v", err)
	}

	big := filepath.Join(dir, "big")
	writeFile(t, big, bytes.Repeat([]byte("A"), maxFile+1), 0o644)
	if _, err := Load(big); !errors.Is(err, ErrCorrupt) {
		t.Errorf("big file: %v", err)
	}

	if _, err := Load(dir); err == nil || errors.Is(err, ErrMissing) {
		t.Errorf("directory: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	ca := certtest.NewCA(f)
	_, pub := certtest.NewKey(f)
	good := hourCert(f, ca, pub)
	f.Add(good)
	f.Add(ca.Sign(f, pub, certtest.Options{Forever: true, Principals: []string{"a", "b"}, Extensions: map[string]string{"x": "y"}, CriticalOptions: map[string]string{"force-command": "true"}}))
	f.Add(ca.Sign(f, pub, certtest.Options{Type: ssh.HostCert}))
	f.Add(ssh.MarshalAuthorizedKey(pub))
	f.Add(good[:len(good)/2])
	f.Add([]byte(""))
	f.Add([]byte("# c\n\n"))
	f.Add([]byte("ssh-ed25519-cert-v01@openssh.com AAAA"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			if c != nil {
				t.Fatal("certificate and error")
			}
			for _, s := range []error{ErrEmpty, ErrCorrupt, ErrNotCertificate, ErrHostCertificate} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error without a sentinel: %v", err)
		}
		if c.CertType != ssh.UserCert {
			t.Fatal("not a user certificate")
		}
		// What parsed must survive a round trip and the other functions.
		c2, err := Parse(ssh.MarshalAuthorizedKey(c))
		if err != nil || !bytes.Equal(c2.Marshal(), c.Marshal()) {
			t.Fatalf("round trip: %v", err)
		}
		w := WindowOf(c)
		_ = w.Remaining(t0)
		_ = w.Lifetime()
		_ = Fresh(c, t0, Threshold{Percent: 50})
		_ = Describe(c)
		_ = Verify(c, c.Key, nil, t0)
	})
}
