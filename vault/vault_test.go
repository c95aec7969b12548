package vault_test

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
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
	"kavach/vault"
)

const origin = "kavach/KVH/KA"

var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// testLog is a node's journal as the vault sees it: events, and checkpoints
// signed over any prefix.
type testLog struct {
	t      *testing.T
	origin string
	code   string // the node's code in its events; "" is KA
	signer note.Signer
	v      note.Verifier
	vkey   string
	events [][]byte
	roots  [][]byte // roots[n] is the root over the first n events
	rng    *compact.Range
}

func newLog(t *testing.T, n int) *testLog {
	t.Helper()
	l := &testLog{t: t, origin: origin, roots: [][]byte{journal.EmptyRoot()}}
	l.rng = (&compact.RangeFactory{Hash: journal.HashChildren}).NewEmptyRange(0)
	l.newKey()
	l.grow(n)
	return l
}

// newKey gives the node a new checkpoint key, as after a restore.
func (l *testLog) newKey() {
	l.t.Helper()
	skey, vkey, err := journal.GenerateKey(l.origin)
	if err != nil {
		l.t.Fatal(err)
	}
	if l.signer, err = note.NewSigner(skey); err != nil {
		l.t.Fatal(err)
	}
	if l.v, err = note.NewVerifier(vkey); err != nil {
		l.t.Fatal(err)
	}
	l.vkey = vkey
}

func (l *testLog) grow(n int) {
	l.t.Helper()
	for range n {
		i := len(l.events)
		code := l.code
		if code == "" {
			code = "KA"
		}
		e := journal.Event{
			Origin:  code,
			Seq:     uint64(i + 1),
			Time:    t0.Add(time.Duration(i) * time.Minute),
			Actor:   "clerk",
			Type:    "patient.registered",
			Payload: json.RawMessage(fmt.Sprintf(`{"name":"Ramesh %d","uhid":"KA%06d"}`, i, i)),
		}
		data := e.Encode()
		l.events = append(l.events, data)
		if err := l.rng.Append(journal.LeafHash(data), nil); err != nil {
			l.t.Fatal(err)
		}
		root, err := l.rng.GetRootHash(nil)
		if err != nil {
			l.t.Fatal(err)
		}
		l.roots = append(l.roots, root)
	}
}

func (l *testLog) checkpoint(size int) []byte {
	l.t.Helper()
	cp, err := journal.SignCheckpoint(l.signer, l.origin, uint64(size), l.roots[size])
	if err != nil {
		l.t.Fatal(err)
	}
	return cp
}

