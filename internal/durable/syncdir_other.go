//go:build !unix

package durable

// SyncDir is a no-op where directories cannot be synced.
func SyncDir(dir string) error { return nil }
