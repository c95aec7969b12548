package vault

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
)

// Report is the result of a scrub.
type Report struct {
	OK       bool     // no faults
	Segments int      // segments in the history that verifies from event 0
	Events   uint64   // events in that history: what a restore would get
	Faults   []string // each names the file it is about
}

// Scrub re-verifies every file in the store without the decryption key: the
// manifests follow on from event 0 with no gap; every segment file is there,
// with the size its manifest records and a SHA-256 equal to its name; the
// leaf hashes give each checkpoint's root; each checkpoint is signed, for
// origin, by v or by one of older (the node's keys before an approved key
// change); each cosigned checkpoint matches its manifest; and nothing else is
// in the directory. It also compares the files with the history the store
// held when opened, so that a manifest deleted from the end is noticed.
//
// A segment that no manifest names is reported too: ransomware may have
// planted it, or an Append may have been cut short between writing the
// segment and its manifest. Check, then move it out of the directory.
//
// On a snapshot (OpenSnapshot) it checks the snapshot's files; what the
// vault process publishes or writes meanwhile is no fault.
func (s *Store) Scrub(origin string, v note.Verifier, older ...note.Verifier) Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := append([]note.Verifier{v}, older...)
	var faults []string
	fault := func(format string, args ...any) { faults = append(faults, fmt.Sprintf(format, args...)) }

	expected := map[string]bool{"segments": true, "manifests": true, "forks": true, "tmp": true}
	top, err := os.ReadDir(s.dir)
	if err != nil {
		return Report{Faults: []string{fmt.Sprintf("%s: %v", s.dir, err)}}
	}
	for _, e := range top {
		switch {
		case expected[e.Name()] && e.IsDir():
			delete(expected, e.Name())
		case e.Name() == "lock" && e.Type().IsRegular():
		default:
			fault("%s: unexpected file in the vault directory (planted?)", e.Name())
		}
	}
	for name := range expected {
		fault("%s/: missing (deleted or renamed?)", name)
	}

	w := s.walk(true, origin, keys, nil)
	faults = append(faults, w.faults...)

	// Beside a running vault, tmp/ holds its writes under way.
	if entries, err := os.ReadDir(filepath.Join(s.dir, "tmp")); err == nil && s.view == nil {
		for _, e := range entries {
			fault("tmp/%s: unexpected file (planted?)", e.Name())
		}
	}
	if entries, err := os.ReadDir(filepath.Join(s.dir, "forks")); err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				fault("forks/%s: unexpected file (planted?)", e.Name())
			}
		}
	}

	// A manifest deleted from the end leaves a shorter history that is
	// sound in itself; only what this process accepted shows it.
	if w.treeOK {
		switch {
		case w.treeSize < s.size:
			fault("the manifests end at event %d, but the store has accepted %d events (the last manifests deleted?)", w.treeSize, s.size)
		case w.treeSize == s.size && !bytes.Equal(w.treeRoot, s.root):
			fault("the manifests give root %x, the store accepted %x (changed?)", w.treeRoot, s.root)
		case w.treeSize > s.size && len(s.faults) == 0:
			fault("the manifests hold %d events, the store has accepted %d (written by another process?)", w.treeSize, s.size)
		}
	}
	return Report{OK: len(faults) == 0, Segments: len(w.segs), Events: w.size, Faults: faults}
}
