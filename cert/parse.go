package cert

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"math"

	"golang.org/x/crypto/ssh"
)

// maxFile bounds what Load and PublicKey read: a certificate or public key
// line is a few kilobytes at most, and the fast path must not be slowed
// down by a huge file put in its place.
const maxFile = 64 << 10

var errTooLarge = errors.New("file too large")

// Parse parses one certificate in authorized_keys format, as found in a
// -cert.pub file: "TYPE BASE64 [COMMENT]". Blank lines and lines starting
// with '#' around it are ignored; a second key line is refused, so that
// what is judged is exactly what ssh will use.
//
// Empty input gives ErrEmpty, a plain public key ErrNotCertificate, a host
// certificate ErrHostCertificate (the fast path relies on Parse for that),
// anything else unparsable ErrCorrupt. Certificates whose timestamps x/crypto
// would misread (beyond int64, other than "forever") are ErrCorrupt too.
func Parse(data []byte) (*ssh.Certificate, error) {
	var line []byte
	for rest := data; len(rest) > 0; {
		var l []byte
		l, rest, _ = bytes.Cut(rest, []byte{'\n'})
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		if line != nil {
			return nil, fmt.Errorf("%w: more than one key line", ErrCorrupt)
		}
		line = l
	}
	if line == nil {
		return nil, ErrEmpty
	}

	fields := bytes.Fields(line)
	if len(fields) < 2 {
		return nil, fmt.Errorf("%w: want \"TYPE BASE64 [COMMENT]\"", ErrCorrupt)
	}
	blob := make([]byte, base64.StdEncoding.DecodedLen(len(fields[1])))
	n, err := base64.StdEncoding.Decode(blob, fields[1])
	if err != nil {
		return nil, fmt.Errorf("%w: bad base64", ErrCorrupt)
	}
	pub, err := ssh.ParsePublicKey(blob[:n])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if pub.Type() != string(fields[0]) {
		return nil, fmt.Errorf("%w: type %q does not match the key's type %q", ErrCorrupt, fields[0], pub.Type())
	}
	c, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, fmt.Errorf("%w: %s key", ErrNotCertificate, pub.Type())
	}
	switch c.CertType {
	case ssh.UserCert:
	case ssh.HostCert:
		return nil, ErrHostCertificate
	default:
		return nil, fmt.Errorf("%w: unknown certificate type %d", ErrCorrupt, c.CertType)
	}
	if err := checkTimestamps(c); err != nil {
		return nil, err
	}
	return c, nil
}

// checkTimestamps refuses timestamps that do not fit an int64 (other than
// CertTimeInfinity): x/crypto treats them as invalid, OpenSSH as valid, so
// they can mean nothing reliable.
func checkTimestamps(c *ssh.Certificate) error {
	if c.ValidAfter > math.MaxInt64 {
		return fmt.Errorf("%w: valid-after timestamp out of range", ErrCorrupt)
	}
	if c.ValidBefore > math.MaxInt64 && c.ValidBefore != ssh.CertTimeInfinity {
		return fmt.Errorf("%w: valid-before timestamp out of range", ErrCorrupt)
	}
	return nil
}

// Load reads and parses the certificate file at path. A missing file gives
// an error matching ErrMissing (and fs.ErrNotExist); errors name the path.
func Load(path string) (*ssh.Certificate, error) {
	data, err := readSmall(path)
	if errors.Is(err, errTooLarge) {
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// readSmall reads a file of at most maxFile bytes.
func readSmall(path string) ([]byte, error) {
	data, err := readFile(path, maxFile+1)
	if err != nil {
		return nil, fileError(path, err)
	}
	if len(data) > maxFile {
		return nil, fmt.Errorf("%s: %w", path, errTooLarge)
	}
	return data, nil
}

// fileError maps a missing file to ErrMissing and leaves other errors
// (which already name the path) alone.
func fileError(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, ErrMissing)
	}
	return err
}
