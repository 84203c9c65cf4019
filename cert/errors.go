package cert

import (
	"errors"
	"io/fs"

	"github.com/hpc-auth/hpc-auth/cert/quick"
)

// Sentinel errors. Functions wrap them with detail (a path, a time, a
// fingerprint); test for them with errors.Is.
var (
	// ErrMissing: the file does not exist. It also matches fs.ErrNotExist.
	ErrMissing error = &notExist{}
	// ErrEmpty: the certificate data holds nothing but white space.
	ErrEmpty = errors.New("empty certificate")
	// ErrCorrupt: the certificate cannot be parsed (garbage, truncated,
	// impossible timestamps, unknown certificate type).
	ErrCorrupt = errors.New("malformed certificate")
	// ErrNotCertificate: a plain public key where a certificate was expected.
	ErrNotCertificate = errors.New("not a certificate (a plain public key)")
	// ErrHostCertificate: a host certificate where a user certificate was expected.
	ErrHostCertificate = errors.New("host certificate, not a user certificate")
	// ErrWrongKey: the certificate certifies some other key than ours.
	ErrWrongKey = errors.New("certificate is for another key")
	// ErrWrongAuthority: the certificate is signed by a CA other than cert_authority.
	ErrWrongAuthority = errors.New("certificate signed by an unexpected authority")
	// ErrExpired: the certificate's validity window has ended.
	ErrExpired = errors.New("certificate expired")
	// ErrNotYetValid: the certificate's validity window has not begun.
	ErrNotYetValid = errors.New("certificate not yet valid")
	// ErrExpiring: the certificate is valid now but has less than
	// min_validity left. It does not match ErrExpired: such a certificate
	// still works, which matters for the grace period.
	ErrExpiring = errors.New("certificate expires too soon")
	// ErrBadSignature: the CA's signature over the certificate does not verify.
	ErrBadSignature = errors.New("certificate signature does not verify")
	// ErrKey: a private or public key file cannot be read or parsed (for
	// example an encrypted private key whose public key is not available).
	ErrKey = errors.New("unusable key")
	// ErrWrite: the key or certificate could not be installed.
	ErrWrite = errors.New("cannot install key and certificate")
	// ErrAuthority: the cert_authority setting is neither a SHA256
	// fingerprint nor a readable public key file.
	ErrAuthority = errors.New("invalid cert_authority")
	// ErrThreshold: a min_validity that is neither a duration nor a percentage.
	ErrThreshold = quick.ErrThreshold
)

// notExist is ErrMissing's type, so that ErrMissing can also answer to
// fs.ErrNotExist for callers that only know the standard library.
type notExist struct{}

func (*notExist) Error() string        { return "no such file" }
func (*notExist) Is(target error) bool { return target == fs.ErrNotExist }
