package cert

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

func TestParseAuthority(t *testing.T) {
	dir := t.TempDir()
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	fp := ca.Fingerprint()

	a, err := ParseAuthority(fp)
	if err != nil || a.String() != fp || !a.Trusts(ca.PublicKey()) || a.Trusts(other.PublicKey()) || a.Source() != "" {
		t.Errorf("fingerprint: %v %v", a, err)
	}
	if a, err := ParseAuthority(" " + fp + "= "); err != nil || a.String() != fp {
		t.Errorf("padded fingerprint: %v %v", a, err)
	}

	path := ca.WritePub(dir)
	a, err = ParseAuthority(path)
	if err != nil || a.String() != fp || !a.Trusts(ca.PublicKey()) || a.Source() != path {
		t.Errorf("file: %v %v", a, err)
	}

	// A TrustedUserCAKeys-style file with comments, options and two keys.
	both := filepath.Join(dir, "cas")
	writeFile(t, both, []byte("# CAs\n"+string(other.AuthorizedKey)+"\ncert-authority "+string(ca.AuthorizedKey)), 0o644)
	a, err = ParseAuthority(both)
	if err != nil || !a.Trusts(ca.PublicKey()) || !a.Trusts(other.PublicKey()) || a.String() != other.Fingerprint()+", "+fp {
		t.Errorf("two keys: %v %v", a, err)
	}

	_, pub := certtest.NewKey(t)
	certFile := filepath.Join(dir, "cert")
	writeFile(t, certFile, hourCert(t, ca, pub), 0o644)
	garbage := filepath.Join(dir, "garbage")
	writeFile(t, garbage, []byte("hello\n"), 0o644)
	empty := filepath.Join(dir, "empty")
	writeFile(t, empty, nil, 0o644)
	for _, bad := range []string{"", "  ", "SHA256:", "SHA256:abc", "SHA256:" + strings.Repeat("A", 44), fp + "x",
		"MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48", certFile, garbage, empty, dir} {
		if _, err := ParseAuthority(bad); !errors.Is(err, ErrAuthority) {
			t.Errorf("ParseAuthority(%q) = %v, want ErrAuthority", bad, err)
		}
	}
	missing := filepath.Join(dir, "nope.pub")
	if _, err := ParseAuthority(missing); !errors.Is(err, ErrAuthority) || !errors.Is(err, ErrMissing) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParseAuthority(f *testing.F) {
	ca := certtest.NewCA(f)
	_, pub := certtest.NewKey(f)
	for _, s := range []string{ca.Fingerprint(), ca.Fingerprint() + "==", "SHA256:", "SHA256:%%%", "MD5:aa:bb",
		string(ca.AuthorizedKey), "cert-authority " + string(ca.AuthorizedKey) + string(ca.AuthorizedKey),
		string(hourCert(f, ca, pub)), "", "# x\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in := s
		if !strings.HasPrefix(strings.TrimSpace(s), "SHA256:") {
			// Anything else is a file name: put s in a file.
			in = filepath.Join(t.TempDir(), "ca.pub")
			if err := os.WriteFile(in, []byte(s), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		a, err := ParseAuthority(in)
		if err != nil {
			if !errors.Is(err, ErrAuthority) {
				t.Fatalf("error without ErrAuthority: %v", err)
			}
			return
		}
		for _, fp := range strings.Split(a.String(), ", ") {
			b, err := ParseAuthority(fp)
			if err != nil || b.String() != fp {
				t.Fatalf("fingerprint %q does not parse back: %v", fp, err)
			}
		}
	})
}
