package node

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
)

// Report is what verify found.
type Report struct {
	OK          bool     `json:"ok"`
	Events      uint64   `json:"events"`
	Root        string   `json:"root"`
	Checkpoints int      `json:"checkpoints"`
	Faults      []string `json:"faults"`
	// Seconds spent on the Merkle tree and signatures, and on the replay.
	MerkleSeconds float64 `json:"merkle_seconds"`
	ReplaySeconds float64 `json:"replay_seconds"`
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
func Verify(ctx context.Context, dir string, services []Service, opt VerifyOptions) (*Report, error) {
	path := DBPath(dir)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no Kavach node in %s (start one with 'kavach serve --data %s')", dir, dir)
	}
	db, err := OpenDB(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rep := &Report{OK: true, Faults: []string{}}
	start := time.Now()
	if err := checkTree(ctx, db, rep); err != nil {
		return nil, err
	}
	rep.MerkleSeconds = time.Since(start).Seconds()
	if opt.SkipReplay {
		return rep, nil
	}
	start = time.Now()
	if err := checkProjections(ctx, db, services, opt.ScratchDir, rep); err != nil {
		return nil, err
	}
	rep.ReplaySeconds = time.Since(start).Seconds()
	return rep, nil
}

func checkTree(ctx context.Context, db *sql.DB, rep *Report) error {
	type cpRow struct {
		size uint64
		root []byte
		note []byte
	}
	var cps []cpRow
	rows, err := db.QueryContext(ctx, `SELECT size, root, note FROM journal_checkpoints ORDER BY size`)
	if err != nil {
		return fmt.Errorf("verify: checkpoints: %w", err)
	}
	for rows.Next() {
		var c cpRow
		if err := rows.Scan(&c.size, &c.root, &c.note); err != nil {
			rows.Close()
			return err
		}
		cps = append(cps, c)
	}
	rows.Close()
	rep.Checkpoints = len(cps)
	var origin string
	if err := db.QueryRowContext(ctx, `SELECT origin FROM node_info WHERE id = 1`).Scan(&origin); err != nil {
		rep.fault("node_info: the node's identity is missing: %v", err)
	}

	// The tree is built from the stored leaf hashes; the full check re-hashes
	// every event's bytes as it replays them. The node's keys come from its
	// node.key_added events, each read and checked against its leaf.
	keyAt := map[uint64]string{}
	krows, err := db.QueryContext(ctx, `SELECT k.from_idx, e.data, e.leaf FROM node_keys k JOIN journal_events e ON e.idx = k.from_idx`)
	if err != nil {
		return fmt.Errorf("verify: keys: %w", err)
	}
	for krows.Next() {
		var idx uint64
		var data, leaf []byte
		if err := krows.Scan(&idx, &data, &leaf); err != nil {
			krows.Close()
			return err
		}
		e, err := journal.Decode(data)
		if err != nil || e.Type != "node.key_added" || !bytes.Equal(journal.LeafHash(data), leaf) {
			rep.fault("event %d: node_keys names it as a key event, but it is not one", idx)
			continue
		}
		keyAt[idx] = jsonString(e.Payload, "verifier")
	}
	krows.Close()
	// Leaf hashes arrive a tile at a time, then those of the last, unfilled
	// tile from their events.
	type leaves struct {
		from   uint64
		hashes []byte
		fault  string // the reader stopped here
	}
	in := make(chan leaves, 8)
	var tiles uint64
	go func() {
		defer close(in)
		fail := func(format string, args ...any) { in <- leaves{fault: fmt.Sprintf(format, args...)} }
		rows, err := db.QueryContext(ctx, `SELECT idx, leaves FROM journal_tiles ORDER BY idx`)
		if err != nil {
			fail("journal_tiles: %v", err)
			return
		}
		for rows.Next() {
			var t uint64
			var hs []byte
			if err := rows.Scan(&t, &hs); err != nil {
				fail("journal_tiles: %v", err)
				break
			}
			if t != tiles || len(hs) != journal.TileSize*32 {
				fail("journal tile %d: missing or damaged", tiles)
				break
			}
			in <- leaves{from: tiles * journal.TileSize, hashes: hs}
			tiles++
		}
		rows.Close()
		rows, err = db.QueryContext(ctx, `SELECT idx, leaf FROM journal_events WHERE idx >= ? ORDER BY idx`, tiles*journal.TileSize)
		if err != nil {
			fail("journal_events: %v", err)
			return
		}
		defer rows.Close()
		from := tiles * journal.TileSize
		var hs []byte
		for rows.Next() {
			var idx uint64
			var leaf []byte
			if err := rows.Scan(&idx, &leaf); err != nil {
				fail("journal_events: %v", err)
				return
			}
			if idx != from+uint64(len(hs)/32) {
				fail("event %d: missing (found %d next)", from+uint64(len(hs)/32), idx)
				break
			}
			if len(leaf) != 32 {
				fail("event %d: its leaf hash is damaged", idx)
				break
			}
			hs = append(hs, leaf...)
		}
		in <- leaves{from: from, hashes: hs}
	}()

	rf := &compact.RangeFactory{Hash: func(l, r []byte) []byte { return journal.HashChildren(l, r) }}
	rng := rf.NewEmptyRange(0)
	stored := map[compact.NodeID][]byte{}
	visit := func(id compact.NodeID, h []byte) {
		if id.Level > 0 && id.Level%4 == 0 {
			stored[id] = h
		}
	}
	var verifiers []note.Verifier
	var next uint64
	ci := 0
	checkCP := func(size uint64) {
		for ci < len(cps) && cps[ci].size == size {
			c := cps[ci]
			ci++
			root, _ := rng.GetRootHash(nil)
			if size == 0 {
				root = journal.EmptyRoot()
			}
			if !bytes.Equal(root, c.root) {
				rep.fault("checkpoint at size %d: its root does not match the events", size)
				continue
			}
			if len(verifiers) == 0 {
				rep.fault("checkpoint at size %d: no node key was journaled before it", size)
				continue
			}
			cp, err := journal.OpenCheckpoint(c.note, origin, verifiers[len(verifiers)-1])
			if err != nil && len(verifiers) > 1 {
				// Signed just before a key change took effect.
				cp, err = journal.OpenCheckpoint(c.note, origin, verifiers[len(verifiers)-2])
			}
			switch {
			case err != nil:
				rep.fault("checkpoint at size %d: signature does not verify: %v", size, err)
			case cp.Size != size || !bytes.Equal(cp.Hash, c.root):
				rep.fault("checkpoint at size %d: the signed note says size %d and another root", size, cp.Size)
			}
		}
	}
	for b := range in {
		if b.fault != "" {
			rep.fault("%s", b.fault)
		}
		if !rep.OK {
			continue // drain; the reader stopped
		}
		for i := 0; i < len(b.hashes); i += 32 {
			if err := rng.Append(b.hashes[i:i+32], visit); err != nil {
				return err
			}
			idx := next
			next++
			if key, ok := keyAt[idx]; ok {
				v, err := note.NewVerifier(key)
				if err != nil {
					rep.fault("event %d: node key is not valid: %v", idx, err)
				} else {
					verifiers = append(verifiers, v)
				}
			}
			if ci < len(cps) && cps[ci].size == next {
				checkCP(next)
			}
		}
	}
	if !rep.OK {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	rep.Events = next
	if tiles != next/journal.TileSize {
		rep.fault("journal tiles: %d stored, %d expected", tiles, next/journal.TileSize)
	}
	if ci < len(cps) {
		rep.fault("checkpoint at size %d: beyond the journal's %d events (events were removed)", cps[ci].size, next)
	}
	root := journal.EmptyRoot()
	if next > 0 {
		root, _ = rng.GetRootHash(nil)
	}
	rep.Root = fmt.Sprintf("%x", root)

	// The stored interior nodes and the state row must agree with the events.
	nrows, err := db.QueryContext(ctx, `SELECT level, idx, hash FROM journal_nodes ORDER BY level, idx`)
	if err != nil {
		return fmt.Errorf("verify: nodes: %w", err)
	}
	seen := 0
	for nrows.Next() {
		var id compact.NodeID
		var h []byte
		if err := nrows.Scan(&id.Level, &id.Index, &h); err != nil {
			nrows.Close()
			return err
		}
		seen++
		if want, ok := stored[id]; !ok || !bytes.Equal(want, h) {
			rep.fault("journal node %d/%d: does not match the events", id.Level, id.Index)
		}
	}
	nrows.Close()
	if seen != len(stored) {
		rep.fault("journal nodes: %d stored, %d expected", seen, len(stored))
	}
	st, err := journal.LoadState(ctx, db)
	if err != nil {
		rep.fault("journal state: %v", err)
	} else if st.Size != next || !bytes.Equal(st.Root(), root) {
		rep.fault("journal state: says %d events, the journal has %d", st.Size, next)
	}
	return nil
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
func projectionTables(ctx context.Context, db *sql.DB, schema string) ([]string, error) {
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

func checkProjections(ctx context.Context, db *sql.DB, services []Service, scratchDir string, rep *Report) error {
	if scratchDir == "" {
		// Memory-backed when the system has it: the scratch copy is thrown
		// away, and writing it to disk only makes the replay wait on the disk.
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			scratchDir = "/dev/shm"
		}
	}
	tmp, err := os.MkdirTemp(scratchDir, "kavach-verify-*")
	if err != nil {
		return fmt.Errorf("verify: scratch: %w", err)
	}
	defer os.RemoveAll(tmp)
	scratch := filepath.Join(tmp, "replay.db")
	if err := Replay(ctx, db, scratch, services, func(idx uint64, err error) {
		rep.fault("event %d: %v", idx, err)
	}); err != nil {
		return err
	}
	if !rep.OK {
		return nil
	}
	// The comparisons sort whole tables; keep their temporary b-trees in memory.
	if _, err := db.ExecContext(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	if _, err := db.ExecContext(ctx, `ATTACH DATABASE ? AS replay`, scratch); err != nil {
		return fmt.Errorf("verify: attach scratch: %w", err)
	}
	defer db.ExecContext(context.Background(), `DETACH DATABASE replay`)
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
	for _, t := range live {
		for _, dir := range [][2]string{{"main", "replay"}, {"replay", "main"}} {
			q := fmt.Sprintf(`SELECT * FROM %s.%q EXCEPT SELECT * FROM %s.%q ORDER BY 1 LIMIT 1`, dir[0], t, dir[1], t)
			rows, err := db.QueryContext(ctx, q)
			if err != nil {
				return fmt.Errorf("verify: compare %s: %w", t, err)
			}
			cols, _ := rows.Columns()
			if rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				rows.Scan(ptrs...)
				desc := describeRow(cols, vals)
				if dir[0] == "main" {
					rep.fault("table %s: row %s differs from the journal's replay (the row was changed or added)", t, desc)
				} else {
					rep.fault("table %s: row %s from the journal's replay is missing or different", t, desc)
				}
			}
			rows.Close()
		}
	}
	return nil
}

func describeRow(cols []string, vals []any) string {
	var parts []string
	for i, c := range cols {
		if i == 3 {
			parts = append(parts, "…")
			break
		}
		v := vals[i]
		if b, ok := v.([]byte); ok {
			v = string(b)
		}
		parts = append(parts, fmt.Sprintf("%s=%v", c, v))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Replay rebuilds the projections of the journal in db into a new database at
// path. A fault in an event is passed to onFault and the replay goes on.
func Replay(ctx context.Context, db *sql.DB, path string, services []Service, onFault func(uint64, error)) error {
	sdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)&_pragma=cache_size(-262144)")
	if err != nil {
		return err
	}
	sdb.SetMaxOpenConns(2) // see Open: one for the transaction, one to prepare on
	defer sdb.Close()
	n := &Node{wdb: sdb, projectors: map[string]Projector{}, stmts: map[string]*sql.Stmt{}}
	defer func() {
		for _, s := range n.stmts {
			s.Close()
		}
	}()
	var ms []Migration
	for _, s := range append([]Service{coreService()}, services...) {
		ms = append(ms, s.Migrations...)
		for t, p := range s.Projectors {
			n.projectors[t] = p
		}
	}
	if err := Migrate(ctx, sdb, ms); err != nil {
		return fmt.Errorf("verify: scratch schema: %w", err)
	}
	// Secondary indexes do not change what a table holds; leaving them out
	// makes the replay faster.
	if _, err := dropIndexes(ctx, sdb); err != nil {
		return fmt.Errorf("verify: scratch schema: %w", err)
	}
	type item = replayItem
	items := make(chan []item, 8)
	ps := payloads(services)
	go func() {
		defer close(items)
		var end sql.NullInt64
		if err := db.QueryRowContext(ctx, `SELECT max(idx) FROM journal_events`).Scan(&end); err != nil {
			items <- []item{{err: err}}
			return
		}
		// A tile at a time: each event's bytes are checked against its leaf
		// hash and against the tile that the tree check checked.
		for from := uint64(0); end.Valid && from <= uint64(end.Int64); from += journal.TileSize {
			var tile []byte
			err := db.QueryRowContext(ctx, `SELECT leaves FROM journal_tiles WHERE idx = ?`, from/journal.TileSize).Scan(&tile)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				items <- []item{{idx: from, err: err}}
				return
			}
			if len(tile) != journal.TileSize*32 {
				tile = nil // missing or damaged: the tree check names it
			}
			buf, err := readEvents(ctx, db, from, tile, ps)
			if err != nil {
				items <- []item{{idx: from, err: err}}
				return
			}
			items <- buf
		}
	}()
	stx, err := sdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer stx.Rollback()
	tx := &Tx{ctx: ctx, n: n, sql: stx}
	for b := range items {
		for _, it := range b {
			if it.err != nil {
				onFault(it.idx, it.err)
				continue
			}
			tx.Now, tx.Actor = it.e.Time, it.e.Actor
			if err := tx.Apply(it.e); err != nil {
				onFault(it.idx, fmt.Errorf("replaying %s: %w", it.e.Type, err))
			}
		}
	}
	return stx.Commit()
}

// readEvents reads and decodes the events of the tile starting at from.
func readEvents(ctx context.Context, db *sql.DB, from uint64, tile []byte, ps map[string]Payload) ([]replayItem, error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, data, leaf FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, from, from+journal.TileSize)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	buf := make([]replayItem, 0, journal.TileSize)
	for rows.Next() {
		var it replayItem
		var data, leaf []byte
		if err := rows.Scan(&it.idx, &data, &leaf); err != nil {
			return nil, err
		}
		h := journal.LeafHash(data)
		i := (it.idx - from) * 32
		switch {
		case !bytes.Equal(h, leaf):
			it.err = errors.New("its bytes do not match its leaf hash (the event was changed)")
		case tile != nil && !bytes.Equal(h, tile[i:i+32]):
			it.err = errors.New("its bytes do not match its leaf hash in the journal's tile (the event was changed)")
		default:
			it.e, it.err = decodeEvent(ps, data)
			if it.e != nil {
				it.e.Index = it.idx
			}
		}
		buf = append(buf, it)
	}
	return buf, rows.Err()
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
		if _, err := db.ExecContext(ctx, fmt.Sprintf(`DROP INDEX %q`, name)); err != nil {
			return nil, err
		}
	}
	return stmts, nil
}
