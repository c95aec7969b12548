//go:build unix

package main

import "syscall"

// restrictUmask makes every file the process creates its user's alone:
// SQLite makes the WAL and shared-memory files beside the database with the
// process's umask, and they hold the same patients' data.
func restrictUmask() { syscall.Umask(0o077) }
