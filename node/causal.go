package node

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// A replay (verify, restore) applies the node's own journal and every other
// origin's it holds in one causal order: each origin's events in its order,
// and the events after an origin's node.synced marker only once as many
// events of each other origin as it names are applied. Any such order gives
// the same projections, since projections depend only on the set of events
// (docs/architecture.md); this one is fixed, so a replay is repeatable.

// stream is one origin's events for a causal merge, read a chunk at a time.
type stream struct {
	origin string
	read   func() ([]replayItem, error) // the next chunk; empty at the end
	buf    []replayItem
	done   bool
}

func (s *stream) peek() (*replayItem, error) {
	for len(s.buf) == 0 && !s.done {
		b, err := s.read()
		if err != nil {
			return nil, err
		}
		if len(b) == 0 {
			s.done = true
		}
		s.buf = b
	}
	if len(s.buf) == 0 {
		return nil, nil
	}
	return &s.buf[0], nil
}

// mergeCausal passes the streams' items to emit, a chunk at a time, in a
// causal order: the first stream as far as it can go, then the next, and
// round again. When every stream left waits for events no stream has, the
// first one that force allows goes on anyway, with stuck told why; if force
// allows none, the merge ends there.
func mergeCausal(streams []*stream, emit func([]replayItem) bool, force func(origin string) bool, stuck func(origin string, idx uint64, have map[string]uint64)) error {
	counts := map[string]uint64{}
	ready := func(it *replayItem) bool {
		if it.e == nil {
			return true
		}
		s, ok := it.e.Value.(*Synced)
		if !ok {
			return true
		}
		for o, n := range s.Have {
			if counts[o] < n {
				return false
			}
		}
		return true
	}
	out := make([]replayItem, 0, 256)
	take := func(s *stream) bool {
		out = append(out, s.buf[0])
		s.buf = s.buf[1:]
		counts[s.origin]++
		if len(out) == cap(out) {
			if !emit(out) {
				return false
			}
			out = make([]replayItem, 0, 256)
		}
		return true
	}
	for {
		progressed, open := false, false
		for _, s := range streams {
			for {
				it, err := s.peek()
				if err != nil {
					return err
				}
				if it == nil {
					break
				}
				open = true
				if !ready(it) {
					break
				}
				if !take(s) {
					return nil
				}
				progressed = true
			}
		}
		if !open {
			break
		}
		if !progressed {
			// Every stream left waits.
			forced := false
			for _, s := range streams {
				if it, _ := s.peek(); it != nil && force(s.origin) {
					stuck(s.origin, it.idx, it.e.Value.(*Synced).Have)
					if !take(s) {
						return nil
					}
					forced = true
					break
				}
			}
			if !forced {
				break
			}
		}
	}
	if len(out) > 0 {
		emit(out)
	}
	return nil
}

