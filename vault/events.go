package vault

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"filippo.io/age"
	"github.com/transparency-dev/merkle/compact"

	"kavach/journal"
)

// Events decrypts the segments in journal order with identities (the offline
// key) and calls each for every event, from index 0, for a restore. Before it
// yields a segment's events it re-reads its manifest, checks that the leaf
// hashes carry the tree from the previous segment's root to this segment's
// checkpoint root, and that the file's SHA-256 is its name; each event's bytes
// must then give its leaf hash. So every event yielded is in the tree of a
// signed checkpoint: the checkpoint of the segment that holds it (see
// Segments; verifying those signatures is Scrub's job or the caller's).
//
// If until is not nil it is called first for each event; when it returns true
// Events stops there, before that event, and returns nil. That is how a
// restore stops at a point in time: until decodes the event and compares its
// time. An error from each is returned as it is.
func (s *Store) Events(identities []age.Identity, until func(index uint64, data []byte) bool, each func(index uint64, data []byte) error) error {
	segs := s.Segments() // immutable once accepted: read without the lock
	if len(segs) > 0 && len(identities) == 0 {
		return errors.New("vault: events: no age identity to decrypt with")
	}
	rng := rf.NewEmptyRange(0)
	for _, g := range segs {
		leaves, err := s.segmentLeaves(g, rng)
		if err != nil {
			return err
		}
		stop, err := s.readSegment(g, leaves, identities, until, each)
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// segmentLeaves reads a segment's manifest again, checks it against what
// the store accepted, and extends rng, the tree so far, by its leaves.
func (s *Store) segmentLeaves(g Segment, rng *compact.Range) ([][]byte, error) {
	name := g.Manifest()
	m, err := readManifest(filepath.Join(s.dir, name))
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", name, err)
	}
	if m.First != g.First || m.Count != g.Count || m.Segment != g.Hash || m.SegmentSize != g.Size || m.Checkpoint != string(g.Checkpoint) {
		return nil, fmt.Errorf("vault: %s: changed since the store was opened", name)
	}
	leaves, err := decodeLeaves(m)
	if err != nil {
		return nil, fmt.Errorf("vault: %s: %w", name, err)
	}
	if rng.End() != g.First {
		return nil, fmt.Errorf("vault: %s: starts at event %d, the tree is at %d", name, g.First, rng.End())
	}
	for _, l := range leaves {
		rng.Append(l, nil) // a range from 0 always takes a leaf
	}
	root, _ := rng.GetRootHash(nil)
	if !bytes.Equal(root, g.Root) {
		return nil, fmt.Errorf("vault: %s: the leaf hashes do not give the checkpoint's root (changed?)", name)
	}
	return leaves, nil
}

// readSegment checks a segment file's hash, decrypts it and yields its
// events, each checked against its leaf hash. It reports whether until
// stopped it.
func (s *Store) readSegment(g Segment, leaves [][]byte, identities []age.Identity, until func(uint64, []byte) bool, each func(uint64, []byte) error) (bool, error) {
	file := g.File()
	path := filepath.Join(s.dir, file)
	// Hashing first costs a second read but means nothing is decrypted from
	// a file that is not the one accepted.
	sum, err := hashFile(path)
	if err != nil {
		return false, fmt.Errorf("vault: %s: %w", file, err)
	}
	if sum != g.Hash {
		return false, fmt.Errorf("vault: %s: SHA-256 does not match its name (changed?)", file)
	}
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("vault: %s: %w", file, err)
	}
	defer f.Close()
	dec, err := age.Decrypt(f, identities...)
	if err != nil {
		return false, fmt.Errorf("vault: %s: decrypt: %w", file, err)
	}
	r := bufio.NewReader(dec)
	header, err := r.ReadString('\n')
	if err != nil || header != fmt.Sprintf(segmentHeader, g.First, g.Count) {
		return false, fmt.Errorf("vault: %s: not the segment of events %d..%d (header %q)", file, g.First, g.First+g.Count-1, header)
	}
	var n [4]byte
	for i, leaf := range leaves {
		index := g.First + uint64(i)
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return false, fmt.Errorf("vault: %s: event %d: %w", file, index, err)
		}
		size := binary.BigEndian.Uint32(n[:])
		if size == 0 || size > maxEvent {
			return false, fmt.Errorf("vault: %s: event %d: length %d", file, index, size)
		}
		data := make([]byte, size)
		if _, err := io.ReadFull(r, data); err != nil {
			return false, fmt.Errorf("vault: %s: event %d: %w", file, index, err)
		}
		if !bytes.Equal(journal.LeafHash(data), leaf) {
			return false, fmt.Errorf("vault: %s: event %d does not match its leaf hash", file, index)
		}
		if until != nil && until(index, data) {
			return true, nil
		}
		if err := each(index, data); err != nil {
			return false, err
		}
	}
	if _, err := r.ReadByte(); err != io.EOF {
		if err == nil {
			err = errors.New("data after the last event")
		}
		return false, fmt.Errorf("vault: %s: %w", file, err)
	}
	return false, nil
}
