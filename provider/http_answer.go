package provider

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// httpJSONField walks a dotted path ("sshKey.publicKey", "items.0.cert")
// through decoded JSON and returns the string it ends on. Numeric segments
// index arrays. Anything else (missing, not a string) is not found.
func httpJSONField(doc any, path string) (string, bool) {
	if path == "" {
		return "", false
	}
	cur := doc
	for seg := range strings.SplitSeq(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return "", false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return "", false
			}
			cur = v[i]
		default:
			return "", false
		}
	}
	s, ok := cur.(string)
	return s, ok
}

// checkPair does the light checks that turn garbage into ErrBadAnswer
// before the engine's full verification: the certificate is one OpenSSH
// user-certificate line, not expired, for the returned private key (or, when
// the service signed our key (withKey false), for publicKey). It never quotes key material.
func (s *httpService) checkPair(status int, certText []byte, withKey bool, keyPEM, publicKey []byte) (*Result, error) {
	line := bytes.TrimSpace(certText)
	if len(line) == 0 {
		return nil, s.badAnswer(status, "no certificate in the answer")
	}
	if bytes.ContainsAny(line, "\r\n") {
		return nil, s.badAnswer(status, "certificate is not a single line")
	}
	pub, _, _, rest, err := ssh.ParseAuthorizedKey(line)
	if err != nil || len(bytes.TrimSpace(rest)) != 0 {
		return nil, s.badAnswer(status, "certificate does not parse as an OpenSSH certificate line")
	}
	cert, ok := pub.(*ssh.Certificate)
	if !ok {
		return nil, s.badAnswer(status, "answer holds a plain %s public key, not a certificate", pub.Type())
	}
	if cert.CertType != ssh.UserCert {
		return nil, s.badAnswer(status, "answer holds a host certificate, not a user certificate")
	}
	if cert.ValidBefore != ssh.CertTimeInfinity && s.now().Unix() >= int64(cert.ValidBefore) {
		return nil, s.badAnswer(status, "certificate expired at %s", time.Unix(int64(cert.ValidBefore), 0).UTC().Format(time.RFC3339))
	}

	res := &Result{Certificate: append(append([]byte(nil), line...), '\n')}
	var want ssh.PublicKey
	if withKey {
		k := bytes.TrimSpace(keyPEM)
		if len(k) == 0 {
			return nil, s.badAnswer(status, "no private key in the answer")
		}
		raw, err := ssh.ParseRawPrivateKey(k)
		if err != nil {
			var pm *ssh.PassphraseMissingError
			if errors.As(err, &pm) {
				return nil, s.badAnswer(status, "private key is encrypted")
			}
			return nil, s.badAnswer(status, "private key does not parse as a PEM private key")
		}
		signer, err := ssh.NewSignerFromKey(raw)
		if err != nil {
			return nil, s.badAnswer(status, "private key of an unsupported type")
		}
		want = signer.PublicKey()
		res.PrivateKey = append(append([]byte(nil), k...), '\n')
	} else {
		p, _, _, _, err := ssh.ParseAuthorizedKey(publicKey)
		if err != nil {
			return nil, s.badAnswer(status, "no private key in the answer and no public key of ours to compare")
		}
		want = p
	}
	if !bytes.Equal(cert.Key.Marshal(), want.Marshal()) {
		return nil, s.badAnswer(status, "certificate is for another key (%s), not %s",
			ssh.FingerprintSHA256(cert.Key), ssh.FingerprintSHA256(want))
	}
	return res, nil
}
