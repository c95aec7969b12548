//go:build !unix

package vault

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates the lock file; without flock, excluding a second process
// rests on the manifests' no-clobber names.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	return f, nil
}

func unlockDir(f *os.File) error { return f.Close() }
