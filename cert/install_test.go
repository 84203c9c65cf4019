package cert

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/hpc-auth/hpc-auth/cert/certtest"
)

// state is what a pair looks like on disk; nil fields mean "absent".
type state struct{ key, pub, cert []byte }

func readState(t testing.TB, keyPath, certPath string) state {
	t.Helper()
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		must(t, err)
		return b
	}
	return state{read(keyPath), read(keyPath + ".pub"), read(certPath)}
}

func (s state) equal(o state) bool {
	return bytes.Equal(s.key, o.key) && bytes.Equal(s.pub, o.pub) && bytes.Equal(s.cert, o.cert)
}

// checkConsistent asserts the install invariant after Repair: no staged
// file, the files are exactly one of the allowed states (if any are given), the certificate
// certifies the key, the .pub is the key's, and the modes are right.
func checkConsistent(t testing.TB, keyPath, certPath string, allowed ...state) {
	t.Helper()
	for _, dir := range uniq(filepath.Dir(keyPath), filepath.Dir(certPath)) {
		left, _ := filepath.Glob(filepath.Join(dir, "*"+stagedSuffix))
		if len(left) > 0 {
			t.Fatalf("staged files left behind: %v", left)
		}
	}
	if Pending(keyPath, certPath) {
		t.Fatal("Pending after Repair")
	}
	s := readState(t, keyPath, certPath)
	found := len(allowed) == 0 // any consistent pair will do
	for _, a := range allowed {
		found = found || s.equal(a)
	}
	if !found {
		t.Fatalf("files are neither the old nor the new pair")
	}
	if s.key == nil {
		return
	}
	signer, err := ssh.ParsePrivateKey(s.key)
	must(t, err)
	c, err := Parse(s.cert)
	must(t, err)
	pub, err := parsePublicKey(s.pub)
	must(t, err)
	if !SameKey(c.Key, signer.PublicKey()) || !SameKey(pub, signer.PublicKey()) {
		t.Fatal("key, .pub and certificate do not match")
	}
	for p, mode := range map[string]os.FileMode{keyPath: 0o600, keyPath + ".pub": 0o644, certPath: 0o644} {
		fi, err := os.Lstat(p)
		must(t, err)
		if fi.Mode() != mode {
			t.Fatalf("%s: mode %v, want %v", p, fi.Mode(), mode)
		}
	}
}

func TestInstall(t *testing.T) {
	ca := certtest.NewCA(t)
	dir := filepath.Join(t.TempDir(), "new", ".ssh")
	keyPath, certPath := filepath.Join(dir, "key"), filepath.Join(dir, "key-cert.pub")

	// A first install creates the directory (0700) and all three files.
	priv, pub := certtest.NewKey(t)
	line := hourCert(t, ca, pub)
	must(t, Install(keyPath, certPath, Pair{PrivateKey: priv, Certificate: bytes.TrimSpace(line)}))
	want := state{priv, ssh.MarshalAuthorizedKey(pub), line}
	checkConsistent(t, keyPath, certPath, want)
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v %v", fi.Mode(), err)
	}

	// A certificate-only renewal keeps the key and the .pub.
	line2 := ca.Sign(t, pub, certtest.Options{KeyID: "second"})
	must(t, Install(keyPath, certPath, Pair{Certificate: line2}))
	want.cert = line2
	checkConsistent(t, keyPath, certPath, want)

	// A certificate for another key is refused and changes nothing.
	_, other := certtest.NewKey(t)
	if err := Install(keyPath, certPath, Pair{Certificate: hourCert(t, ca, other)}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("foreign certificate: %v", err)
	}
	priv3, pub3 := certtest.NewKey(t)
	if err := Install(keyPath, certPath, Pair{PrivateKey: priv3, Certificate: line2}); !errors.Is(err, ErrWrongKey) {
		t.Errorf("certificate for the old key with a new key: %v", err)
	}
	if err := Install(keyPath, certPath, Pair{PrivateKey: priv3, PublicKey: ssh.MarshalAuthorizedKey(pub), Certificate: hourCert(t, ca, pub3)}); !errors.Is(err, ErrKey) {
		t.Errorf("mismatched .pub: %v", err)
	}
	if err := Install(keyPath, certPath, Pair{PrivateKey: []byte("garbage"), Certificate: line2}); !errors.Is(err, ErrKey) {
		t.Errorf("garbage key: %v", err)
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), ssh.MarshalAuthorizedKey(pub), ca.Sign(t, pub, certtest.Options{Type: ssh.HostCert})} {
		if err := Install(keyPath, certPath, Pair{Certificate: bad}); err == nil {
			t.Errorf("Install accepted certificate %q", bad)
		}
	}
	checkConsistent(t, keyPath, certPath, want)

	// A new pair with a given .pub (comment kept), over files with odd modes
	// and a PEM with CRLF and text around it.
	must(t, os.Chmod(keyPath, 0o640))
	must(t, os.Chmod(certPath, 0o600))
	line3 := hourCert(t, ca, pub3)
	pubLine := bytes.TrimSpace(ssh.MarshalAuthorizedKey(pub3))
	pubLine = append(pubLine, " jdoe@cluster"...)
	messy := append([]byte("key:\r\n"), bytes.ReplaceAll(priv3, []byte("\n"), []byte("\r\n"))...)
	must(t, Install(keyPath, certPath, Pair{PrivateKey: messy, PublicKey: pubLine, Certificate: line3}))
	checkConsistent(t, keyPath, certPath, state{priv3, append(pubLine, '\n'), line3})
}

