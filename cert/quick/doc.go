// Package quick decides, with the standard library alone, whether an
// installed certificate is still fresh enough: the question AiiDA asks
// before nearly every SSH connection.
//
// It exists for speed. A Go binary pays at start-up for every package it
// links, and hpc-auth's full engine links TLS, D-Bus, a pty library and
// golang.org/x/crypto/ssh; the fast path runs in a separate small binary
// that links only this package and the config parser. Package cert shares
// the rules kept here (thresholds, skew, staged-file names) so the two
// cannot drift, and a differential fuzz test in package cert checks that
// Check never accepts what cert would refuse.
//
// Check is deliberately conservative: anything it does not fully
// understand (an unknown key type, an encrypted key without .pub, a
// pending install) is "not fresh", and the full engine decides. It does
// not verify the CA's signature: the certificate was checked when it was
// installed, and the fast path, like the shell scripts it replaces, only
// asks whether it is still in date.
package quick
