package node

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// Report is what verify found.
type Report struct {
	OK          bool   `json:"ok"`
	Events      uint64 `json:"events"`
	Root        string `json:"root"`
	Checkpoints int    `json:"checkpoints"`
	// Origins counts the events held of each other node's journal.
	Origins map[string]uint64 `json:"origins,omitempty"`
	Faults  []string          `json:"faults"`
	// Seconds spent on the Merkle tree and signatures, and on the replay.
	MerkleSeconds float64 `json:"merkle_seconds"`
	ReplaySeconds float64 `json:"replay_seconds"`

	// proven is the size of the largest checkpoint whose root the tree check
	// found and whose signature verified: the leaf hashes (the tiles) of
	// events below it are as the node signed them.
	proven uint64
}

// maxFaults bounds the report: the first faults locate the damage.
const maxFaults = 20

func (r *Report) fault(format string, args ...any) {
	if len(r.Faults) < maxFaults {
		r.Faults = append(r.Faults, fmt.Sprintf(format, args...))
	}
	r.OK = false
}

// VerifyOptions choose how much verify does.
type VerifyOptions struct {
	SkipReplay bool // check the tree and signatures only
	ScratchDir string
}

// Verify checks the node in dir: every event's leaf hash, the Merkle tree and
// its stored nodes, every checkpoint's signature and root, that every event's
// bytes are canonical, and that the projections equal a replay of the journal
// into a scratch database. It names the first faulty event or row.
//
// Everything is read from one snapshot of the database (one read transaction
// on one connection), so verify gives the same answer while the node serves.
func Verify(ctx context.Context, dir string, services []Service, opt VerifyOptions) (*Report, error) {
	path := DBPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Kavach node in %s (start one with 'kavach serve --data %s')", dir, dir)
	}
	db, err := sql.Open("sqlite", dsn(path, modeVerify))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("verify: open %s: %w", path, err)
	}
	defer conn.Close()
	if err := checkMigrated(ctx, conn, dir, services); err != nil {
		return nil, err
	}
	var scratch string
	if !opt.SkipReplay {
		tmp, err := os.MkdirTemp(scratchDir(opt.ScratchDir), "kavach-verify-*")
		if err != nil {
			return nil, fmt.Errorf("verify: scratch: %w", err)
		}
		defer os.RemoveAll(tmp)
		scratch = filepath.Join(tmp, "replay.db")
		// The comparisons sort whole tables; keep their temporary b-trees in
		// memory. ATTACH cannot run inside the transaction, so the replay's
		// database is attached first and written by the replay's own
		// connection; this one reads it only after.
		if _, err := conn.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
			return nil, fmt.Errorf("verify: %w", err)
		}
		if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS replay`, scratch); err != nil {
			return nil, fmt.Errorf("verify: attach scratch: %w", err)
		}
		defer conn.ExecContext(context.Background(), `DETACH DATABASE replay`)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN`); err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	defer conn.ExecContext(context.Background(), `ROLLBACK`) // before the DETACH above
	rep := &Report{OK: true, Faults: []string{}}
	start := time.Now()
	if err := checkTree(ctx, conn, rep); err != nil {
		return nil, err
	}
	if code, err := OwnCode(ctx, conn); err == nil {
		if err := checkReplicas(ctx, conn, code, rep); err != nil {
			return nil, err
		}
	}
	rep.MerkleSeconds = time.Since(start).Seconds()
	if opt.SkipReplay {
		return rep, nil
	}
	start = time.Now()
	if err := checkProjections(ctx, conn, services, scratch, rep); err != nil {
		return nil, err
	}
	rep.ReplaySeconds = time.Since(start).Seconds()
	return rep, nil
}

