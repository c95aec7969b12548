// Package vault is the storage of Kavach's backup vault: a directory of
// immutable, content-addressed, encrypted segment files that only ever grows
// by extending the journal it holds.
//
// A vault process on another host pulls a node's journal and hands each batch
// to Store.Append together with the node's signed checkpoint at the batch's
// end. The store accepts the batch only if it starts exactly where the store
// ends and its leaves carry the stored Merkle tree to the checkpoint's root: a
// gap, an overlap or a rewrite is refused, and the caller sets it aside with
// Quarantine. The events are encrypted to age recipients whose identities are
// kept offline; the leaf hashes and the checkpoints stay in the clear, so that
// Scrub verifies everything on the vault host without the key.
//
// Layout of the directory (0700; files are written once, read-only, 0400):
//
//	segments/<sha256>.age       events [first, first+count), age-encrypted; the
//	                            name is the SHA-256 of the file's bytes
//	manifests/<first>.json      in the clear: first, count, the leaf hashes, the
//	                            node's signed checkpoint at first+count, the
//	                            segment's hash and size, the time it was stored;
//	                            <first> is the index of its first event, 20
//	                            digits, so names sort in journal order
//	manifests/<first>.cosigned  optional: that checkpoint with the vault's
//	                            cosignature (C2SP tlog-cosignature/v1) added
//	forks/<UTC time>-<n>/       divergent histories set aside for forensics
//	tmp/                        files being written; emptied by OpenStore
//	lock                        held while a process has the store open for
//	                            writing; a snapshot (OpenSnapshot) takes none
//
// Every file is written to tmp/, synced, hard-linked to its final name (which
// fails if the name exists, so nothing is ever overwritten), and its
// directory synced, before Append returns. A segment's plaintext is the line
// "kavach-vault-segment/1 first=F count=N\n" followed, for each event, by its
// length as 4 bytes big-endian and its canonical bytes.
package vault

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/internal/dirlock"
	"kavach/journal"
)

// Errors that tell the caller how to react. Append wraps one of them with the
// details.
var (
	// ErrGap: the batch starts after the store's end. Pull from Size().
	ErrGap = errors.New("vault: batch starts after the end of the stored history (gap)")
	// ErrOverlap: the batch starts before the store's end. Pull from Size().
	ErrOverlap = errors.New("vault: batch starts inside the stored history (overlap)")
	// ErrDiverged: the events do not carry the stored tree to the checkpoint's
	// root: a rewrite or a fork. Quarantine it and raise an alert.
	ErrDiverged = errors.New("vault: events do not extend the stored history to the checkpoint's root")
	// ErrKeyChanged: the checkpoint names another origin, or is signed by
	// another key, than the stored history. Quarantine it and raise an alert;
	// a new node key is accepted only after ApproveKey.
	ErrKeyChanged = errors.New("vault: checkpoint is from another origin or signed by another key")
	// ErrInvalid: the call itself is wrong (no events, no recipients, a
	// malformed checkpoint, one that does not end where the batch ends).
	ErrInvalid = errors.New("vault: invalid append")
	// ErrDamaged: the stored files did not verify when the store was opened;
	// it refuses to grow until an operator has looked (see Scrub).
	ErrDamaged = errors.New("vault: the store is damaged")
	// ErrClosed: a write to a store after Close.
	ErrClosed = errors.New("vault: the store is closed")
	// ErrReadOnly: a write to a store opened with OpenSnapshot. Only the
	// vault process, with OpenStore, writes.
	ErrReadOnly = errors.New("vault: the store is a read-only snapshot")
)

// DamageError is what OpenStore returns, together with a usable store, when
// the files on disk do not verify.
type DamageError struct {
	Dir    string
	Faults []string
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("vault: %s is damaged (%d faults; run a scrub for the full report): %s", e.Dir, len(e.Faults), e.Faults[0])
}

func (e *DamageError) Unwrap() error { return ErrDamaged }

