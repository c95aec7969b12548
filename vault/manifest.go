package vault

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// checkpointInfo is a checkpoint note read without verifying its signature.
type checkpointInfo struct {
	origin string
	size   uint64
	root   []byte
	signer sigID // the first signature's key: the log's own
	text   string
}

func parseNote(msg []byte) (checkpointInfo, error) {
	// With no verifiers, Open reads the note and its signatures and says
	// that none verifies: the note is in the error.
	_, err := note.Open(msg, note.VerifierList())
	var unverified *note.UnverifiedNoteError
	if !errors.As(err, &unverified) {
		if err == nil {
			err = errors.New("unexpected verified note")
		}
		return checkpointInfo{}, err
	}
	n := unverified.Note
	if len(n.UnverifiedSigs) == 0 {
		return checkpointInfo{}, errors.New("no signature")
	}
	var c log.Checkpoint
	if _, err := c.Unmarshal([]byte(n.Text)); err != nil {
		return checkpointInfo{}, err
	}
	if len(c.Hash) != sha256.Size {
		return checkpointInfo{}, fmt.Errorf("root hash has %d bytes", len(c.Hash))
	}
	sig := n.UnverifiedSigs[0]
	return checkpointInfo{origin: c.Origin, size: c.Size, root: c.Hash, signer: sigID{sig.Name, sig.Hash}, text: n.Text}, nil
}

// sameText reports whether two notes have the same signed text.
func sameText(a, b []byte) bool {
	ca, err1 := parseNote(a)
	cb, err2 := parseNote(b)
	return err1 == nil && err2 == nil && ca.text == cb.text
}

// walk is one pass over the manifests, shared by OpenStore and Scrub.
type walk struct {
	faults []string
	// The history that verifies from event 0, every file present: what the
	// store holds and a restore gets.
	segs  []Segment
	rng   *compact.Range
	size  uint64
	root  []byte
	named map[string]bool   // segment hashes some manifest names
	mans  map[uint64][]byte // checkpoint of each readable manifest, by first
	// The tree the manifests alone give, files or not, and whether they
	// give one at all (no gap, no bad root).
	treeOK   bool
	treeSize uint64
	treeRoot []byte
}

func (w *walk) fault(format string, args ...any) {
	w.faults = append(w.faults, fmt.Sprintf(format, args...))
}