// replicaStream reads origin's events [0, upTo) from journal_replica_events,
// each checked against its leaf hash (the tree check proved the leaves).
func replicaStream(ctx context.Context, db journal.DBTX, origin string, upTo uint64, ds map[string]*eventType) *stream {
	next := uint64(0)
	return &stream{origin: origin, read: func() ([]replayItem, error) {
		if next >= upTo {
			return nil, nil
		}
		to := min(next+journal.TileSize, upTo)
		rows, err := db.QueryContext(ctx, `SELECT idx, data, leaf FROM journal_replica_events WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`, origin, next, to)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		buf := make([]replayItem, 0, to-next)
		for rows.Next() {
			var it replayItem
			var data, leaf []byte
			if err := rows.Scan(&it.idx, &data, &leaf); err != nil {
				return nil, err
			}
			for ; next < it.idx; next++ {
				buf = append(buf, replayItem{idx: next, err: fault(fmt.Sprintf("%s's event %d: missing (its row was deleted)", origin, next))})
			}
			next = it.idx + 1
			if !bytes.Equal(journal.LeafHash(data), leaf) {
				it.err = fault(fmt.Sprintf("%s's event %d: its bytes do not match its leaf hash (the event was changed)", origin, it.idx))
				buf = append(buf, it)
				continue
			}
			e, err := decodeEvent(ds, data)
			if err != nil {
				it.err = fault(fmt.Sprintf("%s's event %d: %v", origin, it.idx, err))
			} else {
				e.Index = it.idx
				it.e = e
			}
			buf = append(buf, it)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for ; next < to; next++ {
			buf = append(buf, replayItem{idx: next, err: fault(fmt.Sprintf("%s's event %d: missing (its row was deleted)", origin, next))})
		}
		return buf, nil
	}}
}

// replicaApplied returns how many events of each other origin the node
// applied, by origin: what a replay applies of each.
func replicaApplied(ctx context.Context, db journal.DBTX) (map[string]uint64, error) {
	rows, err := db.QueryContext(ctx, `SELECT origin, applied FROM journal_replicas`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var o string
		var n uint64
		if err := rows.Scan(&o, &n); err != nil {
			return nil, err
		}
		out[o] = n
	}
	return out, rows.Err()
}

// checkReplicas checks every other origin's journal the node holds as the
// tree check checks its own: each event against its leaf hash, the Merkle
// tree against every stored checkpoint of the origin, each checkpoint's
// signature by the key the origin's journal names at its size, a key this
// node trusts, and the replica's state row.
func checkReplicas(ctx context.Context, db journal.DBTX, self string, rep *Report) error {
	rows, err := db.QueryContext(ctx, `SELECT origin, log, size, applied, hashes, verifier FROM journal_replicas ORDER BY origin`)
	if err != nil {
		return fmt.Errorf("verify: replicas: %w", err)
	}
	type state struct {
		origin, log, verifier string
		size, applied         uint64
		hashes                []byte
	}
	var sts []state
	for rows.Next() {
		var s state
		if err := rows.Scan(&s.origin, &s.log, &s.size, &s.applied, &s.hashes, &s.verifier); err != nil {
			rows.Close()
			return err
		}
		sts = append(sts, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var stray []string
	if err := scanStrings(ctx, db, &stray, `SELECT DISTINCT origin FROM journal_replica_events WHERE origin NOT IN (SELECT origin FROM journal_replicas)
		UNION SELECT DISTINCT origin FROM journal_replica_checkpoints WHERE origin NOT IN (SELECT origin FROM journal_replicas)`); err != nil {
		return err
	}
	for _, o := range stray {
		rep.fault("journal_replicas: %s's events or checkpoints are held, but no state row says how many", o)
	}
	for _, s := range sts {
		n, rng, key, err := checkReplica(ctx, db, self, s.origin, s.log, rep)
		if err != nil {
			return err
		}
		if rep.Origins == nil {
			rep.Origins = map[string]uint64{}
		}
		rep.Origins[s.origin] = n
		blob := []byte{}
		for _, h := range rng.Hashes() {
			blob = append(blob, h...)
		}
		switch {
		case s.size != n:
			rep.fault("journal_replicas: says %d of %s's events are held, %d are", s.size, s.origin, n)
		case !bytes.Equal(blob, s.hashes):
			rep.fault("journal_replicas: %s's Merkle range does not match its events", s.origin)
		case s.verifier != key:
			rep.fault("journal_replicas: %s's key is %q, its journal names %q", s.origin, s.verifier, key)
		case s.applied > s.size:
			rep.fault("journal_replicas: says %d of %s's events are applied, of %d held", s.applied, s.origin, s.size)
		}
	}
	return nil
}

func scanStrings(ctx context.Context, db journal.DBTX, out *[]string, q string, args ...any) error {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		*out = append(*out, s)
	}
	return rows.Err()
}

// checkReplica checks one origin's held journal; it returns how many events
// follow on from 0, their range and the key the journal names at the end.
func checkReplica(ctx context.Context, db journal.DBTX, self, origin, log string, rep *Report) (uint64, *compact.Range, string, error) {
	type cp struct {
		size uint64
		note []byte
	}
	var cps []cp
	rows, err := db.QueryContext(ctx, `SELECT size, note FROM journal_replica_checkpoints WHERE origin = ? ORDER BY size`, origin)
	if err != nil {
		return 0, nil, "", err
	}
	for rows.Next() {
		var c cp
		if err := rows.Scan(&c.size, &c.note); err != nil {
			rows.Close()
			return 0, nil, "", err
		}
		cps = append(cps, c)
	}
	rows.Close()
	rf := &compact.RangeFactory{Hash: journal.HashChildren}
	rng := rf.NewEmptyRange(0)
	var next uint64
	key := ""
	ci := 0
	checkCP := func() error {
		for ci < len(cps) && cps[ci].size == next {
			c := cps[ci]
			ci++
			v, err := note.NewVerifier(key)
			if err != nil {
				rep.fault("%s's checkpoint at size %d: its journal names no valid key before it", origin, c.size)
				continue
			}
			got, err := journal.OpenCheckpoint(c.note, log, v)
			if err != nil {
				rep.fault("%s's checkpoint at size %d: not signed by the key its journal names (%s): %v", origin, c.size, v.Name(), err)
				continue
			}
			root, _ := rng.GetRootHash(nil)
			if got.Size != c.size || !bytes.Equal(got.Hash, root) {
				rep.fault("%s's checkpoint at size %d: its root does not match the events held (one of them was changed)", origin, c.size)
				continue
			}
			ok, err := trusted(ctx, db, self, origin, key)
			if err != nil {
				return err
			}
			if !ok {
				rep.fault("%s's checkpoint at size %d: signed by %s, a key this node never trusted", origin, c.size, v.Name()+"+"+fmt.Sprintf("%08x", v.KeyHash()))
			}
		}
		return nil
	}
	erows, err := db.QueryContext(ctx, `SELECT idx, data, leaf FROM journal_replica_events WHERE origin = ? ORDER BY idx`, origin)
	if err != nil {
		return 0, nil, "", err
	}
	defer erows.Close()
	for erows.Next() {
		var idx uint64
		var data, leaf []byte
		if err := erows.Scan(&idx, &data, &leaf); err != nil {
			return 0, nil, "", err
		}
		if idx != next {
			rep.fault("%s's event %d: missing", origin, next)
			break
		}
		h := journal.LeafHash(data)
		if !bytes.Equal(h, leaf) {
			rep.fault("%s's event %d: its bytes do not match its leaf hash (the event, or its leaf hash, was changed)", origin, idx)
		}
		e, err := journal.Decode(data)
		switch {
		case err != nil:
			rep.fault("%s's event %d: %v", origin, idx, err)
		case e.Origin != origin || e.Seq != idx+1:
			rep.fault("%s's event %d: it says it is event %d of %s", origin, idx, e.Seq, e.Origin)
		case e.Type == string(NodeKeyAdded):
			key = jsonString(e.Payload, "verifier")
		}
		if err := rng.Append(h, nil); err != nil {
			return 0, nil, "", err
		}
		next++
		if err := checkCP(); err != nil {
			return 0, nil, "", err
		}
	}
	if err := erows.Err(); err != nil {
		return 0, nil, "", err
	}
	if ci < len(cps) {
		rep.fault("%s's checkpoint at size %d: beyond the %d events held (events were removed)", origin, cps[ci].size, next)
	}
	return next, rng, key, nil
}

// mergeOrder lists the codes of a merge's streams: the node's own first.
func mergeOrder(self string, applied map[string]uint64) []string {
	return append([]string{self}, slices.Sorted(maps.Keys(applied))...)
}