// Segment describes one accepted segment.
type Segment struct {
	First      uint64    // index of its first event
	Count      uint64    // number of events
	Hash       string    // hex SHA-256 of the encrypted file
	Size       int64     // bytes of the encrypted file
	Root       []byte    // Merkle root of the journal's first First+Count events
	Checkpoint []byte    // the node's signed checkpoint at First+Count
	Time       time.Time // when the vault stored it
}

// File is the segment file's path relative to the store's directory.
func (g Segment) File() string { return segmentFile(g.Hash) }

// Manifest is the manifest's path relative to the store's directory.
func (g Segment) Manifest() string { return manifestFile(g.First) }

func segmentFile(hash string) string   { return "segments/" + hash + ".age" }
func manifestFile(first uint64) string { return fmt.Sprintf("manifests/%020d.json", first) }
func cosignedFile(first uint64) string { return fmt.Sprintf("manifests/%020d.cosigned", first) }

const (
	manifestFormat = "kavach-vault-manifest/1"
	segmentHeader  = "kavach-vault-segment/1 first=%d count=%d\n"
	maxEvent       = 64 << 20 // bytes; a journal event is a few hundred
)

// manifest is the clear-text record of a segment.
type manifest struct {
	Format      string   `json:"format"`
	First       uint64   `json:"first"`
	Count       uint64   `json:"count"`
	Leaves      []string `json:"leaves"`     // hex RFC 6962 leaf hashes, in order
	Checkpoint  string   `json:"checkpoint"` // the node's signed note
	Segment     string   `json:"segment"`    // hex SHA-256 of the segment file
	SegmentSize int64    `json:"segment_size"`
	Time        string   `json:"time"` // RFC 3339, UTC
	// ApprovedKey is the node's new verifier key when this segment is the
	// first signed by it, as approved by the vault's administrator.
	ApprovedKey string `json:"approved_key,omitempty"`
}

var rf = &compact.RangeFactory{Hash: journal.HashChildren}

// Store is an open vault directory. Its methods are safe for concurrent use;
// only one process may have a directory open at a time for writing
// (OpenStore), and any number may read a snapshot of it (OpenSnapshot).
type Store struct {
	dir  string
	lock *os.File
	now  func() time.Time
	// view is, for a snapshot, the first event of each manifest published
	// when it was taken; nil for the store a process has open for writing.
	view map[uint64]bool

	mu       sync.Mutex
	faults   []string // found on open; non-empty means damaged
	segs     []Segment
	rng      *compact.Range
	size     uint64
	root     []byte
	signer   sigID  // the key that signed the last checkpoint
	origin   string // the last checkpoint's origin
	cosigned []byte // the last checkpoint as cosigned by the vault, if it is
	approved note.Verifier
	vkey     string
}

// sigID names the key of a note signature.
type sigID struct {
	name string
	hash uint32
}

func (k sigID) String() string { return fmt.Sprintf("%s+%08x", k.name, k.hash) }

