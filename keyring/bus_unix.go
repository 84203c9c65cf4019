//go:build (dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd

// The build constraint is go-keyring's own for its Secret Service backend.

package keyring

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	dbus "github.com/godbus/dbus/v5"
)

// checkSessionBus makes sure that go-keyring will find a session bus without
// autolaunching one. godbus, asked for the session bus, uses
// DBUS_SESSION_BUS_ADDRESS, else /run/user/UID/bus or /run/user/UID/dbus-session,
// else runs dbus-launch, which (with dbus-x11 installed) starts a bus and a
// keyring daemon per call and leaves them running. So the last resort must
// never be reached: no bus found here means ErrUnavailable.
func checkSessionBus() error {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && !strings.HasPrefix(a, "autolaunch:") {
		return nil
	}
	runUser := filepath.Join("/run/user", strconv.Itoa(os.Getuid()))
	var sockets []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		sockets = append(sockets, filepath.Join(d, "bus"))
	}
	sockets = append(sockets, filepath.Join(runUser, "bus"))
	for _, p := range sockets {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&os.ModeSocket != 0 {
			// Tell godbus exactly what we found; for $XDG_RUNTIME_DIR/bus
			// it would not look by itself.
			return os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dbus.EscapeBusAddressValue(p))
		}
	}
	if b, err := os.ReadFile(filepath.Join(runUser, "dbus-session")); err == nil {
		if a, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "DBUS_SESSION_BUS_ADDRESS="); ok && a != "" && !strings.HasPrefix(a, "autolaunch:") {
			return os.Setenv("DBUS_SESSION_BUS_ADDRESS", a)
		}
	}
	return fmt.Errorf("%w: no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is unset and there is no $XDG_RUNTIME_DIR/bus), as under cron, AiiDA daemons and SSH logins; %s", ErrUnavailable, hint)
}

func classifyPlatform(err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		switch de.Name {
		case "org.freedesktop.Secret.Error.IsLocked":
			return fmt.Errorf("%w: the collection is locked and could not be unlocked here; unlock it in the desktop session or use an env:, file: or cmd: secret reference", ErrLocked)
		case "org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner":
			return fmt.Errorf("%w: no Secret Service (org.freedesktop.secrets) on the session bus; start gnome-keyring-daemon (or KeePassXC's Secret Service), %s", ErrUnavailable, hint)
		}
		return fmt.Errorf("%w: %s: %s; %s", ErrUnavailable, de.Name, firstLine(de.Error()), hint)
	}
	var ee *exec.Error
	var ne *net.OpError
	if errors.As(err, &ee) || errors.As(err, &ne) {
		return fmt.Errorf("%w: cannot connect to the D-Bus session bus: %v; %s", ErrUnavailable, firstLine(err.Error()), hint)
	}
	return nil
}
