//go:build unix

// Package dirlock keeps a second process off a data directory: a node's
// (kavach serve) or a vault's. It holds an exclusive flock on a lock file in
// the directory for as long as the process runs; the kernel lets go of it
// when the process ends, however it ends.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// ErrLocked is returned when another process holds the lock.
var ErrLocked = errors.New("in use by another process")

// Lock takes the lock file at path, creating it, without waiting.
func Lock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
