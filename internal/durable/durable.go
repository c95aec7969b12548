// Package durable writes files so that they are on disk before the caller
// goes on: whole or absent after a crash, with their directory entries
// synced.
package durable

import (
	"os"
	"path/filepath"
)

// WriteFile writes path through a temporary file in the same directory:
// write, set perm, sync, rename over path, sync the directory. After a crash
// path holds the old contents or the new, never a part.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // after a failure; gone by then otherwise
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return err
	}
	return SyncDir(dir)
}
