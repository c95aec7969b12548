//go:build unix

package durable

import "os"

// SyncDir makes a directory's entries durable: a new name is not on disk
// until its directory is synced.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
