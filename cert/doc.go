// Package cert reads and judges OpenSSH user certificates, and installs
// key pairs so that a crash never leaves a key next to another key's
// certificate.
//
// The functions are small and pure where they can be: time is always a
// parameter, so the edges of a validity window can be table-tested, and the
// checks that run before every SSH connection (Load, PublicKey, Fresh,
// SameKey) do no more than read two small files and parse them.
//
// Certificates follow [PROTOCOL.certkeys]. Validity is judged as
// golang.org/x/crypto/ssh judges it: ValidBefore is exclusive and
// ssh.CertTimeInfinity means the certificate never expires.
//
// [PROTOCOL.certkeys]: https://cvsweb.openbsd.org/src/usr.bin/ssh/PROTOCOL.certkeys
package cert
