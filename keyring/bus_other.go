//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package keyring

// checkSessionBus has nothing to check where go-keyring does not use D-Bus.
func checkSessionBus() error { return nil }

func classifyPlatform(error) error { return nil }
