package state

import (
	"os"
	"path/filepath"
	"sync"
)

// LogFile is a small self-rotating log in the state directory: when it grows
// past Max bytes it becomes hpc-auth.log.1 (one generation kept), so a
// daemon that calls us thousands of times a day cannot fill the disk.
type LogFile struct {
	Path string
	Max  int64

	mu sync.Mutex
}

// OpenLog returns the state directory's log file.
func (s Store) OpenLog() *LogFile {
	return &LogFile{Path: filepath.Join(s.Dir, "hpc-auth.log"), Max: 256 << 10}
}

// Write appends p, rotating first when the file is too big. Each Write opens
// and closes the file: the log is written only on the slow path, and several
// processes may append at once (O_APPEND keeps their lines whole).
func (l *LogFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if fi, err := os.Stat(l.Path); err == nil && fi.Size()+int64(len(p)) > l.Max {
		os.Rename(l.Path, l.Path+".1")
	}
	f, err := os.OpenFile(l.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return f.Write(p)
}
