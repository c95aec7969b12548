//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

// ErrLocked is returned when another process holds the lock.
var ErrLocked = errors.New("in use by another process")

// Lock creates the lock file at path; without flock it excludes no one, and
// what keeps two processes apart is then up to the caller.
func Lock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
}
