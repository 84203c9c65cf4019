package quick

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"os"
	"strings"
	"time"
)

// StagedSuffix names the files an install stages next to their final name.
const StagedSuffix = ".hpc-auth-new"

// Pending reports whether an interrupted install left staged files, so that
// the fast path diverts to the locked slow path, which repairs them.
func Pending(keyPath, certPath string) bool {
	return exists(certPath+StagedSuffix) || exists(keyPath+StagedSuffix)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// maxUnix is the last second of year 9999; later ValidBefore means forever.
const maxUnix = 253402300799

const userCert = 1

// Check reports whether the certificate at certPath is a user certificate
// for the key whose public half is keyPath+".pub", signed by authority when
// authority is not empty (a "SHA256:..." fingerprint or a file of CA public
// keys), valid at now and for at least min more. Any doubt is false.
func Check(keyPath, certPath, authority string, min Threshold, now time.Time) bool {
	if Pending(keyPath, certPath) {
		return false
	}
	certLine, err := os.ReadFile(certPath)
	if err != nil {
		return false
	}
	c, ok := ParseCert(certLine)
	if !ok || c.Type != userCert {
		return false
	}
	pubLine, err := os.ReadFile(keyPath + ".pub")
	if err != nil {
		return false
	}
	keyType, key, ok := ParsePublicKey(pubLine)
	if !ok || keyType != c.KeyType || !bytes.Equal(key, c.Key) {
		return false
	}
	if authority != "" && !trusted(authority, c.SignatureKey) {
		return false
	}
	return c.FreshAt(now, min)
}

// FreshAt applies the validity rules of package cert: the window contains
// now (ValidAfter may be up to Skew ahead; ValidBefore is exclusive) and at
// least min.Of(lifetime) remains.
func (c *Cert) FreshAt(now time.Time, min Threshold) bool {
	after := time.Unix(int64(minU(c.ValidAfter, maxUnix)), 0)
	forever := c.ValidBefore > maxUnix
	if now.Add(Skew).Before(after) {
		return false
	}
	if forever {
		return true
	}
	before := time.Unix(int64(c.ValidBefore), 0)
	if !before.After(after) {
		return false
	}
	left := before.Sub(now)
	if left <= 0 {
		return false
	}
	var lifetime time.Duration
	if after.Unix() != 0 {
		lifetime = before.Sub(after)
	}
	return left >= min.Of(lifetime)
}

func minU(a, b uint64) uint64 {
	if a < b {
		return a
	}
	return b
}

// trusted reports whether sigKey (the CA's public key in wire format)
// matches authority.
func trusted(authority string, sigKey []byte) bool {
	if fp, ok := strings.CutPrefix(authority, "SHA256:"); ok {
		sum := sha256.Sum256(sigKey)
		return strings.TrimRight(fp, "=") == base64.RawStdEncoding.EncodeToString(sum[:])
	}
	data, err := os.ReadFile(authority)
	if err != nil {
		return false
	}
	for _, line := range bytes.Split(data, []byte("\n")) {
		if _, blob, ok := publicKeyBlob(line); ok && bytes.Equal(blob, sigKey) {
			return true
		}
	}
	return false
}

// Cert is the part of an OpenSSH certificate the fast path needs.
type Cert struct {
	KeyType      string // the certified key's type, e.g. "ssh-ed25519"
	Key          []byte // the certified key's fields, in wire format
	Type         uint32 // 1 user, 2 host
	ValidAfter   uint64
	ValidBefore  uint64
	SignatureKey []byte // the CA's public key, in wire format
}

// keyFields is how many wire fields follow the type name in each public key
// format (PROTOCOL.certkeys); a certificate carries the same fields.
var keyFields = map[string]int{
	"ssh-ed25519":                        1, // pk
	"ssh-rsa":                            2, // e, n
	"ecdsa-sha2-nistp256":                2, // curve, Q
	"ecdsa-sha2-nistp384":                2,
	"ecdsa-sha2-nistp521":                2,
	"sk-ssh-ed25519@openssh.com":         2, // pk, application
	"sk-ecdsa-sha2-nistp256@openssh.com": 3, // curve, Q, application
}

// ParseCert reads one certificate line ("TYPE BASE64 [comment]"). It accepts
// a leading comment or blank lines but, like package cert, only one key.
func ParseCert(data []byte) (*Cert, bool) {
	name, blob, ok := publicKeyBlob(firstKeyLine(data))
	if !ok || !strings.HasSuffix(name, "-cert-v01@openssh.com") {
		return nil, false
	}
	r := reader(blob)
	wireName, ok := r.str()
	if !ok || string(wireName) != name {
		return nil, false
	}
	keyType := strings.TrimSuffix(name, "-cert-v01@openssh.com")
	if name == "sk-ssh-ed25519-cert-v01@openssh.com" {
		keyType = "sk-ssh-ed25519@openssh.com"
	}
	if name == "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com" {
		keyType = "sk-ecdsa-sha2-nistp256@openssh.com"
	}
	n, known := keyFields[keyType]
	if !known {
		return nil, false
	}
	if _, ok := r.str(); !ok { // nonce
		return nil, false
	}
	start := len(blob) - len(r)
	for range n {
		if _, ok := r.str(); !ok {
			return nil, false
		}
	}
	c := &Cert{KeyType: keyType, Key: blob[start : len(blob)-len(r)]}
	if _, ok = r.u64(); !ok { // serial
		return nil, false
	}
	if c.Type, ok = r.u32(); !ok {
		return nil, false
	}
	if _, ok := r.str(); !ok { // key id
		return nil, false
	}
	if list, ok := r.str(); !ok || !stringList(list, 1) { // principals
		return nil, false
	}
	if c.ValidAfter, ok = r.u64(); !ok {
		return nil, false
	}
	if c.ValidBefore, ok = r.u64(); !ok {
		return nil, false
	}
	for range 2 { // critical options, extensions: (name, data) pairs
		if list, ok := r.str(); !ok || !stringList(list, 2) || !sortedNames(list) {
			return nil, false
		}
	}
	if _, ok := r.str(); !ok { // reserved
		return nil, false
	}
	if c.SignatureKey, ok = r.str(); !ok || !wireKey(c.SignatureKey) {
		return nil, false
	}
	// The signature: a format name and a blob, nothing after.
	sig, ok := r.str()
	if !ok || len(r) != 0 || !stringList(sig, 2) || len(sig) < 8 {
		return nil, false
	}
	if !validKey(keyType, c.Key) {
		return nil, false
	}
	return c, true
}

// stringList reports whether b is a whole number of groups of n wire
// strings (principals: n=1; options and extensions: name and data, n=2).
func stringList(b []byte, n int) bool {
	r := reader(b)
	for len(r) > 0 {
		for range n {
			if _, ok := r.str(); !ok {
				return false
			}
		}
	}
	return true
}

// sortedNames reports whether the option names of a (name, data) list are
// in strictly increasing order, as PROTOCOL.certkeys requires.
func sortedNames(b []byte) bool {
	r := reader(b)
	var prev []byte
	for i := 0; len(r) > 0; i++ {
		name, _ := r.str()
		r.str()
		if i > 0 && bytes.Compare(prev, name) >= 0 {
			return false
		}
		prev = name
	}
	return true
}

// wireKey reports whether b is a whole public key of a known type (a CA's
// key as a certificate carries it).
func wireKey(b []byte) bool {
	r := reader(b)
	name, ok := r.str()
	if !ok {
		return false
	}
	n, known := keyFields[string(name)]
	if !known {
		return false
	}
	start := len(b) - len(r)
	for range n {
		if _, ok := r.str(); !ok {
			return false
		}
	}
	return len(r) == 0 && validKey(string(name), b[start:])
}

// validKey applies the shape checks a key parser would: an Ed25519 key is
// 32 bytes; an ECDSA key names its curve.
func validKey(keyType string, fields []byte) bool {
	r := reader(fields)
	first, ok := r.str()
	if !ok {
		return false
	}
	switch keyType {
	case "ssh-ed25519", "sk-ssh-ed25519@openssh.com":
		return len(first) == 32
	case "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "sk-ecdsa-sha2-nistp256@openssh.com":
		return strings.HasSuffix(keyType, string(first)) || strings.Contains(keyType, string(first)+"@")
	}
	return len(first) > 0
}

// ParsePublicKey reads a .pub line and returns the key type and the key's
// fields in wire format (what a certificate for it carries).
func ParsePublicKey(data []byte) (keyType string, key []byte, ok bool) {
	name, blob, ok := publicKeyBlob(firstKeyLine(data))
	if !ok {
		return "", nil, false
	}
	n, known := keyFields[name]
	if !known {
		return "", nil, false
	}
	r := reader(blob)
	if wireName, ok := r.str(); !ok || string(wireName) != name {
		return "", nil, false
	}
	start := len(blob) - len(r)
	for range n {
		if _, ok := r.str(); !ok {
			return "", nil, false
		}
	}
	if len(r) != 0 {
		return "", nil, false
	}
	return name, blob[start:], true
}

// firstKeyLine returns the first line that is neither blank nor a comment,
// and nothing when a second such line follows (a file of several keys is
// not a certificate file).
func firstKeyLine(data []byte) []byte {
	var found []byte
	for _, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if found != nil {
			return nil
		}
		found = line
	}
	return found
}

// publicKeyBlob splits "TYPE BASE64 [comment]" and decodes the base64.
func publicKeyBlob(line []byte) (string, []byte, bool) {
	f := bytes.Fields(line)
	if len(f) < 2 {
		return "", nil, false
	}
	blob, err := base64.StdEncoding.DecodeString(string(f[1]))
	if err != nil {
		return "", nil, false
	}
	return string(f[0]), blob, true
}

// reader consumes SSH wire-format fields.
type reader []byte

func (r *reader) str() ([]byte, bool) {
	if len(*r) < 4 {
		return nil, false
	}
	n := binary.BigEndian.Uint32(*r)
	if uint64(n) > uint64(len(*r)-4) {
		return nil, false
	}
	s := (*r)[4 : 4+n]
	*r = (*r)[4+n:]
	return s, true
}

func (r *reader) u32() (uint32, bool) {
	if len(*r) < 4 {
		return 0, false
	}
	v := binary.BigEndian.Uint32(*r)
	*r = (*r)[4:]
	return v, true
}

func (r *reader) u64() (uint64, bool) {
	if len(*r) < 8 {
		return 0, false
	}
	v := binary.BigEndian.Uint64(*r)
	*r = (*r)[8:]
	return v, true
}
