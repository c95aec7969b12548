package node

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach"
	"kavach/journal"
)

// Other nodes' journals. Every node appends and signs only its own events;
// it holds the other nodes' journals verbatim, each checked as the vault
// checks a pull: the origin's signed checkpoint over exactly the end of
// each run, under a key this node trusts, and a Merkle range that every new
// run must extend. A run that does not extend what is held is a fork: it is
// refused, kept aside (local_replica_forks) and raised as an alert, never
// applied.
//
// Events are applied (projected) in causal order. Before its first event
// after applying another node's events, a node journals node.synced: how
// many events of each other origin it had applied. Another node applies the
// events that follow such a marker only once it has applied as many, so an
// OPD visit is never projected before the registration it names, whichever
// node each came from and in whatever order they arrived. Events waiting
// for their causes are held, not applied, until the causes come.

// NodeSynced is the causal marker's event type.
const NodeSynced Event[Synced] = "node.synced"

// Synced is the payload of node.synced: the number of events of each other
// origin that the node had applied before its next event. Frozen.
type Synced struct {
	Have map[string]uint64 `json:"have"`
}

const replicasSchema = `
CREATE TABLE journal_replicas (
	origin     TEXT PRIMARY KEY, -- the node's code
	log        TEXT NOT NULL,    -- its checkpoints' origin line
	size       INTEGER NOT NULL, -- its events held
	applied    INTEGER NOT NULL, -- of which projected, a prefix
	hashes     BLOB NOT NULL,    -- the compact Merkle range over them
	verifier   TEXT NOT NULL,    -- the key its journal names at size
	checkpoint BLOB NOT NULL     -- its signed checkpoint over size
);
CREATE TABLE journal_replica_events (
	origin TEXT NOT NULL,
	idx    INTEGER NOT NULL,
	data   BLOB NOT NULL,
	leaf   BLOB NOT NULL,
	PRIMARY KEY (origin, idx)
);
CREATE TABLE journal_replica_checkpoints (
	origin TEXT NOT NULL,
	size   INTEGER NOT NULL,
	note   BLOB NOT NULL,
	PRIMARY KEY (origin, size)
);
-- Runs refused as forks, kept for whoever investigates.
CREATE TABLE local_replica_forks (
	id         INTEGER PRIMARY KEY,
	origin     TEXT NOT NULL,
	time       TEXT NOT NULL,
	reason     TEXT NOT NULL,
	first      INTEGER NOT NULL,
	checkpoint BLOB NOT NULL,
	events     BLOB NOT NULL -- a JSON array of the events' bytes, base64
);
-- Each node's causal markers, for telling concurrent changes apart.
CREATE TABLE frontiers (
	node TEXT NOT NULL,
	seq  INTEGER NOT NULL,
	have TEXT NOT NULL,
	PRIMARY KEY (node, seq)
);
`

func applySynced(p *Projection, e *journal.Event, s *Synced) error {
	have, err := json.Marshal(s.Have)
	if err != nil {
		return err
	}
	_, err = p.Exec(`INSERT INTO frontiers (node, seq, have) VALUES (?, ?, ?)`, e.Origin, e.Seq, string(have))
	return err
}

// replica is the writer's view of one other origin's journal.
type replica struct {
	origin     string
	log        string
	size       uint64
	applied    uint64
	rng        *journal.Range
	verifier   string
	checkpoint []byte
}

// replicaSet is every replica and the frontier of the node's last marker,
// kept in the writer's memo (dropped with a rolled-back batch).
type replicaSet struct {
	byOrigin map[string]*replica
	marked   map[string]uint64
}

