package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRoundTripAndModes(t *testing.T) {
	s := Store{Dir: filepath.Join(t.TempDir(), "state")}
	if err := s.EnsureDir(); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	st := &State{}
	st.Succeeded(now.Add(-25 * time.Hour))
	st.Succeeded(now.Add(-2 * time.Hour))
	st.Failed(now, "authentication rejected", now.Add(15*time.Minute))
	if err := s.Save("daint", st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("daint")
	if err != nil {
		t.Fatal(err)
	}
	if got.RenewalsSince(now) != 1 || got.Failures != 1 || got.RetryNotBefore == nil {
		t.Fatalf("round trip: %+v", got)
	}
	for _, p := range []string{s.Dir, s.Path("daint")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		want := os.FileMode(0o600)
		if fi.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestCorruptIsNotFatal(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	os.WriteFile(s.Path("x"), []byte("{not json"), 0o600)
	st, err := s.Load("x")
	if !errors.Is(err, ErrCorrupt) || st == nil {
		t.Fatalf("Load corrupt = %v, %v", st, err)
	}
}

func TestNextAllowed(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	st := &State{}
	for i := 5; i >= 1; i-- {
		st.Succeeded(now.Add(-time.Duration(i) * time.Hour))
	}
	if n := st.RenewalsSince(now); n != 5 {
		t.Fatalf("RenewalsSince = %d", n)
	}
	if got, want := st.NextAllowed(now, 5), now.Add(-5*time.Hour).Add(Window); !got.Equal(want) {
		t.Errorf("NextAllowed = %v, want %v", got, want)
	}
	if got := st.NextAllowed(now, 0); !got.Equal(now) {
		t.Errorf("no limit: %v", got)
	}
}

func TestLogRotates(t *testing.T) {
	l := &LogFile{Path: filepath.Join(t.TempDir(), "hpc-auth.log"), Max: 100}
	for i := 0; i < 10; i++ {
		l.Write([]byte(strings.Repeat("x", 30) + "\n"))
	}
	fi, err := os.Stat(l.Path)
	if err != nil || fi.Size() > 100 {
		t.Fatalf("log not rotated: %v %v", fi, err)
	}
	if _, err := os.Stat(l.Path + ".1"); err != nil {
		t.Fatal("no rotated generation")
	}
}
