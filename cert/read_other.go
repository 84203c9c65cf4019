//go:build !unix

package cert

import (
	"io"
	"os"
)

// readFile reads at most limit bytes of a file.
func readFile(path string, limit int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, int64(limit)))
}