func (tx *Tx) replicas() (*replicaSet, error) {
	v, err := tx.Cached("replicas", func() (any, error) {
		rs := &replicaSet{byOrigin: map[string]*replica{}, marked: map[string]uint64{}}
		rows, err := tx.Query(`SELECT origin, log, size, applied, hashes, verifier, checkpoint FROM journal_replicas`)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			r := &replica{}
			var hashes []byte
			if err := rows.Scan(&r.origin, &r.log, &r.size, &r.applied, &hashes, &r.verifier, &r.checkpoint); err != nil {
				return nil, err
			}
			if r.rng, err = journal.LoadRange(r.size, hashes); err != nil {
				return nil, fmt.Errorf("node: replica %s: %w", r.origin, err)
			}
			rs.byOrigin[r.origin] = r
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var have string
		err = tx.QueryRow(`SELECT have FROM frontiers WHERE node = ? ORDER BY seq DESC LIMIT 1`, tx.n.info.NodeCode).Scan(&have)
		if err == nil {
			err = json.Unmarshal([]byte(have), &rs.marked)
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return rs, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*replicaSet), nil
}

// frontier is how many events of each origin the node has applied.
func (rs *replicaSet) frontier() map[string]uint64 {
	f := map[string]uint64{}
	for o, r := range rs.byOrigin {
		if r.applied > 0 {
			f[o] = r.applied
		}
	}
	return f
}

// markFrontier journals node.synced before the node's own next event if it
// has applied other nodes' events since its last marker.
func (tx *Tx) markFrontier() error {
	rs, err := tx.replicas()
	if err != nil || len(rs.byOrigin) == 0 {
		return err
	}
	f := rs.frontier()
	if maps.Equal(f, rs.marked) {
		return nil
	}
	if _, err := tx.append(string(NodeSynced), Synced{Have: f}); err != nil {
		return err
	}
	rs.marked = f
	return nil
}

func (tx *Tx) saveReplica(r *replica) error {
	_, err := tx.Exec(`INSERT INTO journal_replicas (origin, log, size, applied, hashes, verifier, checkpoint) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (origin) DO UPDATE SET log = excluded.log, size = excluded.size, applied = excluded.applied,
		hashes = excluded.hashes, verifier = excluded.verifier, checkpoint = excluded.checkpoint`,
		r.origin, r.log, r.size, r.applied, r.rng.Bytes(), r.verifier, r.checkpoint)
	return err
}

// ReplicaBatch is a run of another node's journal: its events from index
// From and the origin's signed checkpoint over exactly their end.
type ReplicaBatch struct {
	Origin     string // the origin's node code
	From       uint64
	Events     [][]byte
	Checkpoint []byte
}

// Received says what Receive did with a batch.
type Received struct {
	Held    uint64 `json:"held"`    // events of the origin this node holds now
	Stored  int    `json:"stored"`  // new events stored
	Applied int    `json:"applied"` // events applied (of any origin: some may have waited for these)
}

// Receive checks a run of another node's journal, stores it and applies
// what it can, durably, in the writer. A refusal (a fork, a key this node
// does not trust, events outside the origin's namespace, …) is a
// *kavach.Error; what needs a person is journaled as an alert first. A run
// that starts past what this node holds is a conflict, and Held says where
// to start.
func (n *Node) Receive(ctx context.Context, b *ReplicaBatch) (*Received, error) {
	var res *Received
	var refusal error
	err := n.Do(ctx, "system", func(tx *Tx) error {
		var err error
		res, refusal, err = tx.receive(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, refusal
}

func (tx *Tx) receive(b *ReplicaBatch) (res *Received, refusal, err error) {
	self := tx.n.info.NodeCode
	rs, err := tx.replicas()
	if err != nil {
		return nil, nil, err
	}
	r := rs.byOrigin[b.Origin]
	if r == nil {
		r = &replica{origin: b.Origin, rng: &journal.Range{}}
	}
	res = &Received{Held: r.size}
	refuse := func(kind, code, msg string) (*Received, error, error) {
		if kind != "" {
			if err := tx.raiseAlert(kind, b.Origin, msg); err != nil {
				return nil, nil, err
			}
		}
		return res, &kavach.Error{Code: code, Message: msg}, nil
	}
	if b.Origin == self {
		return refuse("", kavach.EINVALID, "These are this node's own events: a node never takes its own journal from another.")
	}
	log, known, err := tx.originLog(b.Origin)
	if err != nil {
		return nil, nil, err
	}
	if !known {
		return refuse("", kavach.ENOTFOUND, "Node "+b.Origin+" is not an enrolled node of this hospital here (yet).")
	}
	if b.From > r.size {
		return res, &kavach.Error{Code: kavach.ECONFLICT, Message: fmt.Sprintf("This node holds %d events of %s: send them from there.", r.size, b.Origin)}, nil
	}
	events, from := b.Events, b.From
	if from < r.size {
		// Events this node holds already: they must be the same.
		k := min(r.size-from, uint64(len(events)))
		held, err := tx.replicaLeaves(b.Origin, from, from+k)
		if err != nil {
			return nil, nil, err
		}
		for i := range k {
			if !bytes.Equal(journal.LeafHash(events[i]), held[i]) {
				return tx.fork(res, b, fmt.Sprintf("%s's event %d is not the one this node holds: %s's journal was rewritten (restored from an old copy, or forged)", b.Origin, from+i, b.Origin))
			}
		}
		events, from = events[k:], from+k
	}
	if len(events) == 0 {
		return res, nil, nil
	}
	ns, err := namespaceOf(tx.ctx, tx, b.Origin)
	if err != nil {
		return nil, nil, err
	}
	key := r.verifier
	decoded := make([]*journal.Event, len(events))
	leaves := make([][]byte, len(events))
	for i, data := range events {
		idx := from + uint64(i)
		e, err := journal.Decode(data)
		if err != nil {
			return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's event %d was refused: %v", b.Origin, idx, err))
		}
		if e.Origin != b.Origin || e.Seq != idx+1 {
			return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's event %d was refused: it says it is event %d of %s", b.Origin, idx, e.Seq, e.Origin))
		}
		et := tx.n.types[e.Type]
		if et == nil {
			return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's event %d is of type %s, which this node's Kavach does not know: upgrade Kavach on this node", b.Origin, idx, e.Type))
		}
		v, err := et.decode(e.Payload)
		if err != nil {
			return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's event %d (%s) was refused: its payload: %v", b.Origin, idx, e.Type, err))
		}
		e.Value, e.Index = v, idx
		if idx == 0 {
			if in, ok := v.(*Initialised); !ok || in.NodeCode != b.Origin || in.Origin != log {
				return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's journal does not begin with its own node.initialised", b.Origin))
			}
		}
		if et.issues != nil {
			if err := et.issues(ns, e, v); err != nil {
				return refuse(AlertNamespace, kavach.EINVALID, fmt.Sprintf("%s's event %d (%s) was refused: %v, outside %s's namespace", b.Origin, idx, e.Type, err, b.Origin))
			}
		}
		if k, ok := v.(*KeyAdded); ok {
			key = k.Verifier
		}
		decoded[i], leaves[i] = e, journal.LeafHash(data)
	}
	end := from + uint64(len(events))
	v, err := note.NewVerifier(key)
	if err != nil {
		return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's journal names the key %q: %v", b.Origin, key, err))
	}
	cp, err := journal.OpenCheckpoint(b.Checkpoint, log, v)
	if err != nil {
		return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's checkpoint over events %d..%d is not signed by the key its journal names (%s): %v", b.Origin, from, end-1, v.Name(), err))
	}
	if cp.Size != end {
		return refuse(AlertRefused, kavach.EINVALID, fmt.Sprintf("%s's checkpoint covers %d events, the run ends at %d", b.Origin, cp.Size, end))
	}
	rng, err := r.rng.Extend(leaves)
	if err != nil {
		return nil, nil, err
	}
	if !bytes.Equal(rng.Root(), cp.Hash) {
		return tx.fork(res, b, fmt.Sprintf("%s's events %d..%d do not extend the journal this node holds to %s's signed checkpoint: its history was rewritten", b.Origin, from, end-1, b.Origin))
	}
	if key != r.verifier {
		ok, err := trusted(tx.ctx, tx, self, b.Origin, key)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return refuse(AlertKey, kavach.EFORBIDDEN, fmt.Sprintf("%s now signs with the key %s, which this node does not trust. If %s was restored after an attack, check the key with its administrator, then approve it here: kavach site approve-key --data DIR --origin %s --key '%s'",
				b.Origin, key, b.Origin, b.Origin, key))
		}
	}
	for i, data := range events {
		if _, err := tx.Exec(`INSERT INTO journal_replica_events (origin, idx, data, leaf) VALUES (?, ?, ?, ?)`, b.Origin, from+uint64(i), data, leaves[i]); err != nil {
			return nil, nil, err
		}
	}
	if _, err := tx.Exec(`INSERT INTO journal_replica_checkpoints (origin, size, note) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, b.Origin, end, b.Checkpoint); err != nil {
		return nil, nil, err
	}
	r.log, r.size, r.rng, r.verifier, r.checkpoint = log, end, rng, key, b.Checkpoint
	rs.byOrigin[b.Origin] = r
	if err := tx.saveReplica(r); err != nil {
		return nil, nil, err
	}
	res.Held, res.Stored = end, len(events)
	res.Applied, err = tx.applyReplicas(rs, map[string]run{b.Origin: {from: from, events: decoded}})
	if err != nil {
		return nil, nil, err
	}
	return res, nil, nil
}

// originLog returns the checkpoint origin line of another node of this
// hospital: this site's central, or an enrolled site.
func (tx *Tx) originLog(code string) (string, bool, error) {
	var ok bool
	err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM upstreams WHERE node = ? AND central = ?)
		OR EXISTS (SELECT 1 FROM sites WHERE code = ? AND enrolled != '')`, tx.n.info.NodeCode, code, code).Scan(&ok)
	return "kavach/" + tx.n.info.HospitalCode + "/" + code, ok, err
}

// fork keeps a refused run aside and raises the alert.
func (tx *Tx) fork(res *Received, b *ReplicaBatch, reason string) (*Received, error, error) {
	var kept bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM local_replica_forks WHERE origin = ? AND first = ? AND checkpoint = ?)`,
		b.Origin, b.From, b.Checkpoint).Scan(&kept); err != nil {
		return nil, nil, err
	}
	if !kept {
		evs, _ := json.Marshal(b.Events)
		if _, err := tx.Exec(`INSERT INTO local_replica_forks (origin, time, reason, first, checkpoint, events) VALUES (?, ?, ?, ?, ?, ?)`,
			b.Origin, time.Now().UTC().Format(journal.TimeFormat), reason, b.From, b.Checkpoint, evs); err != nil {
			return nil, nil, err
		}
	}
	msg := reason + "; refused and kept aside, nothing applied"
	if err := tx.raiseAlert(AlertFork, b.Origin, msg); err != nil {
		return nil, nil, err
	}
	return res, &kavach.Error{Code: kavach.ECONFLICT, Message: msg + "."}, nil
}

func (tx *Tx) replicaLeaves(origin string, from, to uint64) ([][]byte, error) {
	rows, err := tx.Query(`SELECT leaf FROM journal_replica_events WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`, origin, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var l []byte
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if uint64(len(out)) != to-from {
		return nil, fmt.Errorf("node: %s's events %d..%d: %d held", origin, from, to-1, len(out))
	}
	return out, nil
}

// run is a stretch of decoded events of one origin, from index from.
type run struct {
	from   uint64
	events []*journal.Event
}

// applyReplicas applies every held event whose causes are applied, origin
// by origin, until none can go on; it returns how many it applied. fresh
// holds events just decoded, so that they need not be read back.
func (tx *Tx) applyReplicas(rs *replicaSet, fresh map[string]run) (int, error) {
	total := 0
	origins := slices.Sorted(maps.Keys(rs.byOrigin))
	for {
		progressed := false
		for _, o := range origins {
			r := rs.byOrigin[o]
			start := r.applied
			for r.applied < r.size {
				e, err := tx.replicaEvent(r, fresh)
				if err != nil {
					return total, err
				}
				if s, ok := e.Value.(*Synced); ok && !tx.satisfied(rs, s.Have) {
					break
				}
				if err := tx.Apply(e); err != nil {
					return total, fmt.Errorf("node: applying %s's event %d (%s): %w", o, e.Index, e.Type, err)
				}
				r.applied++
				total++
			}
			if r.applied != start {
				progressed = true
				if _, err := tx.Exec(`UPDATE journal_replicas SET applied = ? WHERE origin = ?`, r.applied, o); err != nil {
					return total, err
				}
			}
		}
		if !progressed {
			return total, nil
		}
	}
}

// satisfied reports whether the node has applied what a marker says its
// origin had.
func (tx *Tx) satisfied(rs *replicaSet, have map[string]uint64) bool {
	for o, n := range have {
		if o == tx.n.info.NodeCode {
			if tx.batch.State().Seq < n {
				return false
			}
			continue
		}
		if r := rs.byOrigin[o]; r == nil || r.applied < n {
			return false
		}
	}
	return true
}

// replicaEvent returns r's next event to apply, from fresh or the database
// (read ahead a few hundred at a time into fresh).
func (tx *Tx) replicaEvent(r *replica, fresh map[string]run) (*journal.Event, error) {
	i := r.applied
	if f, ok := fresh[r.origin]; ok && i >= f.from && i < f.from+uint64(len(f.events)) {
		return f.events[i-f.from], nil
	}
	rows, err := tx.Query(`SELECT idx, data FROM journal_replica_events WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`, r.origin, i, min(i+512, r.size))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	f := run{from: i}
	for rows.Next() {
		var idx uint64
		var data []byte
		if err := rows.Scan(&idx, &data); err != nil {
			return nil, err
		}
		e, err := decodeEvent(tx.n.types, data)
		if err != nil {
			return nil, fmt.Errorf("node: %s's event %d: %w", r.origin, idx, err)
		}
		e.Index = idx
		f.events = append(f.events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(f.events) == 0 || f.events[0].Index != i {
		return nil, fmt.Errorf("node: %s's event %d is not held", r.origin, i)
	}
	fresh[r.origin] = f
	return f.events[0], nil
}

// Origins returns how many events of each origin this node holds, its own
// included: two nodes holding the same have converged.
func (n *Node) Origins(ctx context.Context) (map[string]uint64, error) {
	out := map[string]uint64{n.Info().NodeCode: n.Status().Events}
	rows, err := n.reader.QueryContext(ctx, `SELECT origin, size FROM journal_replicas`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		var size uint64
		if err := rows.Scan(&o, &size); err != nil {
			return nil, err
		}
		out[o] = size
	}
	return out, rows.Err()
}

// ReplicaState is one held journal of another node.
type ReplicaState struct {
	Origin   string `json:"origin"`
	Log      string `json:"log"`
	Size     uint64 `json:"size"`
	Applied  uint64 `json:"applied"`
	Verifier string `json:"verifier"`
}

// Replicas lists the other nodes' journals this node holds.
func (n *Node) Replicas(ctx context.Context) ([]ReplicaState, error) {
	rows, err := n.reader.QueryContext(ctx, `SELECT origin, log, size, applied, verifier FROM journal_replicas ORDER BY origin`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ReplicaState{}
	for rows.Next() {
		var r ReplicaState
		if err := rows.Scan(&r.Origin, &r.Log, &r.Size, &r.Applied, &r.Verifier); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReplicaRun returns held events of origin from index from (about limit of
// them) with the origin's own checkpoint over exactly their end: what this
// node passes on of another's journal. It ends at a checkpoint the origin
// signed, so it may hold fewer events than are held, or more than limit.
func (n *Node) ReplicaRun(ctx context.Context, origin string, from uint64, limit int) ([]RawEvent, []byte, error) {
	var size uint64
	var cp []byte
	err := n.reader.QueryRowContext(ctx, `SELECT size, note FROM journal_replica_checkpoints WHERE origin = ? AND size > ? AND size <= ?
		ORDER BY size DESC LIMIT 1`, origin, from, from+uint64(limit)).Scan(&size, &cp)
	if errors.Is(err, sql.ErrNoRows) {
		err = n.reader.QueryRowContext(ctx, `SELECT size, note FROM journal_replica_checkpoints WHERE origin = ? AND size > ?
			ORDER BY size LIMIT 1`, origin, from).Scan(&size, &cp)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return []RawEvent{}, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	rows, err := n.reader.QueryContext(ctx, `SELECT idx, data FROM journal_replica_events WHERE origin = ? AND idx >= ? AND idx < ? ORDER BY idx`, origin, from, size)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out := make([]RawEvent, 0, size-from)
	for rows.Next() {
		var e RawEvent
		if err := rows.Scan(&e.Index, &e.Data); err != nil {
			return nil, nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if uint64(len(out)) != size-from {
		return nil, nil, fmt.Errorf("node: %s's events %d..%d: %d held", origin, from, size-1, len(out))
	}
	return out, cp, nil
}

// Saw reports whether the node that issued event seq of origin had applied
// event oseq of other before it, so that it could have known it: by the
// causal marker before it (node.synced). Two changes that did not see each
// other are concurrent: made at two nodes cut off from each other. It is a
// function of the events alone, so projectors may call it.
func Saw(ctx context.Context, db journal.DBTX, origin string, seq uint64, other string, oseq uint64) (bool, error) {
	if origin == other {
		return oseq < seq, nil
	}
	var have string
	err := db.QueryRowContext(ctx, `SELECT have FROM frontiers WHERE node = ? AND seq < ? ORDER BY seq DESC LIMIT 1`, origin, seq).Scan(&have)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var m map[string]uint64
	if err := json.Unmarshal([]byte(have), &m); err != nil {
		return false, err
	}
	return m[other] >= oseq, nil
}

// Concurrent reports whether two events, each named by origin and sequence
// number, were made without either node knowing of the other.
func Concurrent(ctx context.Context, db journal.DBTX, ao string, as uint64, bo string, bs uint64) (bool, error) {
	if ao == bo {
		return false, nil
	}
	ab, err := Saw(ctx, db, ao, as, bo, bs)
	if err != nil || ab {
		return false, err
	}
	ba, err := Saw(ctx, db, bo, bs, ao, as)
	return !ba, err
}

// ParseStamp returns the origin and sequence number a Stamp names.
func ParseStamp(stamp string) (origin string, seq uint64, ok bool) {
	f := strings.Fields(stamp)
	if len(f) != 3 {
		return "", 0, false
	}
	n, err := strconv.ParseUint(f[2], 10, 64)
	return f[1], n, err == nil
}
