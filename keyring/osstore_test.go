package keyring

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	gokeyring "github.com/zalando/go-keyring"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want error
		msg  string
	}{
		{gokeyring.ErrNotFound, ErrNotFound, "not found"},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"), ErrLocked, "/org/freedesktop/secrets/collection/login is locked"},
		{errors.New("failed to unlock correct collection '/org/freedesktop/secrets/aliases/default'"), ErrLocked, "aliases/default"},
		{dbus.Error{Name: "org.freedesktop.Secret.Error.IsLocked", Body: []any{"locked"}}, ErrLocked, "locked"},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown", Body: []any{"The name org.freedesktop.secrets was not provided by any .service files"}}, ErrUnavailable, "no Secret Service"},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply", Body: []any{"no reply"}}, ErrUnavailable, "NoReply"},
		{&exec.Error{Name: "dbus-launch", Err: exec.ErrNotFound}, ErrUnavailable, "cannot connect"},
		{&net.OpError{Op: "dial", Net: "unix", Err: os.ErrNotExist}, ErrUnavailable, "cannot connect"},
		{errors.New("User interaction is not allowed. (-25308)"), ErrLocked, "keychain"},
		{gokeyring.ErrSetDataTooBig, ErrUnavailable, "too large"},
		{errors.New("something else"), ErrUnavailable, "something else"},
	} {
		got := classify(tc.err)
		if !errors.Is(got, tc.want) || !strings.Contains(got.Error(), tc.msg) {
			t.Errorf("classify(%v) = %v, want %v mentioning %q", tc.err, got, tc.want, tc.msg)
		}
		if errors.Is(tc.want, ErrLocked) && errors.Is(got, ErrNotFound) {
			t.Errorf("locked reported as not found")
		}
	}
}

// noBus makes the process look headless: no address, an empty runtime dir.
func noBus(t *testing.T) {
	t.Helper()
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	for _, p := range []string{"bus", "dbus-session"} {
		p = filepath.Join("/run/user", strconv.Itoa(os.Getuid()), p)
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s exists: this machine has a user session bus, so it cannot play a headless one", p)
		}
	}
}

func TestCheckSessionBus(t *testing.T) {
	noBus(t)
	err := checkSessionBus()
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "DBUS_SESSION_BUS_ADDRESS") || !strings.Contains(err.Error(), "desktop session") {
		t.Errorf("headless: %v", err)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "autolaunch:")
	if err := checkSessionBus(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("autolaunch: %v", err)
	}

	// $XDG_RUNTIME_DIR/bus is found and handed to godbus.
	dir := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	sock := filepath.Join(dir, "bus")
	if err := os.WriteFile(sock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkSessionBus(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("a plain file named bus is no bus: %v", err)
	}
	os.Remove(sock)
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := checkSessionBus(); err != nil {
		t.Fatal(err)
	}
	if got, want := os.Getenv("DBUS_SESSION_BUS_ADDRESS"), "unix:path="+dbus.EscapeBusAddressValue(sock); got != want {
		t.Errorf("DBUS_SESSION_BUS_ADDRESS = %q, want %q", got, want)
	}
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/elsewhere")
	if err := checkSessionBus(); err != nil || os.Getenv("DBUS_SESSION_BUS_ADDRESS") != "unix:path=/elsewhere" {
		t.Errorf("an explicit address must win: %v", err)
	}
}

func TestOSStoreDialFails(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(t.TempDir(), "nothing-here"))
	_, err := OS(5*time.Second).Get(context.Background(), "hpc-auth", "daint/totp")
	if !errors.Is(err, ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want ErrUnavailable at once", err)
	}
}

// A bus that accepts connections but never answers: the deadline must hold.
func TestOSStoreTimeout(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "mute")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	// Closing the connections lets go-keyring's abandoned call finish and
	// release godbus's session-bus lock for later tests.
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+sock)
	_, err = OS(200*time.Millisecond).Get(context.Background(), "hpc-auth", "daint/totp")
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("err = %v, want ErrUnavailable after the deadline", err)
	}
}

func TestOSStoreArgs(t *testing.T) {
	ctx := context.Background()
	if _, err := OS(0).Get(ctx, "", "x"); !errors.Is(err, ErrBadRef) {
		t.Errorf("empty service: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := OS(0).Set(cctx, "s", "a", "v"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