// checkMigrated refuses a database that this build's migrations have not all
// run on: its tables are not the ones this build's replay makes.
func checkMigrated(ctx context.Context, db journal.DBTX, dir string, services []Service) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM local_migrations`)
	if err != nil {
		return fmt.Errorf("verify: %s does not look like a Kavach node: %w", dir, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return fmt.Errorf("verify: %w", err)
		}
		have[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	ms, _, err := gather(services)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !have[m.Name] {
			return fmt.Errorf("verify: the node in %s was last run by an older kavach (migration %s has not run on it): start 'kavach serve --data %s' once, so that it upgrades, then verify again", dir, m.Name, dir)
		}
		delete(have, m.Name)
	}
	for name := range have {
		return fmt.Errorf("verify: the node in %s was run by a newer kavach (migration %s is unknown to this one): verify it with that version", dir, name)
	}
	return nil
}

// scratchDir is where a replay's database goes: dir if given, else memory
// when the system has it (the copy is thrown away, and writing it to disk
// only makes the replay wait on the disk), else the temp directory.
func scratchDir(dir string) string {
	if dir != "" {
		return dir
	}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		return "/dev/shm"
	}
	return ""
}

// checkTree rebuilds the Merkle tree from the leaf tiles (and the unfilled
// tile's leaf hashes) and checks every checkpoint, the stored interior nodes
// and the state row against it.
func checkTree(ctx context.Context, db journal.DBTX, rep *Report) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cps, err := loadCheckpoints(ctx, db)
	if err != nil {
		return err
	}
	rep.Checkpoints = len(cps)
	code, origin := ownOrigin(ctx, db, rep)
	// The tree is built from the leaf hashes in the tiles; the full check
	// re-hashes every event's bytes as it replays them.
	keyAt, err := loadKeyEvents(ctx, db, code, rep)
	if err != nil {
		return err
	}
	in := make(chan leafChunk, 8)
	defer func() {
		// If this returns early, stop the reader and wait for it: it reads
		// through the caller's connection.
		cancel()
		for range in {
		}
	}()
	go readLeaves(ctx, db, in)

	tc := newTreeCheck(rep, cps, origin, keyAt)
	stopped, err := tc.build(in)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.Events = tc.next
	if k := len(tc.unmatched); k > 1 {
		rep.fault("and the %d checkpoints after it, at sizes %d to %d, do not match the events either", k-1, tc.unmatched[1], tc.unmatched[k-1])
	}
	if stopped {
		return nil // the events do not follow on: nothing after can be judged
	}
	if tc.ci < len(cps) {
		rep.fault("checkpoint at size %d: beyond the journal's %d events (events were removed)", cps[tc.ci].size, tc.next)
	}
	root := journal.EmptyRoot()
	if tc.next > 0 {
		root, _ = tc.rng.GetRootHash(nil)
	}
	// As a checkpoint writes it (its third line), so the two can be compared.
	rep.Root = base64.StdEncoding.EncodeToString(root)

	// The stored interior nodes and the state row must agree with the events.
	if err := tc.checkStoredNodes(ctx, db); err != nil {
		return err
	}
	checkState(ctx, db, rep, tc.next, root)
	return nil
}

// cpRow is a stored checkpoint as the tree check reads it.
type cpRow struct {
	size uint64
	root []byte
	note []byte
}

// loadCheckpoints reads the stored checkpoints, smallest first: the order in
// which the rebuilt tree reaches them.
func loadCheckpoints(ctx context.Context, db journal.DBTX) ([]cpRow, error) {
	var cps []cpRow
	rows, err := db.QueryContext(ctx, `SELECT size, root, note FROM journal_checkpoints ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("verify: checkpoints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cpRow
		if err := rows.Scan(&c.size, &c.root, &c.note); err != nil {
			return nil, err
		}
		cps = append(cps, c)
	}
	return cps, nil
}

// ownOrigin returns the node's code and the origin its checkpoints name. A
// node without them is a fault, not an error: the tree can still be checked.
func ownOrigin(ctx context.Context, db journal.DBTX, rep *Report) (code, origin string) {
	code, err := OwnCode(ctx, db)
	if err == nil {
		err = db.QueryRowContext(ctx, `SELECT origin FROM nodes WHERE code = ?`, code).Scan(&origin)
	}
	if err != nil {
		rep.fault("nodes: the node's identity is missing: %v", err)
	}
	return code, origin
}