func TestInstallSeparateDirs(t *testing.T) {
	ca := certtest.NewCA(t)
	root := t.TempDir()
	keyPath, certPath := filepath.Join(root, "keys", "key"), filepath.Join(root, "certs", "key-cert.pub")
	priv, pub := certtest.NewKey(t)
	line := hourCert(t, ca, pub)
	must(t, Install(keyPath, certPath, Pair{PrivateKey: priv, Certificate: line}))
	checkConsistent(t, keyPath, certPath, state{priv, ssh.MarshalAuthorizedKey(pub), line})
	line2 := ca.Sign(t, pub, certtest.Options{KeyID: "2"})
	must(t, os.WriteFile(certPath+stagedSuffix, line2, 0o644)) // an interrupted renewal
	if !Pending(keyPath, certPath) {
		t.Fatal("not Pending")
	}
	if changed, err := Repair(keyPath, certPath); !changed || err != nil {
		t.Fatalf("Repair = %v, %v", changed, err)
	}
	checkConsistent(t, keyPath, certPath, state{priv, ssh.MarshalAuthorizedKey(pub), line2})
}

func TestInstallStagedSymlink(t *testing.T) {
	ca := certtest.NewCA(t)
	dir := t.TempDir()
	keyPath, certPath, pub := writePair(t, dir, ca)
	target := filepath.Join(t.TempDir(), "target")
	writeFile(t, target, []byte("do not touch"), 0o644)
	for _, p := range []string{keyPath + stagedSuffix, keyPath + ".pub" + stagedSuffix, certPath + stagedSuffix} {
		must(t, os.Symlink(target, p))
	}
	if !Pending(keyPath, certPath) {
		t.Fatal("not Pending")
	}
	line := ca.Sign(t, pub, certtest.Options{KeyID: "renewed"})
	must(t, Install(keyPath, certPath, Pair{Certificate: line}))
	if b, _ := os.ReadFile(target); string(b) != "do not touch" {
		t.Errorf("symlink target written: %q", b)
	}
	s := readState(t, keyPath, certPath)
	checkConsistent(t, keyPath, certPath, state{s.key, s.pub, line})

	// Repair alone, with a symlink planted at the staged certificate name.
	must(t, os.Symlink(target, certPath+stagedSuffix))
	changed, err := Repair(keyPath, certPath)
	if !changed || err != nil {
		t.Errorf("Repair = %v, %v", changed, err)
	}
	checkConsistent(t, keyPath, certPath, state{s.key, s.pub, line})
}

