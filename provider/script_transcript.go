package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// scriptTranscriptMax bounds the output a transcript keeps.
const scriptTranscriptMax = 1 << 20

// scriptTranscript records a script run for debugging: everything the script
// wrote, and a note for every answer. Every secret typed is replaced by ***
// when the text leaves memory, including where the script echoed it back.
// It is written to one file per profile, replaced at every run.
type scriptTranscript struct {
	buf       strings.Builder
	truncated bool
	secrets   []string
}

func (t *scriptTranscript) note(format string, args ...any) {
	if t.truncated {
		return
	}
	fmt.Fprintf(&t.buf, "\n[hpc-auth: "+format+"]\n", args...)
}

func (t *scriptTranscript) output(s string) {
	if t.truncated {
		return
	}
	if room := scriptTranscriptMax - t.buf.Len(); len(s) > room {
		// Drop a margin before the cut, so that a secret the cut splits
		// cannot survive as an unscrubbed prefix.
		keep := max(room-256, 0)
		t.buf.WriteString(s[:keep])
		t.buf.WriteString("\n[hpc-auth: transcript truncated]\n")
		t.truncated = true
		return
	}
	t.buf.WriteString(s)
}

// secret registers a value to scrub.
func (t *scriptTranscript) secret(s string) {
	if s != "" && !slices.Contains(t.secrets, s) {
		t.secrets = append(t.secrets, s)
		// Longest first: a password that contains a code is scrubbed whole.
		slices.SortFunc(t.secrets, func(a, b string) int { return len(b) - len(a) })
	}
}

// scrub replaces every registered secret in s by ***.
func (t *scriptTranscript) scrub(s string) string {
	for _, sec := range t.secrets {
		s = strings.ReplaceAll(s, sec, "***")
	}
	return s
}

// text is the transcript as it may be written: scrubbed, with the pty's
// "\r\n" line ends made plain.
func (t *scriptTranscript) text() string {
	return strings.ReplaceAll(t.scrub(t.buf.String()), "\r\n", "\n")
}

// scriptWriteTranscript replaces path with data, mode 0600. The file is
// written aside and renamed, so that it is never seen half-written and a
// symlink planted at path is replaced rather than followed.
func scriptWriteTranscript(path, data string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".transcript-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

func scriptTranscriptHeader(profile string, args []string, start time.Time) string {
	return fmt.Sprintf("# hpc-auth script transcript: profile %q, %s\n# command: %q\n",
		profile, start.Format(time.RFC3339), args)
}