// OpenStore creates or opens the vault directory dir and rebuilds the tree
// from the manifests, checking each as it goes. When the files do not verify
// it still returns the store, holding the longest history that does, with an
// error wrapping ErrDamaged (a *DamageError listing the faults): such a store
// refuses Append but can be scrubbed, read and used for Quarantine.
func OpenStore(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	for _, sub := range []string{"segments", "manifests", "forks", "tmp"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("vault: open %s: %w", dir, err)
		}
	}
	// A second vault process on the same directory fails at once rather
	// than racing the first.
	lock, err := dirlock.Lock(filepath.Join(dir, "lock"))
	if errors.Is(err, dirlock.ErrLocked) {
		return nil, fmt.Errorf("vault: %s is open in another vault process; stop it first (%w)", dir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	s := &Store{dir: dir, lock: lock, now: time.Now, root: journal.EmptyRoot()}
	// Anything in tmp/ is from a write that never returned, so was never
	// acknowledged. A manifest there names a segment that may have been
	// published before the crash; the walk removes that one.
	pending := pendingManifests(filepath.Join(dir, "tmp"))
	if err := clearTmp(filepath.Join(dir, "tmp")); err != nil {
		s.Close()
		return nil, err
	}
	s.load(s.walk(false, "", nil, pending))
	if len(s.faults) > 0 {
		return s, &DamageError{Dir: dir, Faults: s.faults}
	}
	return s, nil
}

// OpenSnapshot opens the store in dir for reading only, beside the vault
// process that may be appending to it: for a scrub or a restore drill that
// must not stop the backups. It takes no lock and changes nothing, not even
// tmp/. It holds the history the manifests published at the moment of the
// call give. That view stays consistent while the vault appends, because
// every published file is immutable and a segment is published before the
// manifest that names it: what is published later is left out of the
// snapshot (Scrub ignores it), and so are the files of an append under way
// (tmp/, and a segment whose manifest is still in tmp/).
//
// Damage is reported as by OpenStore. The store refuses Append, Cosign,
// ApproveKey's appends and Quarantine with ErrReadOnly.
func OpenSnapshot(dir string) (*Store, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("vault: open %s: not a directory", dir)
	}
	s := &Store{dir: dir, now: time.Now, root: journal.EmptyRoot(), view: map[uint64]bool{}}
	// The view is fixed here, by one listing; the walk reads no manifest
	// that is not in it.
	entries, err := os.ReadDir(filepath.Join(dir, "manifests"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("vault: open %s: %w", dir, err)
	}
	for _, e := range entries {
		if first, ok := parseIndexName(e.Name(), ".json"); ok && e.Type().IsRegular() {
			s.view[first] = true
		}
	}
	s.load(s.walk(false, "", nil, nil))
	if len(s.faults) > 0 {
		return s, &DamageError{Dir: dir, Faults: s.faults}
	}
	return s, nil
}

// load takes the history an open's walk found.
func (s *Store) load(w *walk) {
	s.segs, s.rng, s.size, s.root = w.segs, w.rng, w.size, w.root
	s.faults = w.faults
	if n := len(s.segs); n > 0 {
		last := s.segs[n-1]
		cp, _ := parseNote(last.Checkpoint) // parsed by the walk already
		s.origin, s.signer = cp.origin, cp.signer
		if c, err := os.ReadFile(filepath.Join(s.dir, cosignedFile(last.First))); err == nil && sameText(c, last.Checkpoint) {
			s.cosigned = c
		}
	}
}

// writable reports why the store may not take a new file, if it may not.
// The caller holds s.mu.
func (s *Store) writable() error {
	if s.view != nil {
		return ErrReadOnly
	}
	if s.lock == nil {
		return ErrClosed
	}
	if len(s.faults) == 0 && len(s.segs) > 0 {
		// The newest files must still be there: a store whose newest
		// segment was deleted under the running vault would otherwise grow
		// past the gap, and cosign, with the hole found only at the next
		// start or scrub.
		last := s.segs[len(s.segs)-1]
		for _, f := range []string{last.Manifest(), last.File()} {
			if _, err := os.Stat(filepath.Join(s.dir, f)); err != nil {
				s.faults = append(s.faults, fmt.Sprintf("%s, of events %d..%d, is gone from the store while the vault ran (deleted?)", f, last.First, last.First+last.Count-1))
				break
			}
		}
	}
	if len(s.faults) > 0 {
		return fmt.Errorf("%w: %s; scrub it and call an operator", ErrDamaged, s.faults[0])
	}
	return nil
}

// Close releases the directory for another process.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Size returns the number of events the store holds.
func (s *Store) Size() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Root returns the Merkle root over the events the store holds.
func (s *Store) Root() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.root)
}

// LastCheckpoint returns the node's signed checkpoint at Size(), or nil when
// the store is empty.
func (s *Store) LastCheckpoint() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return nil
	}
	return bytes.Clone(s.segs[len(s.segs)-1].Checkpoint)
}