// walk checks the manifests in order, the segment files they name, the
// cosigned checkpoints beside them, and that segments/ holds nothing else.
// Deep, as for Scrub, it also hashes every segment file, verifies every
// checkpoint's signature with keys and reports stray files in manifests/;
// shallow, as on open, it only looks at the files' sizes and the
// checkpoints' text. Pending maps segments to the first event of a manifest
// an interrupted Append did not publish: such a segment, if it would have
// come next, was never acknowledged and is removed.
func (s *Store) walk(deep bool, origin string, keys []note.Verifier, pending map[string]uint64) *walk {
	w := &walk{rng: rf.NewEmptyRange(0), root: journal.EmptyRoot(), named: map[string]bool{}, mans: map[uint64][]byte{}}
	entries, err := os.ReadDir(filepath.Join(s.dir, "manifests"))
	if err != nil {
		w.fault("manifests/: %v", err)
		return w
	}
	var firsts []uint64
	for _, e := range entries {
		first, ok := parseIndexName(e.Name(), ".json")
		if ok && e.Type().IsRegular() {
			if s.view != nil && !s.view[first] {
				continue // published after the snapshot was taken
			}
			firsts = append(firsts, first)
			continue
		}
		if _, ok := parseIndexName(e.Name(), ".cosigned"); ok && e.Type().IsRegular() {
			continue
		}
		if deep {
			w.fault("manifests/%s: unexpected file (renamed or planted?)", e.Name())
		}
	}
	sort.Slice(firsts, func(i, j int) bool { return firsts[i] < firsts[j] })

	// The tree goes on being checked past a missing segment file, so that
	// one fault does not hide the next; the held history stops at the first.
	tree, treeSize, treeOK := rf.NewEmptyRange(0), uint64(0), true
	prefixOK := true
	var prev *checkpointInfo
	for _, first := range firsts {
		name := manifestFile(first)
		m, err := readManifest(filepath.Join(s.dir, name))
		if err != nil {
			w.fault("%s: %v (changed?)", name, err)
			treeOK, prefixOK = false, false
			continue
		}
		w.named[m.Segment] = true
		if m.First != first {
			w.fault("%s: records first event %d, not the one its name says (renamed?)", name, m.First)
			treeOK, prefixOK = false, false
			continue
		}
		if treeOK && first != treeSize {
			if first > treeSize {
				w.fault("%s missing (deleted or renamed?): events %d..%d have no manifest", manifestFile(treeSize), treeSize, first-1)
			} else {
				w.fault("%s: starts at event %d, inside the previous segment", name, first)
			}
			treeOK, prefixOK = false, false
		}
		leaves, err := decodeLeaves(m)
		if err != nil {
			w.fault("%s: %v (changed?)", name, err)
			treeOK, prefixOK = false, false
			continue
		}
		cp, err := parseNote([]byte(m.Checkpoint))
		if err != nil {
			w.fault("%s: checkpoint: %v (changed?)", name, err)
			treeOK, prefixOK = false, false
			continue
		}
		w.mans[first] = []byte(m.Checkpoint)
		if cp.size != first+m.Count {
			w.fault("%s: the checkpoint is for %d events, the segment ends at %d (changed?)", name, cp.size, first+m.Count)
			treeOK, prefixOK = false, false
		}
		if deep {
			if err := verifyCheckpoint([]byte(m.Checkpoint), origin, keys); err != nil {
				w.fault("%s: checkpoint: %v", name, err)
				prefixOK = false
			}
		}
		if treeOK && prev != nil && (cp.origin != prev.origin || cp.signer != prev.signer) {
			if err := approvedChange(m, cp, *prev); err != nil {
				w.fault("%s: %v", name, err)
				prefixOK = false
			}
		}
		var root []byte
		if treeOK {
			for _, l := range leaves {
				tree.Append(l, nil) // a range from 0 always takes a leaf
			}
			root, _ = tree.GetRootHash(nil)
			treeSize = first + m.Count
			if !bytes.Equal(root, cp.root) {
				w.fault("%s: the leaf hashes do not give the checkpoint's root (changed?)", name)
				treeOK, prefixOK = false, false
			}
			prev = &cp
		}
		if !s.checkSegmentFile(w, name, m, deep) {
			prefixOK = false
		}
		if prefixOK {
			t, _ := time.Parse(time.RFC3339Nano, m.Time)
			w.segs = append(w.segs, Segment{First: first, Count: m.Count, Hash: m.Segment, Size: m.SegmentSize, Root: root, Checkpoint: []byte(m.Checkpoint), Time: t})
			w.rng, w.size, w.root = cloneRange(tree, treeSize), treeSize, root
		}
	}

	w.treeOK, w.treeSize = treeOK, treeSize
	w.treeRoot = journal.EmptyRoot()
	if treeSize > 0 {
		w.treeRoot, _ = tree.GetRootHash(nil)
	}

	// Cosigned checkpoints, each beside its manifest.
	for _, e := range entries {
		first, ok := parseIndexName(e.Name(), ".cosigned")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		name := "manifests/" + e.Name()
		cp, ok := w.mans[first]
		if !ok && s.view != nil && !s.view[first] {
			continue // beside a manifest published after the snapshot
		}
		if !ok {
			w.fault("%s: no readable manifest %s beside it (deleted?)", name, manifestFile(first))
			continue
		}
		c, err := os.ReadFile(filepath.Join(s.dir, name))
		switch {
		case err != nil:
			w.fault("%s: %v", name, err)
		case !sameText(c, cp):
			w.fault("%s: not the checkpoint of its manifest (changed?)", name)
		case deep:
			if err := verifyCheckpoint(c, origin, keys); err != nil {
				w.fault("%s: %v", name, err)
			}
		}
	}

	// Segment files no manifest names.
	segs, err := os.ReadDir(filepath.Join(s.dir, "segments"))
	if err != nil {
		w.fault("segments/: %v", err)
		return w
	}
	for _, e := range segs {
		hash, ok := strings.CutSuffix(e.Name(), ".age")
		if ok && w.named[hash] && e.Type().IsRegular() {
			continue
		}
		if first, ok := pending[hash]; ok && first == w.size && e.Type().IsRegular() && e.Name() == hash+".age" {
			if err := os.Remove(filepath.Join(s.dir, "segments", e.Name())); err == nil {
				continue
			}
		}
		if s.view != nil && ok && e.Type().IsRegular() && s.appending(hash) {
			continue
		}
		w.fault("segments/%s: unexpected file, named by no manifest (renamed, planted, or its manifest deleted?)", e.Name())
	}
	return w
}

// appending reports whether a segment file that no manifest of a snapshot
// names belongs to an append by the vault process: named by a manifest it
// has not published yet (still in tmp/) or published after the snapshot.
// The order of the two looks matters. An append writes its manifest into
// tmp/ before it publishes the segment, and takes it out of tmp/ only after
// publishing it in manifests/; so a segment listed before this call is
// named in tmp/ at the first look, or in manifests/ at the second.
func (s *Store) appending(hash string) bool {
	if _, ok := pendingManifests(filepath.Join(s.dir, "tmp"))[hash]; ok {
		return true
	}
	entries, _ := os.ReadDir(filepath.Join(s.dir, "manifests"))
	for _, e := range entries {
		first, ok := parseIndexName(e.Name(), ".json")
		if !ok || s.view[first] {
			continue
		}
		if m, err := readManifest(filepath.Join(s.dir, "manifests", e.Name())); err == nil && m.Segment == hash {
			return true
		}
	}
	return false
}