func TestInstallWriteError(t *testing.T) {
	ca := certtest.NewCA(t)
	dir := t.TempDir()
	keyPath, certPath, pub := writePair(t, dir, ca)
	notDir := filepath.Join(dir, "file")
	writeFile(t, notDir, nil, 0o644)
	// The certificate's directory cannot be created: ErrWrite, nothing changed.
	err := Install(keyPath, filepath.Join(notDir, "cert"), Pair{Certificate: hourCert(t, ca, pub)})
	if !errors.Is(err, ErrWrite) {
		t.Errorf("Install = %v, want ErrWrite", err)
	}
	// A staged name taken by a directory: Repair cannot remove it.
	must(t, os.Mkdir(certPath+stagedSuffix, 0o700))
	must(t, os.WriteFile(filepath.Join(certPath+stagedSuffix, "x"), nil, 0o600))
	if err := Install(keyPath, certPath, Pair{Certificate: hourCert(t, ca, pub)}); !errors.Is(err, ErrWrite) {
		t.Errorf("Install = %v, want ErrWrite", err)
	}
}

func TestRepairNothingPending(t *testing.T) {
	ca := certtest.NewCA(t)
	keyPath, certPath, _ := writePair(t, t.TempDir(), ca)
	before := readState(t, keyPath, certPath)
	if Pending(keyPath, certPath) {
		t.Error("Pending")
	}
	if changed, err := Repair(keyPath, certPath); changed || err != nil {
		t.Errorf("Repair = %v, %v", changed, err)
	}
	if !readState(t, keyPath, certPath).equal(before) {
		t.Error("Repair changed files")
	}
	// Nothing at all installed: nothing to do either.
	if changed, err := Repair(filepath.Join(t.TempDir(), "k"), filepath.Join(t.TempDir(), "c")); changed || err != nil {
		t.Errorf("Repair on nothing = %v, %v", changed, err)
	}
}

// crash is the panic value a test hook uses to simulate a crash.
type crash struct{}

// runCrashing runs f with testHook panicking at the n-th step (0-based),
// and reports whether it crashed; n < 0 records the steps instead.
func runCrashing(n int, f func()) (steps []string, crashed bool) {
	testHook = func(step string) {
		steps = append(steps, step)
		if n >= 0 && len(steps) == n+1 {
			panic(crash{})
		}
	}
	defer func() {
		testHook = nil
		if r := recover(); r != nil {
			if _, ok := r.(crash); !ok {
				panic(r)
			}
			crashed = true
		}
	}()
	f()
	return steps, false
}