// LastCosigned returns the last checkpoint with the vault's cosignature, or
// nil when it has not been cosigned (see Store.Cosign).
func (s *Store) LastCosigned() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.cosigned)
}

// Segments returns the accepted segments in journal order.
func (s *Store) Segments() []Segment {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Segment(nil), s.segs...)
}

// Faults returns what OpenStore found wrong, or nil.
func (s *Store) Faults() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.faults...)
}

// ApproveKey records the administrator's approval of a node's new checkpoint
// key (a note verifier key, "name+hash+base64"), after a restored node has
// been given a new one. The next Append may carry a checkpoint signed by it
// instead of the key that signed the stored history; the manifest of that
// segment records the key. The approval is not kept across OpenStore.
func (s *Store) ApproveKey(vkey string) error {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("vault: approve key: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approved, s.vkey = v, vkey
	return nil
}

// Append stores events [first, first+len(events)) encrypted to recipients,
// with checkpoint, the node's signed checkpoint at first+len(events). The
// caller has verified the checkpoint's signature; Append checks that first is
// the store's size, that the checkpoint has the stored history's origin and
// signing key, and that the events' leaves carry the stored tree to its root.
// When Append returns, the segment and its manifest are on disk, synced.
func (s *Store) Append(first uint64, events [][]byte, checkpoint []byte, recipients ...age.Recipient) (Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writable(); err != nil {
		return Segment{}, fmt.Errorf("vault: append: %w", err)
	}
	switch {
	case len(events) == 0:
		return Segment{}, fmt.Errorf("%w: no events", ErrInvalid)
	case len(recipients) == 0:
		return Segment{}, fmt.Errorf("%w: no age recipients: the vault stores events only encrypted", ErrInvalid)
	case first > s.size:
		return Segment{}, fmt.Errorf("%w: it starts at event %d, the vault holds %d", ErrGap, first, s.size)
	case first < s.size:
		return Segment{}, fmt.Errorf("%w: it starts at event %d, the vault holds %d", ErrOverlap, first, s.size)
	}
	end := first + uint64(len(events))
	cp, err := parseNote(checkpoint)
	if err != nil {
		return Segment{}, fmt.Errorf("%w: checkpoint: %v", ErrInvalid, err)
	}
	var approvedKey string
	if s.size > 0 && cp.origin != s.origin {
		return Segment{}, fmt.Errorf("%w: origin %q, the stored history's is %q", ErrKeyChanged, cp.origin, s.origin)
	}
	// The first checkpoint's key is trusted as the caller verified it,
	// unless the administrator approved one; after that, a change of key
	// needs an approval.
	changed := s.size > 0 && cp.signer != s.signer
	if changed || (s.size == 0 && s.approved != nil) {
		if s.approved == nil {
			return Segment{}, fmt.Errorf("%w: signed by %s, the stored history by %s; the administrator must approve a new key", ErrKeyChanged, cp.signer, s.signer)
		}
		if want := (sigID{s.approved.Name(), s.approved.KeyHash()}); want != cp.signer {
			return Segment{}, fmt.Errorf("%w: signed by %s, the approved key is %s", ErrKeyChanged, cp.signer, want)
		}
		if _, err := note.Open(checkpoint, note.VerifierList(s.approved)); err != nil {
			return Segment{}, fmt.Errorf("%w: signature by the approved key %s does not verify: %v", ErrKeyChanged, cp.signer, err)
		}
		approvedKey = s.vkey
	}
	if cp.size != end {
		return Segment{}, fmt.Errorf("%w: the checkpoint is for %d events, the batch ends at %d", ErrInvalid, cp.size, end)
	}
	leaves := make([][]byte, len(events))
	rng := cloneRange(s.rng, s.size)
	for i, e := range events {
		if len(e) == 0 || len(e) > maxEvent {
			return Segment{}, fmt.Errorf("%w: event %d has %d bytes", ErrInvalid, first+uint64(i), len(e))
		}
		leaves[i] = journal.LeafHash(e)
		if err := rng.Append(leaves[i], nil); err != nil {
			return Segment{}, fmt.Errorf("vault: append: tree: %w", err)
		}
	}
	root, err := rng.GetRootHash(nil)
	if err != nil {
		return Segment{}, fmt.Errorf("vault: append: tree: %w", err)
	}
	if !bytes.Equal(root, cp.root) {
		return Segment{}, fmt.Errorf("%w: events %d..%d give root %x, the checkpoint says %x", ErrDiverged, first, end-1, root, cp.root)
	}

	// Both files are written and synced in tmp/ before either is published,
	// the segment first: a crash between the two leaves a segment that no
	// manifest names beside, in tmp/, the manifest that does, which tells
	// OpenStore it was never acknowledged.
	segTmp, sum, size, err := s.writeTemp(func(w io.Writer) error { return encryptEvents(w, first, events, recipients) })
	if err != nil {
		return Segment{}, fmt.Errorf("vault: append: segment: %w", err)
	}
	defer os.Remove(segTmp)
	hash := hex.EncodeToString(sum)
	now := s.now().UTC()
	m := manifest{
		Format:      manifestFormat,
		First:       first,
		Count:       uint64(len(events)),
		Leaves:      make([]string, len(leaves)),
		Checkpoint:  string(checkpoint),
		Segment:     hash,
		SegmentSize: size,
		Time:        now.Format(time.RFC3339Nano),
		ApprovedKey: approvedKey,
	}
	for i, l := range leaves {
		m.Leaves[i] = hex.EncodeToString(l)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return Segment{}, fmt.Errorf("vault: append: manifest: %w", err)
	}
	data = append(data, '\n')
	manTmp, _, _, err := s.writeTemp(func(w io.Writer) error { _, err := w.Write(data); return err })
	if err != nil {
		return Segment{}, fmt.Errorf("vault: append: manifest: %w", err)
	}
	defer os.Remove(manTmp)
	segName := segmentFile(hash)
	if err := s.publish(segTmp, segName); err != nil {
		return Segment{}, fmt.Errorf("vault: append: %w", err)
	}
	if err := s.publish(manTmp, manifestFile(first)); err != nil {
		// Never acknowledged, and named by no manifest: take it back.
		os.Remove(filepath.Join(s.dir, segName))
		return Segment{}, fmt.Errorf("vault: append: %w", err)
	}

	g := Segment{First: first, Count: uint64(len(events)), Hash: hash, Size: size, Root: root, Checkpoint: bytes.Clone(checkpoint), Time: now}
	s.segs = append(s.segs, g)
	s.rng, s.size, s.root = rng, end, root
	s.origin, s.signer = cp.origin, cp.signer
	s.cosigned = nil
	if approvedKey != "" {
		s.approved, s.vkey = nil, ""
	}
	return g, nil
}

func cloneRange(r *compact.Range, size uint64) *compact.Range {
	if r == nil {
		return rf.NewEmptyRange(0)
	}
	hs := r.Hashes()
	cp := make([][]byte, len(hs))
	copy(cp, hs)
	c, _ := rf.NewRange(0, size, cp) // the hashes came from a valid range
	return c
}

// encryptEvents writes a segment: the events in their framing, age-encrypted.
func encryptEvents(w io.Writer, first uint64, events [][]byte, recipients []age.Recipient) error {
	enc, err := age.Encrypt(w, recipients...)
	if err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	if err := writeFramed(enc, first, events); err != nil {
		return err
	}
	return enc.Close()
}

func writeFramed(w io.Writer, first uint64, events [][]byte) error {
	if _, err := fmt.Fprintf(w, segmentHeader, first, len(events)); err != nil {
		return err
	}
	var n [4]byte
	for _, e := range events {
		n[0], n[1], n[2], n[3] = byte(len(e)>>24), byte(len(e)>>16), byte(len(e)>>8), byte(len(e))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(e); err != nil {
			return err
		}
	}
	return nil
}