// loadKeyEvents returns the node's keys by the index of the node.key_added
// event that journaled each. The keys come from the events themselves, each
// checked against its leaf, not from the projection that lists them.
func loadKeyEvents(ctx context.Context, db journal.DBTX, code string, rep *Report) (map[uint64]string, error) {
	keyAt := map[uint64]string{}
	rows, err := db.QueryContext(ctx, `SELECT k.seq - 1, e.data, e.leaf FROM origin_keys k JOIN journal_events e ON e.idx = k.seq - 1 WHERE k.node = ?`, code)
	if err != nil {
		return nil, fmt.Errorf("verify: keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var idx uint64
		var data, leaf []byte
		if err := rows.Scan(&idx, &data, &leaf); err != nil {
			return nil, err
		}
		e, err := journal.Decode(data)
		if err != nil || e.Type != "node.key_added" || !bytes.Equal(journal.LeafHash(data), leaf) {
			rep.fault("event %d: origin_keys names it as a key event, but it is not one", idx)
			continue
		}
		keyAt[idx] = jsonString(e.Payload, "verifier")
	}
	return keyAt, nil
}

// leafChunk is what the leaf reader sends: leaf hashes from an index, or a
// fault, or the error that ended it.
type leafChunk struct {
	from   uint64
	hashes []byte
	note   string // a fault; the reader goes on
	stop   string // a fault; the reader stopped
	err    error  // the database failed
}

// leafReader reads the leaf hashes for the tree check beside it.
type leafReader struct {
	ctx context.Context
	db  journal.DBTX
	in  chan<- leafChunk
}

// readLeaves sends every event's leaf hash to in and closes it. They go a
// tile at a time, then those of the last, unfilled tile from their events. A
// tile that is missing or damaged is noted and its leaf hashes are read from
// its events instead.
func readLeaves(ctx context.Context, db journal.DBTX, in chan<- leafChunk) {
	defer close(in)
	r := leafReader{ctx: ctx, db: db, in: in}
	var top sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(idx) FROM journal_events`).Scan(&top); err != nil {
		r.send(leafChunk{err: err})
		return
	}
	var n uint64 // one past the highest event index
	if top.Valid {
		n = uint64(top.Int64) + 1
	}
	full := n / journal.TileSize
	if r.fullTiles(full) {
		r.lastTile(full, n)
	}
}

// send passes l on; false if the tree check stopped listening.
func (r leafReader) send(l leafChunk) bool {
	select {
	case r.in <- l:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// fullTiles sends the leaf hashes of tiles [0, full); false if the reader
// stopped.
func (r leafReader) fullTiles(full uint64) bool {
	const chunk = 64 // tiles a query
	for t0 := uint64(0); t0 < full; t0 += chunk {
		t1 := min(t0+chunk, full)
		got, err := readTiles(r.ctx, r.db, t0, t1)
		if err != nil {
			r.send(leafChunk{err: err})
			return false
		}
		for t := t0; t < t1; t++ {
			hs, ok := got[t]
			if !ok || len(hs) != journal.TileSize*32 {
				if hs, ok = r.replaceTile(t, hs, ok); !ok {
					return false
				}
			}
			if !r.send(leafChunk{from: t * journal.TileSize, hashes: hs}) {
				return false
			}
		}
	}
	return true
}

// replaceTile notes that tile t is missing (!stored) or damaged (stored as
// hs) and reads its leaf hashes from its events instead; false if the reader
// stopped.
func (r leafReader) replaceTile(t uint64, hs []byte, stored bool) ([]byte, bool) {
	what := "missing"
	if stored {
		what = fmt.Sprintf("damaged (%d bytes)", len(hs))
	}
	if !r.send(leafChunk{note: fmt.Sprintf("journal tile %d: %s", t, what)}) {
		return nil, false
	}
	hs, stop, err := leafColumn(r.ctx, r.db, t*journal.TileSize, (t+1)*journal.TileSize)
	if err != nil || stop != "" {
		r.send(leafChunk{stop: stop, err: err})
		return nil, false
	}
	return hs, true
}

// lastTile notes a tile stored beyond the full ones and sends the leaf
// hashes of the last, unfilled tile [full, n) from its events.
func (r leafReader) lastTile(full, n uint64) {
	var beyond sql.NullInt64
	if err := r.db.QueryRowContext(r.ctx, `SELECT min(idx) FROM journal_tiles WHERE idx >= ?`, full).Scan(&beyond); err != nil {
		r.send(leafChunk{err: err})
		return
	}
	if beyond.Valid {
		if !r.send(leafChunk{note: fmt.Sprintf("journal tile %d: beyond the journal's %d events (added?)", beyond.Int64, n)}) {
			return
		}
	}
	hs, stop, err := leafColumn(r.ctx, r.db, full*journal.TileSize, n)
	if err != nil || stop != "" {
		r.send(leafChunk{stop: stop, err: err})
		return
	}
	r.send(leafChunk{from: full * journal.TileSize, hashes: hs})
}

// treeCheck rebuilds the tree a leaf hash at a time and meets each
// checkpoint at its size.
type treeCheck struct {
	rep       *Report
	cps       []cpRow
	ci        int // the next checkpoint to meet
	origin    string
	keyAt     map[uint64]string
	verifiers []note.Verifier // the node's keys journaled so far, old first
	rng       *compact.Range
	stored    map[compact.NodeID][]byte // the interior nodes the node stores
	next      uint64                    // leaves so far

	// The first checkpoint whose root does not match brackets the change
	// with the last one that did; every later root differs for the same
	// reason, and they are counted, not listed.
	matched    uint64
	anyMatched bool
	unmatched  []uint64
}

func newTreeCheck(rep *Report, cps []cpRow, origin string, keyAt map[uint64]string) *treeCheck {
	rf := &compact.RangeFactory{Hash: func(l, r []byte) []byte { return journal.HashChildren(l, r) }}
	return &treeCheck{
		rep:    rep,
		cps:    cps,
		origin: origin,
		keyAt:  keyAt,
		rng:    rf.NewEmptyRange(0),
		stored: map[compact.NodeID][]byte{},
	}
}

// visit keeps the interior nodes the journal stores: every fourth level.
func (tc *treeCheck) visit(id compact.NodeID, h []byte) {
	if id.Level > 0 && id.Level%4 == 0 {
		tc.stored[id] = h
	}
}

// build takes in the reader's leaf hashes until it closes in, noting its
// faults. stopped says it stopped at one, after which the events do not
// follow on.
func (tc *treeCheck) build(in <-chan leafChunk) (stopped bool, err error) {
	visit := tc.visit // bound once, not once a leaf
	var readErr error
	for b := range in {
		switch {
		case b.err != nil:
			readErr, stopped = b.err, true
		case b.stop != "":
			tc.rep.fault("%s", b.stop)
			stopped = true
		case b.note != "":
			tc.rep.fault("%s", b.note)
		}
		if stopped {
			continue // drain; the reader has stopped
		}
		for i := 0; i < len(b.hashes); i += 32 {
			if err := tc.add(b.hashes[i:i+32], visit); err != nil {
				return stopped, err
			}
		}
	}
	if readErr != nil {
		return stopped, fmt.Errorf("verify: journal: %w", readErr)
	}
	return stopped, nil
}

// add appends the next event's leaf hash, takes in the node key the event
// journaled, if any, and checks the checkpoints at the new size.
func (tc *treeCheck) add(h []byte, visit func(compact.NodeID, []byte)) error {
	if err := tc.rng.Append(h, visit); err != nil {
		return err
	}
	idx := tc.next
	tc.next++
	if key, ok := tc.keyAt[idx]; ok {
		v, err := note.NewVerifier(key)
		if err != nil {
			tc.rep.fault("event %d: node key is not valid: %v", idx, err)
		} else {
			tc.verifiers = append(tc.verifiers, v)
		}
	}
	if tc.ci < len(tc.cps) && tc.cps[tc.ci].size == tc.next {
		tc.checkCheckpoints(tc.next)
	}
	return nil
}

// checkCheckpoints checks the checkpoints at size against the tree so far:
// their root, then their signature.
func (tc *treeCheck) checkCheckpoints(size uint64) {
	for tc.ci < len(tc.cps) && tc.cps[tc.ci].size == size {
		c := tc.cps[tc.ci]
		tc.ci++
		root, _ := tc.rng.GetRootHash(nil)
		if size == 0 {
			root = journal.EmptyRoot()
		}
		if !bytes.Equal(root, c.root) {
			tc.unmatchedRoot(size)
			continue
		}
		if len(tc.unmatched) == 0 {
			tc.matched, tc.anyMatched = size, true
		}
		tc.checkSignature(c, size)
	}
}

// unmatchedRoot notes a checkpoint whose root the events do not give; the
// first one is a fault that brackets the change (see treeCheck).
func (tc *treeCheck) unmatchedRoot(size uint64) {
	if len(tc.unmatched) == 0 {
		which := fmt.Sprintf("one of events %d to %d", tc.matched, size-1)
		if size-1 == tc.matched {
			which = fmt.Sprintf("event %d", tc.matched)
		}
		before := "no checkpoint before it does"
		if tc.anyMatched {
			before = fmt.Sprintf("the one at size %d does", tc.matched)
		}
		tc.rep.fault("checkpoint at size %d: its root does not match the events, and %s: %s, or its leaf hash, was changed", size, before, which)
	}
	tc.unmatched = append(tc.unmatched, size)
}

// checkSignature checks that checkpoint c, whose root matched, was signed
// by the node's key of the time; then the events up to size are proven.
func (tc *treeCheck) checkSignature(c cpRow, size uint64) {
	vs := tc.verifiers
	if len(vs) == 0 {
		tc.rep.fault("checkpoint at size %d: no node key was journaled before it", size)
		return
	}
	cp, err := journal.OpenCheckpoint(c.note, tc.origin, vs[len(vs)-1])
	if err != nil && len(vs) > 1 {
		// Signed just before a key change took effect.
		cp, err = journal.OpenCheckpoint(c.note, tc.origin, vs[len(vs)-2])
	}
	switch {
	case err != nil:
		tc.rep.fault("checkpoint at size %d: signature does not verify: %v", size, err)
	case cp.Size != size || !bytes.Equal(cp.Hash, c.root):
		tc.rep.fault("checkpoint at size %d: the signed note says size %d and another root", size, cp.Size)
	default:
		tc.rep.proven = size
	}
}

// checkStoredNodes compares the interior nodes the journal stores with
// those the rebuilt tree visited.
func (tc *treeCheck) checkStoredNodes(ctx context.Context, db journal.DBTX) error {
	rows, err := db.QueryContext(ctx, `SELECT level, idx, hash FROM journal_nodes ORDER BY level, idx`)
	if err != nil {
		return fmt.Errorf("verify: nodes: %w", err)
	}
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var id compact.NodeID
		var h []byte
		if err := rows.Scan(&id.Level, &id.Index, &h); err != nil {
			return err
		}
		seen++
		if want, ok := tc.stored[id]; !ok || !bytes.Equal(want, h) {
			tc.rep.fault("journal node %d/%d: does not match the events", id.Level, id.Index)
		}
	}
	if seen != len(tc.stored) {
		tc.rep.fault("journal nodes: %d stored, %d expected", seen, len(tc.stored))
	}
	return nil
}

// checkState compares the journal's state row with the events: size events
// whose tree has root.
func checkState(ctx context.Context, db journal.DBTX, rep *Report, size uint64, root []byte) {
	st, err := journal.LoadState(ctx, db)
	if err != nil {
		rep.fault("journal state: %v", err)
	} else if st.Size != size {
		rep.fault("journal state: says %d events, the journal has %d", st.Size, size)
	} else if !bytes.Equal(st.Root(), root) {
		rep.fault("journal state: its root does not match the events")
	}
}

// readTiles returns the tiles [from, to) that are there, by index.
func readTiles(ctx context.Context, db journal.DBTX, from, to uint64) (map[uint64][]byte, error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, leaves FROM journal_tiles WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[uint64][]byte{}
	for rows.Next() {
		var t uint64
		var hs []byte
		if err := rows.Scan(&t, &hs); err != nil {
			return nil, err
		}
		got[t] = hs
	}
	return got, rows.Err()
}

// leafColumn returns the leaf hashes of events [from, to) from their rows,
// or the fault that stops the tree check: an event missing, or a leaf hash
// that is not one.
func leafColumn(ctx context.Context, db journal.DBTX, from, to uint64) (hashes []byte, stop string, err error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, leaf FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	hashes = make([]byte, 0, (to-from)*32)
	next := from
	for rows.Next() {
		var idx uint64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, "", err
		}
		if idx != next {
			return nil, fmt.Sprintf("event %d: missing (found %d next)", next, idx), nil
		}
		if len(leaf) != 32 {
			return nil, fmt.Sprintf("event %d: its leaf hash is damaged", idx), nil
		}
		hashes = append(hashes, leaf...)
		next++
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if next != to {
		return nil, fmt.Sprintf("event %d: missing", next), nil
	}
	return hashes, "", nil
}

var jsonUnmarshal = json.Unmarshal

func jsonString(payload []byte, key string) string {
	var m map[string]any
	if err := jsonUnmarshal(payload, &m); err != nil {
		return ""
	}
	s, _ := m[key].(string)
	return s
}

// projectionTables lists the tables a replay rebuilds: all but the journal's
// and the node's local bookkeeping.
func projectionTables(ctx context.Context, db journal.DBTX, schema string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name FROM `+schema+`.sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'journal\_%' ESCAPE '\' AND name NOT LIKE 'local\_%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []string
	for rows.Next() {
		var t string
		rows.Scan(&t)
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// checkProjections replays the journal read through db into the database at
// scratch, attached to db as "replay", and compares every projection table.
func checkProjections(ctx context.Context, db journal.DBTX, services []Service, scratch string, rep *Report) error {
	if err := Replay(ctx, db, scratch, services, rep.proven, func(idx uint64, err error) {
		var f fault
		if errors.As(err, &f) {
			rep.fault("%s", f)
		} else {
			rep.fault("event %d: %v", idx, err)
		}
	}); err != nil {
		return err
	}
	// The tables are compared even after a faulty event: which rows differ
	// shows what the change touched.
	live, err := projectionTables(ctx, db, "main")
	if err != nil {
		return err
	}
	replayed, err := projectionTables(ctx, db, "replay")
	if err != nil {
		return err
	}
	if strings.Join(live, ",") != strings.Join(replayed, ",") {
		rep.fault("projection tables differ: live %v, replay %v", live, replayed)
		return nil
	}
	// A row that a faulty event's projector would have written, or that
	// one left out of the replay wrote, may differ for that reason alone.
	cause := ""
	if len(rep.Faults) > 0 {
		cause = ", or an event named above was changed"
	}
	for _, t := range live {
		if err := compareTable(ctx, db, t, cause, rep); err != nil {
			return err
		}
	}
	return nil
}

// compareTable reports the first row of table t that the live database and
// the replay disagree on, each way. A row that both hold under the same
// primary key is named by its key with the columns that differ.
func compareTable(ctx context.Context, db journal.DBTX, t, cause string, rep *Report) error {
	pk, err := primaryKey(ctx, db, t)
	if err != nil {
		return fmt.Errorf("verify: compare %s: %w", t, err)
	}
	var changed string // the key of the row reported as changed
	for _, dir := range [][2]string{{"main", "replay"}, {"replay", "main"}} {
		cols, vals, err := firstRow(ctx, db, fmt.Sprintf(`SELECT * FROM %s.%s EXCEPT SELECT * FROM %s.%s ORDER BY 1 LIMIT 1`,
			dir[0], quoteIdent(t), dir[1], quoteIdent(t)))
		if err != nil {
			return fmt.Errorf("verify: compare %s: %w", t, err)
		}
		if cols == nil {
			continue
		}
		var other []any // the same key's row on the other side
		if len(pk) > 0 {
			var where []string
			var args []any
			for _, k := range pk {
				where = append(where, quoteIdent(cols[k])+" = ?")
				args = append(args, vals[k])
			}
			_, other, err = firstRow(ctx, db, fmt.Sprintf(`SELECT * FROM %s.%s WHERE %s`, dir[1], quoteIdent(t), strings.Join(where, " AND ")), args...)
			if err != nil {
				return fmt.Errorf("verify: compare %s: %w", t, err)
			}
		}
		switch {
		case other != nil:
			key := describeKey(cols, vals, pk)
			if key == changed {
				continue // reported from the other side
			}
			changed = key
			live, replayed := vals, other
			if dir[0] == "replay" {
				live, replayed = other, vals
			}
			rep.fault("table %s: row %s was changed%s: %s", t, key, cause, describeDiff(cols, live, replayed))
		case dir[0] == "main" && len(pk) > 0:
			rep.fault("table %s: row %s is not in the journal's replay (the row was added%s)", t, describeRow(cols, vals), cause)
		case dir[0] == "main":
			rep.fault("table %s: row %s differs from the journal's replay (the row was changed or added%s)", t, describeRow(cols, vals), cause)
		case len(pk) > 0:
			rep.fault("table %s: row %s from the journal's replay is missing (the row was deleted%s)", t, describeRow(cols, vals), cause)
		default:
			rep.fault("table %s: row %s from the journal's replay is missing or different%s", t, describeRow(cols, vals), cause)
		}
	}
	return nil
}

// primaryKey returns the positions of table t's primary key columns among
// its columns, in key order.
func primaryKey(ctx context.Context, db journal.DBTX, t string) ([]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT cid FROM pragma_table_info(?, 'main') WHERE pk > 0 ORDER BY pk`, t)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pk []int
	for rows.Next() {
		var c int
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		pk = append(pk, c)
	}
	return pk, rows.Err()
}