// checkSegmentFile checks the file a manifest names, reporting what is wrong.
func (s *Store) checkSegmentFile(w *walk, name string, m *manifest, deep bool) bool {
	file := segmentFile(m.Segment)
	fi, err := os.Stat(filepath.Join(s.dir, file))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		w.fault("%s: segment %s.age missing (deleted or renamed?)", name, m.Segment)
		return false
	case err != nil:
		w.fault("%s: %v", file, err)
		return false
	case !fi.Mode().IsRegular():
		w.fault("%s: not a regular file (replaced?)", file)
		return false
	case fi.Size() != m.SegmentSize:
		w.fault("%s: %d bytes, its manifest says %d (truncated or changed?)", file, fi.Size(), m.SegmentSize)
		return false
	}
	if !deep {
		return true
	}
	sum, err := hashFile(filepath.Join(s.dir, file))
	if err != nil {
		w.fault("%s: %v", file, err)
		return false
	}
	if sum != m.Segment {
		w.fault("%s: SHA-256 does not match its name (changed?)", file)
		return false
	}
	return true
}

// approvedChange checks a change of origin or key between two checkpoints.
func approvedChange(m *manifest, cp, prev checkpointInfo) error {
	if cp.origin != prev.origin {
		return fmt.Errorf("checkpoint origin %q differs from the previous %q", cp.origin, prev.origin)
	}
	if m.ApprovedKey == "" {
		return fmt.Errorf("checkpoint signed by %s, the previous by %s, with no approved key recorded", cp.signer, prev.signer)
	}
	v, err := note.NewVerifier(m.ApprovedKey)
	if err != nil {
		return fmt.Errorf("approved key: %v", err)
	}
	if (sigID{v.Name(), v.KeyHash()}) != cp.signer {
		return fmt.Errorf("checkpoint signed by %s, not by the approved key %s", cp.signer, sigID{v.Name(), v.KeyHash()})
	}
	if _, err := note.Open([]byte(m.Checkpoint), note.VerifierList(v)); err != nil {
		return fmt.Errorf("checkpoint signature by the approved key does not verify: %v", err)
	}
	return nil
}

// verifyCheckpoint checks a checkpoint's signature by one of the node's keys.
func verifyCheckpoint(msg []byte, origin string, keys []note.Verifier) error {
	if len(keys) == 0 {
		return errors.New("no node key to verify the signature with")
	}
	var errs []string
	for _, k := range keys {
		if _, err := journal.OpenCheckpoint(msg, origin, k); err == nil {
			return nil
		} else {
			errs = append(errs, fmt.Sprintf("%s: %v", sigID{k.Name(), k.KeyHash()}, err))
		}
	}
	return fmt.Errorf("signature does not verify (%s)", strings.Join(errs, "; "))
}

func readManifest(path string) (*manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	var m manifest
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("not a manifest: %v", err)
	}
	if m.Format != manifestFormat {
		return nil, fmt.Errorf("format %q, expected %q", m.Format, manifestFormat)
	}
	if len(m.Segment) != 2*sha256.Size || strings.Trim(m.Segment, "0123456789abcdef") != "" {
		return nil, fmt.Errorf("segment name %q is not a SHA-256", m.Segment)
	}
	return &m, nil
}

func decodeLeaves(m *manifest) ([][]byte, error) {
	if m.Count == 0 || uint64(len(m.Leaves)) != m.Count {
		return nil, fmt.Errorf("%d leaf hashes for %d events", len(m.Leaves), m.Count)
	}
	leaves := make([][]byte, len(m.Leaves))
	for i, h := range m.Leaves {
		l, err := hex.DecodeString(h)
		if err != nil || len(l) != sha256.Size {
			return nil, fmt.Errorf("leaf hash %d is not a SHA-256", m.First+uint64(i))
		}
		leaves[i] = l
	}
	return leaves, nil
}

// parseIndexName parses "<20 digits><ext>".
func parseIndexName(name, ext string) (uint64, bool) {
	digits, ok := strings.CutSuffix(name, ext)
	if !ok || len(digits) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, 10, 64)
	return n, err == nil
}

// pendingManifests reads the manifests an interrupted Append left in tmp/,
// mapping the segment each names to its first event.
func pendingManifests(tmp string) map[string]uint64 {
	pending := map[string]uint64{}
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		if m, err := readManifest(filepath.Join(tmp, e.Name())); err == nil {
			pending[m.Segment] = m.First
		}
	}
	return pending
}