func newIdentity(t *testing.T) *age.X25519Identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func openStore(t *testing.T, dir string) *vault.Store {
	t.Helper()
	s, err := vault.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fill appends the log's events in segments ending at ends.
func fill(t *testing.T, s *vault.Store, l *testLog, id *age.X25519Identity, ends ...int) []vault.Segment {
	t.Helper()
	var segs []vault.Segment
	for _, end := range ends {
		first := int(s.Size())
		g, err := s.Append(uint64(first), l.events[first:end], l.checkpoint(end), id.Recipient())
		if err != nil {
			t.Fatalf("append %d..%d: %v", first, end-1, err)
		}
		segs = append(segs, g)
	}
	return segs
}

func readAll(s *vault.Store, ids ...age.Identity) ([][]byte, error) {
	var got [][]byte
	err := s.Events(ids, nil, func(index uint64, data []byte) error {
		if index != uint64(len(got)) {
			return fmt.Errorf("event %d out of order", index)
		}
		got = append(got, data)
		return nil
	})
	return got, err
}

// listing returns every file under dir with its contents' hash, to show
// that nothing changed.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		sum := sha256.Sum256(data)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendAndRead(t *testing.T) {
	l := newLog(t, 13)
	alice, bob := newIdentity(t), newIdentity(t)
	dir := filepath.Join(t.TempDir(), "vault")
	s := openStore(t, dir)
	if s.Size() != 0 || !bytes.Equal(s.Root(), journal.EmptyRoot()) || s.LastCheckpoint() != nil {
		t.Fatal("a new store is not empty")
	}
	for _, end := range []int{5, 6, 13} {
		first := int(s.Size())
		g, err := s.Append(uint64(first), l.events[first:end], l.checkpoint(end), alice.Recipient(), bob.Recipient())
		if err != nil {
			t.Fatalf("append %d..%d: %v", first, end-1, err)
		}
		if g.First != uint64(first) || g.Count != uint64(end-first) || !bytes.Equal(g.Root, l.roots[end]) {
			t.Fatalf("segment = %+v", g)
		}
		if s.Size() != uint64(end) || !bytes.Equal(s.Root(), l.roots[end]) || !bytes.Equal(s.LastCheckpoint(), l.checkpoint(end)) {
			t.Fatalf("after append: size %d root %x", s.Size(), s.Root())
		}
		data, err := os.ReadFile(filepath.Join(dir, g.File()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("Ramesh")) {
			t.Fatalf("%s holds an event in the clear", g.File())
		}
		if _, err := os.Stat(filepath.Join(dir, g.Manifest())); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("directory mode = %v, %v", fi.Mode(), err)
	}

	for name, id := range map[string]age.Identity{"Alice": alice, "Bob": bob} {
		t.Run(name, func(t *testing.T) {
			got, err := readAll(s, id)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(got, l.events, bytes.Equal) {
				t.Fatalf("read back %d events, not the %d appended", len(got), len(l.events))
			}
		})
	}

	t.Run("UntilTime", func(t *testing.T) {
		stop := t0.Add(8 * time.Minute)
		var got [][]byte
		err := s.Events([]age.Identity{alice}, func(index uint64, data []byte) bool {
			e, err := journal.Decode(data)
			return err != nil || !e.Time.Before(stop)
		}, func(index uint64, data []byte) error {
			got = append(got, data)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, l.events[:8], bytes.Equal) {
			t.Fatalf("restored %d events up to %s, want 8", len(got), stop)
		}
	})

	t.Run("ErrWrongIdentity", func(t *testing.T) {
		_, err := readAll(s, newIdentity(t))
		var noMatch *age.NoIdentityMatchError
		if !errors.As(err, &noMatch) {
			t.Fatalf("read with another identity: %v", err)
		}
	})

	t.Run("Reopen", func(t *testing.T) {
		size, root, cp, segs := s.Size(), s.Root(), s.LastCheckpoint(), s.Segments()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s2 := openStore(t, dir)
		if s2.Size() != size || !bytes.Equal(s2.Root(), root) || !bytes.Equal(s2.LastCheckpoint(), cp) {
			t.Fatalf("reopened: size %d root %x, want %d %x", s2.Size(), s2.Root(), size, root)
		}
		segs2 := s2.Segments()
		if len(segs2) != len(segs) {
			t.Fatalf("reopened with %d segments, want %d", len(segs2), len(segs))
		}
		for i := range segs {
			a, b := segs[i], segs2[i]
			if a.First != b.First || a.Count != b.Count || a.Hash != b.Hash || a.Size != b.Size || !bytes.Equal(a.Root, b.Root) || !a.Time.Equal(b.Time) {
				t.Fatalf("segment %d reopened as %+v, was %+v", i, b, a)
			}
		}
		got, err := readAll(s2, bob)
		if err != nil || len(got) != len(l.events) {
			t.Fatalf("reopened store read %d events: %v", len(got), err)
		}
	})
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir)
	if _, err := vault.OpenStore(dir); err == nil {
		t.Fatal("a second OpenStore of an open directory succeeded")
	}
	s.Close()
	l := newLog(t, 1)
	if _, err := s.Append(0, l.events, l.checkpoint(1), newIdentity(t).Recipient()); !errors.Is(err, vault.ErrClosed) {
		t.Fatalf("append to a closed store: %v", err)
	}
	openStore(t, dir)
}

func TestAppendRefuses(t *testing.T) {
	l := newLog(t, 10)
	id := newIdentity(t)
	otherOrigin := &testLog{t: t, origin: "kavach/KVH/KB", roots: l.roots}
	otherOrigin.newKey()
	otherKey := &testLog{t: t, origin: origin, roots: l.roots}
	otherKey.newKey()
	changed := slices.Clone(l.events)
	changed[7] = bytes.Replace(changed[7], []byte("Ramesh"), []byte("Suresh"), 1)

	cases := []struct {
		name       string
		first      uint64
		events     [][]byte
		checkpoint []byte
		recipients []age.Recipient
		want       error
	}{
		{"ErrGap", 6, l.events[6:10], l.checkpoint(10), nil, vault.ErrGap},
		{"ErrOverlap", 4, l.events[4:10], l.checkpoint(10), nil, vault.ErrOverlap},
		{"ErrRewriteFromZero", 0, l.events[:10], l.checkpoint(10), nil, vault.ErrOverlap},
		{"ErrRootMismatch", 5, changed[5:10], l.checkpoint(10), nil, vault.ErrDiverged},
		{"ErrOldCheckpoint", 5, l.events[5:10], l.checkpoint(5), nil, vault.ErrInvalid},
		{"ErrCheckpointBeyondEvents", 5, l.events[5:9], l.checkpoint(10), nil, vault.ErrInvalid},
		{"ErrOtherOrigin", 5, l.events[5:10], otherOrigin.checkpoint(10), nil, vault.ErrKeyChanged},
		{"ErrOtherKey", 5, l.events[5:10], otherKey.checkpoint(10), nil, vault.ErrKeyChanged},
		{"ErrNotACheckpoint", 5, l.events[5:10], []byte("kavach/KVH/KA\n10\n"), nil, vault.ErrInvalid},
		{"ErrNoEvents", 5, nil, l.checkpoint(5), nil, vault.ErrInvalid},
		{"ErrNoRecipients", 5, l.events[5:10], l.checkpoint(10), []age.Recipient{}, vault.ErrInvalid},
	}
	dir := t.TempDir()
	s := openStore(t, dir)
	fill(t, s, l, id, 5)
	before := listing(t, dir)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := c.recipients
			if rs == nil {
				rs = []age.Recipient{id.Recipient()}
			}
			_, err := s.Append(c.first, c.events, c.checkpoint, rs...)
			if !errors.Is(err, c.want) {
				t.Fatalf("Append = %v, want %v", err, c.want)
			}
			if s.Size() != 5 || !bytes.Equal(s.Root(), l.roots[5]) {
				t.Fatalf("a refused append changed the store: size %d", s.Size())
			}
			if after := listing(t, dir); !sameFiles(before, after) {
				t.Fatalf("a refused append left files: %v", keys(after))
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		fill(t, s, l, id, 10)
		if r := s.Scrub(origin, l.v); !r.OK || r.Events != 10 || r.Segments != 2 {
			t.Fatalf("scrub after the refusals: %+v", r)
		}
	})
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func keys(m map[string]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestApproveKey(t *testing.T) {
	l := newLog(t, 10)
	id := newIdentity(t)
	dir := t.TempDir()
	s := openStore(t, dir)
	fill(t, s, l, id, 5)
	oldV := l.v
	l.newKey() // the node was restored and signs with a new key

	if _, err := s.Append(5, l.events[5:8], l.checkpoint(8), id.Recipient()); !errors.Is(err, vault.ErrKeyChanged) {
		t.Fatalf("append under an unapproved key: %v", err)
	}
	_, stranger, _ := journal.GenerateKey(origin)
	if err := s.ApproveKey(stranger); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(5, l.events[5:8], l.checkpoint(8), id.Recipient()); !errors.Is(err, vault.ErrKeyChanged) {
		t.Fatalf("append under a key other than the approved one: %v", err)
	}
	if err := s.ApproveKey(l.vkey); err != nil {
		t.Fatal(err)
	}
	fill(t, s, l, id, 8, 10) // the approval covers the change; the next segment is under the new key anyway
	if _, err := s.Append(10, l.events[10:], nil); err == nil {
		t.Fatal("appended nothing")
	}

	s.Close()
	s = openStore(t, dir)
	if s.Size() != 10 {
		t.Fatalf("reopened with %d events", s.Size())
	}
	if r := s.Scrub(origin, l.v, oldV); !r.OK {
		t.Fatalf("scrub with both keys: %v", r.Faults)
	}
	r := s.Scrub(origin, l.v)
	if r.OK || !contains(r.Faults, "manifests/00000000000000000000.json: checkpoint") {
		t.Fatalf("scrub without the old key: %v", r.Faults)
	}
}

func contains(faults []string, want string) bool {
	for _, f := range faults {
		if strings.Contains(f, want) {
			return true
		}
	}
	return false
}

// TestScrub attacks the files as ransomware on the vault host would and
// checks that the scrub names each file touched.
func TestScrub(t *testing.T) {
	l := newLog(t, 12)
	id := newIdentity(t)
	cosigner, _, err := vault.GenerateKey("vault.kvh.test")
	if err != nil {
		t.Fatal(err)
	}
	forger := &testLog{t: t, origin: origin, roots: l.roots}
	forger.newKey()
	const (
		man0 = "manifests/00000000000000000000.json"
		man1 = "manifests/00000000000000000004.json"
		man2 = "manifests/00000000000000000007.json"
		cos2 = "manifests/00000000000000000007.cosigned"
	)
	seg := func(g vault.Segment) string { return "segments/" + g.Hash + ".age" }
	chmodWrite := func(t *testing.T, path string, data []byte) {
		t.Helper()
		os.Chmod(path, 0o600)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	cases := []struct {
		name    string
		attack  func(t *testing.T, dir string, segs []vault.Segment)
		want    func(segs []vault.Segment) []string
		damaged bool // OpenStore notices too
	}{
		{"OK", func(*testing.T, string, []vault.Segment) {}, nil, false},
		{"SegmentByteChanged", func(t *testing.T, dir string, segs []vault.Segment) {
			path := filepath.Join(dir, segs[1].File())
			data, _ := os.ReadFile(path)
			data[len(data)/2] ^= 1
			chmodWrite(t, path, data)
		}, func(segs []vault.Segment) []string {
			return []string{seg(segs[1]) + ": SHA-256 does not match its name (changed?)"}
		}, false},
		{"SegmentRenamedLocked", func(t *testing.T, dir string, segs []vault.Segment) {
			path := filepath.Join(dir, segs[1].File())
			if err := os.Rename(path, path+".locked"); err != nil {
				t.Fatal(err)
			}
		}, func(segs []vault.Segment) []string {
			return []string{
				man1 + ": segment " + segs[1].Hash + ".age missing (deleted or renamed?)",
				seg(segs[1]) + ".locked: unexpected file",
			}
		}, true},
		{"SegmentTruncated", func(t *testing.T, dir string, segs []vault.Segment) {
			if err := os.Truncate(filepath.Join(dir, segs[2].File()), segs[2].Size/2); err != nil {
				t.Fatal(err)
			}
		}, func(segs []vault.Segment) []string {
			return []string{fmt.Sprintf("%s: %d bytes, its manifest says %d (truncated", seg(segs[2]), segs[2].Size/2, segs[2].Size)}
		}, true},
		{"SegmentRemoved", func(t *testing.T, dir string, segs []vault.Segment) {
			if err := os.Remove(filepath.Join(dir, segs[0].File())); err != nil {
				t.Fatal(err)
			}
		}, func(segs []vault.Segment) []string {
			return []string{man0 + ": segment " + segs[0].Hash + ".age missing (deleted or renamed?)"}
		}, true},
		{"ManifestRemoved", func(t *testing.T, dir string, segs []vault.Segment) {
			if err := os.Remove(filepath.Join(dir, man1)); err != nil {
				t.Fatal(err)
			}
		}, func(segs []vault.Segment) []string {
			return []string{
				man1 + " missing (deleted or renamed?): events 4..6 have no manifest",
				seg(segs[1]) + ": unexpected file, named by no manifest",
			}
		}, true},
		{"LastManifestRemoved", func(t *testing.T, dir string, segs []vault.Segment) {
			if err := os.Remove(filepath.Join(dir, man2)); err != nil {
				t.Fatal(err)
			}
		}, func(segs []vault.Segment) []string {
			return []string{
				seg(segs[2]) + ": unexpected file, named by no manifest",
				cos2 + ": no readable manifest",
				"the manifests end at event 7, but the store has accepted 12 events",
			}
		}, true},
		{"StrayFiles", func(t *testing.T, dir string, segs []vault.Segment) {
			for _, name := range []string{"HOW_TO_DECRYPT.txt", "segments/README.txt", "manifests/00000000000000000004.json.bak"} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("pay us"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}, func(segs []vault.Segment) []string {
			return []string{
				"HOW_TO_DECRYPT.txt: unexpected file",
				"segments/README.txt: unexpected file",
				"manifests/00000000000000000004.json.bak: unexpected file",
			}
		}, true},
		{"ManifestLeafChanged", func(t *testing.T, dir string, segs []vault.Segment) {
			path := filepath.Join(dir, man1)
			data, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(data, &m)
			m["leaves"].([]any)[1] = fmt.Sprintf("%x", journal.LeafHash([]byte("forged")))
			data, _ = json.Marshal(m)
			chmodWrite(t, path, data)
		}, func(segs []vault.Segment) []string {
			return []string{man1 + ": the leaf hashes do not give the checkpoint's root (changed?)"}
		}, true},
		{"CheckpointForged", func(t *testing.T, dir string, segs []vault.Segment) {
			path := filepath.Join(dir, man2)
			data, _ := os.ReadFile(path)
			var m map[string]any
			json.Unmarshal(data, &m)
			m["checkpoint"] = string(forger.checkpoint(12))
			data, _ = json.Marshal(m)
			chmodWrite(t, path, data)
		}, func(segs []vault.Segment) []string {
			return []string{man2 + ": checkpoint: signature does not verify"}
		}, true},
		{"CosignedChanged", func(t *testing.T, dir string, segs []vault.Segment) {
			chmodWrite(t, filepath.Join(dir, cos2), segs[1].Checkpoint)
		}, func(segs []vault.Segment) []string {
			return []string{cos2 + ": not the checkpoint of its manifest (changed?)"}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openStore(t, dir)
			segs := fill(t, s, l, id, 4, 7, 12)
			if _, err := s.Cosign(cosigner); err != nil {
				t.Fatal(err)
			}
			c.attack(t, dir, segs)
			r := s.Scrub(origin, l.v)
			if c.want == nil {
				if !r.OK || r.Segments != 3 || r.Events != 12 || len(r.Faults) != 0 {
					t.Fatalf("scrub of a clean store: %+v", r)
				}
				return
			}
			if r.OK {
				t.Fatal("scrub found nothing wrong")
			}
			for _, want := range c.want(segs) {
				if !contains(r.Faults, want) {
					t.Errorf("no fault %q in:\n%s", want, strings.Join(r.Faults, "\n"))
				}
			}
			s.Close()
			s2, err := vault.OpenStore(dir)
			if err != nil && s2 == nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if damaged := errors.Is(err, vault.ErrDamaged); damaged != c.damaged {
				t.Fatalf("reopen: %v (damaged %v, want %v)", err, damaged, c.damaged)
			}
			if c.damaged {
				if _, err := s2.Append(12, l.events[12:], l.checkpoint(12), id.Recipient()); !errors.Is(err, vault.ErrDamaged) {
					t.Fatalf("a damaged store took an append: %v", err)
				}
			}
		})
	}

	t.Run("ErrWrongKey", func(t *testing.T) {
		s := openStore(t, t.TempDir())
		fill(t, s, l, id, 4)
		r := s.Scrub(origin, forger.v)
		if r.OK || !contains(r.Faults, man0+": checkpoint: signature does not verify") {
			t.Fatalf("scrub with another key: %v", r.Faults)
		}
	})
}

func TestEventsRefusesChangedSegment(t *testing.T) {
	l := newLog(t, 6)
	id := newIdentity(t)
	dir := t.TempDir()
	s := openStore(t, dir)
	segs := fill(t, s, l, id, 3, 6)
	path := filepath.Join(dir, segs[1].File())
	data, _ := os.ReadFile(path)
	data[len(data)-1] ^= 1
	os.Chmod(path, 0o600)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(s, id)
	if err == nil || !strings.Contains(err.Error(), segs[1].File()+": SHA-256 does not match") {
		t.Fatalf("read of a changed segment: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("read %d events before the changed segment, want 3", len(got))
	}
}

func TestInterruptedAppend(t *testing.T) {
	l := newLog(t, 9)
	id := newIdentity(t)
	dir := t.TempDir()
	s := openStore(t, dir)
	segs := fill(t, s, l, id, 4, 9)
	s.Close()
	// A crash after the segment was published but before its manifest was:
	// the manifest is still in tmp/.
	man := filepath.Join(dir, segs[1].Manifest())
	if err := os.Rename(man, filepath.Join(dir, "tmp", "w-123")); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	if s.Size() != 4 {
		t.Fatalf("reopened with %d events, want 4", s.Size())
	}
	if _, err := os.Stat(filepath.Join(dir, segs[1].File())); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the unacknowledged segment is still there: %v", err)
	}
	fill(t, s, l, id, 9)
	if r := s.Scrub(origin, l.v); !r.OK {
		t.Fatalf("scrub after recovery: %v", r.Faults)
	}
}

func TestQuarantine(t *testing.T) {
	l := newLog(t, 10)
	id := newIdentity(t)
	dir := t.TempDir()
	s := openStore(t, dir)
	fill(t, s, l, id, 5)

	// A rewritten history from the node: event 3 changed, signed by its key.
	fork := &testLog{t: t, origin: origin, signer: l.signer, v: l.v, roots: [][]byte{journal.EmptyRoot()}}
	fork.rng = (&compact.RangeFactory{Hash: journal.HashChildren}).NewEmptyRange(0)
	fork.grow(10)
	fork.events[3] = bytes.Replace(fork.events[3], []byte("Ramesh 3"), []byte("Mallory"), 1)
	forkRng := (&compact.RangeFactory{Hash: journal.HashChildren}).NewEmptyRange(0)
	for _, e := range fork.events {
		forkRng.Append(journal.LeafHash(e), nil)
	}
	root, _ := forkRng.GetRootHash(nil)
	cp, err := journal.SignCheckpoint(l.signer, origin, 10, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(5, fork.events[5:], cp, id.Recipient()); !errors.Is(err, vault.ErrDiverged) {
		t.Fatalf("append of a rewritten history: %v", err)
	}

	before := listing(t, filepath.Join(dir, "segments"))
	beforeMan := listing(t, filepath.Join(dir, "manifests"))
	path, err := s.Quarantine("root does not match the stored history at event 5", 5, fork.events[5:], cp, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(filepath.Join(dir, "forks"), path); err != nil || strings.Contains(rel, string(filepath.Separator)) || strings.HasPrefix(rel, "..") {
		t.Fatalf("quarantined in %s, not a directory in forks/", path)
	}
	for _, name := range []string{"reason.txt", "checkpoint", "leaves.txt", "events.age"} {
		data, err := os.ReadFile(filepath.Join(path, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte("Ramesh")) {
			t.Fatalf("%s holds an event in the clear", name)
		}
	}
	if got, _ := os.ReadFile(filepath.Join(path, "checkpoint")); !bytes.Equal(got, cp) {
		t.Fatal("the quarantined checkpoint is not the one received")
	}
	if !sameFiles(before, listing(t, filepath.Join(dir, "segments"))) || !sameFiles(beforeMan, listing(t, filepath.Join(dir, "manifests"))) {
		t.Fatal("quarantine touched the accepted segments or manifests")
	}
	if r := s.Scrub(origin, l.v); !r.OK {
		t.Fatalf("scrub after quarantine: %v", r.Faults)
	}

	t.Run("Second", func(t *testing.T) {
		p2, err := s.Quarantine("rollback: checkpoint of 3 events", 3, nil, l.checkpoint(3))
		if err != nil || p2 == path {
			t.Fatalf("second quarantine at %s: %v", p2, err)
		}
	})
	t.Run("ErrNoRecipients", func(t *testing.T) {
		if _, err := s.Quarantine("fork", 5, fork.events[5:], cp); err == nil {
			t.Fatal("quarantined events without encrypting them")
		}
	})
}

func TestCosign(t *testing.T) {
	l := newLog(t, 3)
	skey, vkey, err := vault.GenerateKey("vault.kvh.test")
	if err != nil {
		t.Fatal(err)
	}
	_, otherV, err := vault.GenerateKey("vault.kvh.test")
	if err != nil {
		t.Fatal(err)
	}
	cp := l.checkpoint(3)
	cosigned, err := vault.Cosign(skey, cp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(cosigned, cp) {
		t.Fatalf("the cosigned checkpoint lost the node's signature:\n%s", cosigned)
	}
	if _, err := journal.OpenCheckpoint(cosigned, origin, l.v); err != nil {
		t.Fatalf("the node's signature no longer verifies: %v", err)
	}
	tampered := bytes.Replace(cosigned, []byte("\n3\n"), []byte("\n4\n"), 1)
	cases := []struct {
		name     string
		vkey     string
		cosigned []byte
		ok       bool
	}{
		{"OK", vkey, cosigned, true},
		{"ErrOtherKey", otherV, cosigned, false},
		{"ErrNotCosigned", vkey, cp, false},
		{"ErrTampered", vkey, tampered, false},
		{"ErrNodeKeyIsNotACosigner", l.vkey, cosigned, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := vault.VerifyCosignature(c.vkey, c.cosigned)
			if (err == nil) != c.ok {
				t.Fatalf("VerifyCosignature = %v", err)
			}
		})
	}
	t.Run("ErrNotACheckpoint", func(t *testing.T) {
		if _, err := vault.Cosign(skey, []byte("hello\n")); err == nil {
			t.Fatal("cosigned something that is not a checkpoint")
		}
	})

	t.Run("Store", func(t *testing.T) {
		id := newIdentity(t)
		dir := t.TempDir()
		s := openStore(t, dir)
		if _, err := s.Cosign(skey); err == nil {
			t.Fatal("cosigned an empty store")
		}
		segs := fill(t, s, l, id, 3)
		c, err := s.Cosign(skey)
		if err != nil {
			t.Fatal(err)
		}
		if err := vault.VerifyCosignature(vkey, c); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Cosign(skey); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("cosigned twice: %v", err)
		}
		stored, err := os.ReadFile(filepath.Join(dir, strings.TrimSuffix(segs[0].Manifest(), ".json")+".cosigned"))
		if err != nil || !bytes.Equal(stored, c) {
			t.Fatalf("stored cosigned checkpoint: %v", err)
		}
		s.Close()
		s = openStore(t, dir)
		if !bytes.Equal(s.LastCosigned(), c) {
			t.Fatal("the reopened store lost the cosigned checkpoint")
		}
		if r := s.Scrub(origin, l.v); !r.OK {
			t.Fatalf("scrub: %v", r.Faults)
		}
	})
}

// TestSnapshot reads a store while another handle has it open for writing
// and appends to it, as a scrub or a restore drill does beside the running
// vault.
func TestSnapshot(t *testing.T) {
	l := newLog(t, 160)
	id := newIdentity(t)
	skey, _, err := vault.GenerateKey("vault.kvh.test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := openStore(t, dir)
	fill(t, s, l, id, 4, 9)

	t.Run("OK", func(t *testing.T) {
		snap, err := vault.OpenSnapshot(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close()
		// Published after the snapshot, and a write under way.
		fill(t, s, l, id, 12)
		if _, err := s.Cosign(skey); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, "tmp", "w-123")
		if err := os.WriteFile(tmp, []byte("half a segment"), 0o400); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(tmp)
		if r := snap.Scrub(origin, l.v); !r.OK || r.Events != 9 || r.Segments != 2 {
			t.Fatalf("scrub of the snapshot: %+v", r)
		}
		got, err := readAll(snap, id)
		if err != nil || !slices.EqualFunc(got, l.events[:9], bytes.Equal) {
			t.Fatalf("the snapshot read %d events, want its 9: %v", len(got), err)
		}
		if r := s.Scrub(origin, l.v); r.OK || !contains(r.Faults, "tmp/w-123: unexpected file") {
			t.Fatalf("the writer's own scrub of a stray file in tmp/: %+v", r)
		}
	})
	t.Run("ErrReadOnly", func(t *testing.T) {
		snap, err := vault.OpenSnapshot(dir)
		if err != nil {
			t.Fatal(err)
		}
		before := listing(t, dir)
		n := int(snap.Size())
		if _, err := snap.Append(uint64(n), l.events[n:n+1], l.checkpoint(n+1), id.Recipient()); !errors.Is(err, vault.ErrReadOnly) {
			t.Fatalf("append to a snapshot: %v", err)
		}
		if _, err := snap.Cosign(skey); !errors.Is(err, vault.ErrReadOnly) {
			t.Fatalf("cosign in a snapshot: %v", err)
		}
		if _, err := snap.Quarantine("fork", uint64(n), nil, l.checkpoint(n)); !errors.Is(err, vault.ErrReadOnly) {
			t.Fatalf("quarantine in a snapshot: %v", err)
		}
		if !sameFiles(before, listing(t, dir)) {
			t.Fatal("the snapshot changed the directory")
		}
	})
	t.Run("ErrNoStore", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "store")
		if _, err := vault.OpenSnapshot(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("snapshot of a missing store: %v", err)
		}
		if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
			t.Fatal("the snapshot made the store's directory")
		}
	})
	t.Run("WhileAppending", func(t *testing.T) {
		// One event per segment, as fast as the disk goes, while snapshots
		// are taken and scrubbed: each must be consistent, whatever the
		// moment, and never take a write under way for damage.
		done := make(chan error, 1)
		go func() {
			defer close(done)
			for n := int(s.Size()); n < len(l.events); n++ {
				if _, err := s.Append(uint64(n), l.events[n:n+1], l.checkpoint(n+1), id.Recipient()); err != nil {
					done <- err
					return
				}
				if _, err := s.Cosign(skey); err != nil {
					done <- err
					return
				}
			}
		}()
		snaps := 0
		for running := true; running; snaps++ {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				running = false
			default:
			}
			snap, err := vault.OpenSnapshot(dir)
			if err != nil {
				t.Fatalf("snapshot %d: %v", snaps, err)
			}
			if r := snap.Scrub(origin, l.v); !r.OK || r.Events != snap.Size() {
				t.Fatalf("scrub of snapshot %d at %d events: %+v", snaps, snap.Size(), r)
			}
		}
		t.Logf("%d snapshots scrubbed while %d events were appended", snaps, len(l.events))
	})
	t.Run("ErrPlanted", func(t *testing.T) {
		planted := filepath.Join(dir, "segments", strings.Repeat("ab", 32)+".age")
		if err := os.WriteFile(planted, []byte("pay us"), 0o400); err != nil {
			t.Fatal(err)
		}
		snap, err := vault.OpenSnapshot(dir)
		if !errors.Is(err, vault.ErrDamaged) || snap == nil {
			t.Fatalf("snapshot with a planted segment: %v", err)
		}
		if r := snap.Scrub(origin, l.v); r.OK || !contains(r.Faults, filepath.Base(planted)+": unexpected file, named by no manifest") {
			t.Fatalf("scrub of a snapshot with a planted segment: %+v", r)
		}
	})
}

// TestNewestDeletedWhileRunning: a store whose newest segment is deleted
// under it neither grows past the hole nor cosigns: it is damaged at once,
// not only at the next start or scrub.
func TestNewestDeletedWhileRunning(t *testing.T) {
	l := newLog(t, 9)
	id := newIdentity(t)
	dir := filepath.Join(t.TempDir(), "vault")
	s := openStore(t, dir)
	for _, end := range []int{3, 6} {
		first := int(s.Size())
		if _, err := s.Append(uint64(first), l.events[first:end], l.checkpoint(end), id.Recipient()); err != nil {
			t.Fatal(err)
		}
	}
	newest := s.Segments()[1]
	if err := os.Remove(filepath.Join(dir, newest.File())); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(6, l.events[6:9], l.checkpoint(9), id.Recipient()); !errors.Is(err, vault.ErrDamaged) || !strings.Contains(err.Error(), "gone from the store") {
		t.Fatalf("append after the newest segment was deleted: %v", err)
	}
	skey, _, err := vault.GenerateKey("test-vault")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Cosign(skey); !errors.Is(err, vault.ErrDamaged) {
		t.Fatalf("cosign after the newest segment was deleted: %v", err)
	}
	if s.Size() != 6 {
		t.Fatalf("the store grew to %d", s.Size())
	}
}