// firstRow returns the columns and values of q's first row, nil if none.
func firstRow(ctx context.Context, db journal.DBTX, q string, args ...any) ([]string, []any, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, nil, rows.Err()
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	return cols, vals, nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// fault is a fault that is not about one event's bytes, such as a changed
// tile, passed to a replay's onFault to be reported as it is.
type fault string

func (f fault) Error() string { return string(f) }

func describeRow(cols []string, vals []any) string {
	var parts []string
	for i, c := range cols {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, c+"="+describeValue(vals[i]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// describeKey names a row by its primary key columns.
func describeKey(cols []string, vals []any, pk []int) string {
	var parts []string
	for _, k := range pk {
		parts = append(parts, cols[k]+"="+quoteValue(vals[k], 0))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// describeDiff names the columns in which the live row and the replay's differ.
func describeDiff(cols []string, live, replayed []any) string {
	var parts []string
	for i, c := range cols {
		if a, b := describeValue(live[i]), describeValue(replayed[i]); a != b {
			parts = append(parts, fmt.Sprintf("%s is %s, the journal's replay has %s", c, a, b))
		}
	}
	return strings.Join(parts, "; ")
}

// describeValue shows a column's value in a fault: text quoted and cut short,
// bytes that are not text in hex.
func describeValue(v any) string { return quoteValue(v, 60) }

// quoteValue shows a value, text cut at max characters (0: whole, as a key
// must be, to be found again).
func quoteValue(v any, max int) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		if utf8.Valid(x) {
			return quoteValue(string(x), max)
		}
		if max > 0 && len(x) > 16 {
			return fmt.Sprintf("x'%x…' (%d bytes)", x[:16], len(x))
		}
		return fmt.Sprintf("x'%x'", x)
	case string:
		if r := []rune(x); max > 0 && len(r) > max {
			x = string(r[:max]) + "…"
		}
		return strconv.Quote(x)
	default:
		return fmt.Sprint(x)
	}
}

// Replay rebuilds the projections of the journal in db into a new database at
// path. A fault in an event is passed to onFault and the replay goes on; an
// error reading db ends it.
//
// proven is the number of events whose leaf hashes (tiles) a signed checkpoint
// proves, as the tree check found: an event below it that does not match its
// tile was changed, whatever its leaf hash column says.
func Replay(ctx context.Context, db journal.DBTX, path string, services []Service, proven uint64, onFault func(uint64, error)) error {
	sdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	sdb.SetMaxOpenConns(2) // see Open: one for the transaction, one to prepare on
	defer sdb.Close()
	// Secondary indexes do not change what a table holds; leaving them out
	// makes the replay faster.
	n, _, err := bulkNode(ctx, sdb, services)
	if err != nil {
		return fmt.Errorf("verify: scratch schema: %w", err)
	}
	defer n.closeStmts()
	type item = replayItem
	items := make(chan []item, 8)
	ds := n.types
	var readErr error // set before items closes
	var stuck []string
	var stuckMu sync.Mutex
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		// If this returns early, stop the reader and wait for it: it reads
		// through the caller's connection.
		cancel()
		for range items {
		}
	}()
	ownCode, err := OwnCode(ctx, db)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	go func() {
		defer close(items)
		self := ownCode
		applied, err := replicaApplied(ctx, db)
		if err != nil {
			readErr = err
			return
		}
		own, err := ownStream(ctx, db, self, proven, ds)
		if err != nil {
			readErr = err
			return
		}
		streams := []*stream{own}
		for _, o := range mergeOrder(self, applied)[1:] {
			streams = append(streams, replicaStream(ctx, db, o, applied[o], ds))
		}
		readErr = mergeCausal(streams, func(b []replayItem) bool {
			select {
			case items <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}, func(string) bool { return true }, func(origin string, idx uint64, have map[string]uint64) {
			stuckMu.Lock()
			stuck = append(stuck, fmt.Sprintf("%s's event %d waits for events this node does not hold (%v): replayed without them", origin, idx, have))
			stuckMu.Unlock()
		})
	}()
	stx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer stx.Rollback()
	tx := &Tx{ctx: ctx, n: n, sql: stx, raised: map[string]int64{}}
	for b := range items {
		for _, it := range b {
			if it.err != nil {
				onFault(it.idx, it.err)
				if it.e == nil {
					continue
				}
			}
			tx.Now, tx.Actor = it.e.Time, it.e.Actor
			if err := tx.Apply(it.e); err != nil {
				if it.e.Seq != it.idx+1 || it.e.Origin != ownCode {
					onFault(it.idx, fault(fmt.Sprintf("%s's event %d: replaying %s: %v", it.e.Origin, it.idx, it.e.Type, err)))
				} else {
					onFault(it.idx, fmt.Errorf("replaying %s: %w", it.e.Type, err))
				}
			}
		}
	}
	if readErr != nil {
		return fmt.Errorf("verify: journal: %w", readErr)
	}
	for _, f := range stuck {
		onFault(0, fault(f))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := tx.writeRaised(); err != nil {
		return err
	}
	return stx.Commit()
}

// ownStream reads the node's own journal for a replay, a tile at a time:
// each event is checked against its leaf hash and its tile (readEvents).
func ownStream(ctx context.Context, db journal.DBTX, self string, proven uint64, ds map[string]*eventType) (*stream, error) {
	var top sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT max(idx) FROM journal_events`).Scan(&top); err != nil {
		return nil, err
	}
	var n uint64 // one past the highest event index
	if top.Valid {
		n = uint64(top.Int64) + 1
	}
	from := uint64(0)
	return &stream{origin: self, read: func() ([]replayItem, error) {
		if from >= n {
			return nil, nil
		}
		var tile []byte
		if from+journal.TileSize <= n {
			err := db.QueryRowContext(ctx, `SELECT leaves FROM journal_tiles WHERE idx = ?`, from/journal.TileSize).Scan(&tile)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			if len(tile) != journal.TileSize*32 {
				tile = nil // missing or damaged: the tree check names it
			}
		}
		buf, err := readEvents(ctx, db, from, min(from+journal.TileSize, n), tile, proven, ds)
		from += journal.TileSize
		return buf, err
	}}, nil
}

// readEvents reads and decodes events [from, to), which tile holds (nil if
// it is not full yet, missing or damaged: the tree check then read the leaf
// hash column instead). Each event's hash is compared with its leaf hash
// column and with the tile:
//
//   - below proven, the tile (or the column) is as the node signed it: an
//     event that does not match it was changed (even if its leaf hash was
//     changed to match), and one that matches the tile with another leaf
//     hash had its leaf hash changed;
//   - above, with no signed checkpoint yet: an event that matches neither was
//     changed; one that matches only its tile had its leaf hash changed; one
//     that matches only its leaf hash disagrees with its tile, and either may
//     have been changed; with no tile, one that does not match its leaf hash
//     may be changed, or its leaf hash.
//
// An event that was not there, or is not sound, comes with its fault and no
// event; one whose fault may be its leaf hash alone comes with the event too.
func readEvents(ctx context.Context, db journal.DBTX, from, to uint64, tile []byte, proven uint64, ds map[string]*eventType) ([]replayItem, error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, data, leaf FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	buf := make([]replayItem, 0, to-from)
	next := from
	missing := func(upTo uint64) {
		for ; next < upTo; next++ {
			buf = append(buf, replayItem{idx: next, err: errors.New("missing (its row was deleted)")})
		}
	}
	t := from / journal.TileSize
	for rows.Next() {
		var it replayItem
		var data, leaf []byte
		if err := rows.Scan(&it.idx, &data, &leaf); err != nil {
			return nil, err
		}
		missing(it.idx)
		next = it.idx + 1
		h := journal.LeafHash(data)
		leafOK := bytes.Equal(h, leaf)
		signed := it.idx < proven
		// The leaf hash the tree check used: the tile's, or, where it had
		// none (the last tile, not full yet, or one it found damaged), the
		// leaf column's.
		proofOK := leafOK
		if tile != nil {
			proofOK = bytes.Equal(h, tile[(it.idx-from)*32:(it.idx-from+1)*32])
		}
		var bad error // the event is not sound
		switch {
		case signed && !proofOK:
			bad = errors.New("its bytes do not match the leaf hash that the signed checkpoints prove (the event was changed)")
		case tile == nil && !leafOK:
			// The bytes may be the node's (a leaf hash changed breaks the
			// checkpoints too): the event is named and replayed.
			it.err = fault(fmt.Sprintf("event %d: its bytes do not match its leaf hash, and no checkpoint that verifies covers it: the event or its leaf hash was changed", it.idx))
		case !leafOK && !proofOK:
			bad = errors.New("its bytes do not match its leaf hash (the event was changed)")
		case !proofOK:
			bad = fault(fmt.Sprintf("event %d and journal tile %d disagree on its leaf hash, and no signed checkpoint covers it yet: the event and its leaf hash, or the tile, were changed", it.idx, t))
		case !leafOK:
			it.err = fault(fmt.Sprintf("event %d: its leaf hash was changed (the event matches journal tile %d)", it.idx, t))
		}
		if bad != nil {
			it.err = bad
			buf = append(buf, it)
			continue
		}
		e, err := decodeEvent(ds, data)
		if err != nil {
			if it.err != nil {
				err = fmt.Errorf("%w; and %w", it.err, err)
			}
			it.err = err
		} else {
			e.Index = it.idx
			it.e = e
		}
		buf = append(buf, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	missing(to)
	return buf, nil
}

type replayItem struct {
	idx uint64
	e   *journal.Event
	err error
}

// dropIndexes drops the secondary indexes that the migrations made in db and
// returns the statements that make them again. A bulk load is faster without
// them, and a replay's comparison does not need them. Unique indexes stay:
// they can change what an insert does.
func dropIndexes(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var names, stmts []string
	for rows.Next() {
		var name, stmt string
		if err := rows.Scan(&name, &stmt); err != nil {
			rows.Close()
			return nil, err
		}
		names, stmts = append(names, name), append(stmts, stmt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX `+quoteIdent(name)); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}