// TestInstallCrash interrupts Install at every step, then Repair at every
// one of its steps, and checks that what is left after a final Repair is
// the old pair or the new one, consistent and complete.
func TestInstallCrash(t *testing.T) {
	ca := certtest.NewCA(t)
	oldPriv, oldPub := certtest.NewKey(t)
	newPriv, newPub := certtest.NewKey(t)
	oldCert, newCert := hourCert(t, ca, oldPub), hourCert(t, ca, newPub)
	renewed := ca.Sign(t, oldPub, certtest.Options{KeyID: "renewed"})
	oldState := state{oldPriv, ssh.MarshalAuthorizedKey(oldPub), oldCert}
	newState := state{newPriv, ssh.MarshalAuthorizedKey(newPub), newCert}

	type scenario struct {
		name     string
		setup    func(t *testing.T, keyPath, certPath string) // old files
		pair     Pair
		old, new state
	}
	writeOld := func(t *testing.T, keyPath, certPath string) {
		certtest.WriteKey(t, keyPath, oldPriv, oldPub)
		writeFile(t, certPath, oldCert, 0o644)
	}
	scenarios := []scenario{
		{"new pair", writeOld, Pair{PrivateKey: newPriv, Certificate: newCert}, oldState, newState},
		{"new pair with .pub", writeOld, Pair{PrivateKey: newPriv, PublicKey: ssh.MarshalAuthorizedKey(newPub), Certificate: newCert}, oldState, newState},
		{"certificate only", writeOld, Pair{Certificate: renewed}, oldState, state{oldPriv, ssh.MarshalAuthorizedKey(oldPub), renewed}},
		{"first install", func(*testing.T, string, string) {}, Pair{PrivateKey: newPriv, Certificate: newCert}, state{}, newState},
		{"same key again", func(t *testing.T, keyPath, certPath string) {
			certtest.WriteKey(t, keyPath, newPriv, newPub)
			writeFile(t, certPath, newCert, 0o644)
		}, Pair{PrivateKey: newPriv, Certificate: newCert}, newState, newState},
		{"over an interrupted install", func(t *testing.T, keyPath, certPath string) {
			// A new-key install that crashed after renaming the key: its
			// Repair (inside Install) must roll it forward first.
			writeOld(t, keyPath, certPath)
			writeFile(t, keyPath, newPriv, 0o600)
			writeFile(t, keyPath+".pub"+stagedSuffix, ssh.MarshalAuthorizedKey(newPub), 0o644)
			writeFile(t, certPath+stagedSuffix, newCert, 0o644)
		}, Pair{Certificate: ca.Sign(t, newPub, certtest.Options{KeyID: "third"})}, newState, state{}},
	}
	scenarios[5].new = state{newPriv, ssh.MarshalAuthorizedKey(newPub), scenarios[5].pair.Certificate}

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			prepare := func(t *testing.T) (string, string) {
				dir := t.TempDir()
				keyPath, certPath := filepath.Join(dir, "key"), filepath.Join(dir, "key-cert.pub")
				sc.setup(t, keyPath, certPath)
				return keyPath, certPath
			}
			keyPath, certPath := prepare(t)
			steps, _ := runCrashing(-1, func() { must(t, Install(keyPath, certPath, sc.pair)) })
			checkConsistent(t, keyPath, certPath, sc.new)
			if len(steps) < 5 {
				t.Fatalf("only %d steps: %v", len(steps), steps)
			}
			sawPending := false
			for i, step := range steps {
				for j := 0; ; j++ {
					keyPath, certPath := prepare(t)
					_, crashed := runCrashing(i, func() {
						err := Install(keyPath, certPath, sc.pair)
						t.Fatalf("Install did not crash at %q: %v", step, err)
					})
					if !crashed {
						t.Fatal("no crash")
					}
					pending := Pending(keyPath, certPath)
					sawPending = sawPending || pending
					staged, _ := filepath.Glob(filepath.Join(filepath.Dir(keyPath), "*"+stagedSuffix))
					if pending != (len(staged) > 0) {
						t.Fatalf("crash at %q: Pending = %v with staged files %v", step, pending, staged)
					}
					// Interrupt Repair at its j-th step, then repair for good.
					rsteps, crashed := runCrashing(j, func() {
						if _, err := Repair(keyPath, certPath); err != nil {
							t.Fatal(err)
						}
					})
					if _, err := Repair(keyPath, certPath); err != nil {
						t.Fatalf("crash at %q, then Repair step %d: %v", step, j, err)
					}
					func() {
						defer func() {
							if t.Failed() {
								t.Logf("crash at %q (step %d), Repair crashed at %d of %v", step, i, j, rsteps)
							}
						}()
						checkConsistent(t, keyPath, certPath, sc.old, sc.new)
					}()
					if !crashed {
						break // Repair ran to its end: all its steps were tried
					}
				}
			}
			if !sawPending {
				t.Error("no crash left anything pending")
			}
		})
	}
}

func TestStagedNames(t *testing.T) {
	f := pathsOf("/h/.ssh/key", "/h/.ssh/key-cert.pub")
	for _, p := range []string{f.sKey, f.sPub, f.sCert} {
		if !strings.HasSuffix(p, ".hpc-auth-new") || filepath.Dir(p) != "/h/.ssh" {
			t.Errorf("staged name %s", p)
		}
	}
}
