package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"
)

// Schema creates the journal's tables. It is part of every node's first
// migration; the tables' names start with journal_ so that verify can tell
// them from projections.
const Schema = `
CREATE TABLE journal_events (
	idx  INTEGER PRIMARY KEY,
	data BLOB NOT NULL,
	leaf BLOB NOT NULL
);
-- Interior Merkle nodes at levels 4, 8, 12, …; the others are recomputed
-- from at most 16 stored hashes when a proof needs them.
CREATE TABLE journal_nodes (
	level INTEGER NOT NULL,
	idx   INTEGER NOT NULL,
	hash  BLOB NOT NULL,
	PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE journal_checkpoints (
	size INTEGER PRIMARY KEY,
	root BLOB NOT NULL,
	note BLOB NOT NULL,
	time TEXT NOT NULL
);
-- One row: the tree's size, its compact range and the origin's last sequence
-- number, so that any process holding the write lock can append correctly.
CREATE TABLE journal_state (
	id     INTEGER PRIMARY KEY CHECK (id = 1),
	size   INTEGER NOT NULL,
	seq    INTEGER NOT NULL,
	hashes BLOB NOT NULL
);
INSERT INTO journal_state (id, size, seq, hashes) VALUES (1, 0, 0, x'');
`

// TileSize is the number of leaf hashes in a tile.
const TileSize = 256

// TilesSchema adds the leaf tiles: the leaf hashes of events
// [256·idx, 256·idx+256), concatenated, written when the tile fills (as
// tessera's tiles are). verify's tree check reads a tile a row instead of a
// row an event. A journal needs it beside Schema; it came later, so nodes
// get it from a migration of its own, which also runs BackfillTiles.
const TilesSchema = `
CREATE TABLE IF NOT EXISTS journal_tiles (
	idx    INTEGER PRIMARY KEY,
	leaves BLOB NOT NULL
);
`

// BackfillTiles writes every tile that the journal's full runs of 256 events
// lack, as in a journal older than tiles. A tile that is there is left as it
// is, right or wrong: verify judges it.
func BackfillTiles(ctx context.Context, db DBTX) error {
	var size uint64
	if err := db.QueryRowContext(ctx, `SELECT size FROM journal_state WHERE id = 1`).Scan(&size); err != nil {
		return fmt.Errorf("journal: tiles: %w", err)
	}
	rows, err := db.QueryContext(ctx, `SELECT idx FROM journal_tiles`)
	if err != nil {
		return fmt.Errorf("journal: tiles: %w", err)
	}
	have := map[uint64]bool{}
	for rows.Next() {
		var t uint64
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return fmt.Errorf("journal: tiles: %w", err)
		}
		have[t] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: tiles: %w", err)
	}
	for t := uint64(0); t < size/TileSize; t++ {
		if have[t] {
			continue
		}
		leaves, err := readLeaves(ctx, db, t*TileSize, (t+1)*TileSize)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO journal_tiles (idx, leaves) VALUES (?, ?)`, t, leaves); err != nil {
			return fmt.Errorf("journal: tiles: %w", err)
		}
	}
	return nil
}

// readLeaves returns the leaf hashes of events [from, to), concatenated.
func readLeaves(ctx context.Context, db DBTX, from, to uint64) ([]byte, error) {
	rows, err := db.QueryContext(ctx, `SELECT idx, leaf FROM journal_events WHERE idx >= ? AND idx < ? ORDER BY idx`, from, to)
	if err != nil {
		return nil, fmt.Errorf("journal: leaves: %w", err)
	}
	defer rows.Close()
	out := make([]byte, 0, (to-from)*32)
	next := from
	for rows.Next() {
		var idx uint64
		var leaf []byte
		if err := rows.Scan(&idx, &leaf); err != nil {
			return nil, fmt.Errorf("journal: leaves: %w", err)
		}
		if idx != next || len(leaf) != 32 {
			return nil, fmt.Errorf("journal: event %d: missing or damaged leaf", next)
		}
		out = append(out, leaf...)
		next++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: leaves: %w", err)
	}
	if next != to {
		return nil, fmt.Errorf("journal: event %d: missing", next)
	}
	return out, nil
}

// storedLevel reports whether interior nodes at this level are kept.
func storedLevel(level uint) bool { return level > 0 && level%4 == 0 }

// DBTX is what the journal needs of a database handle or transaction.
type DBTX interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

var rf = &compact.RangeFactory{Hash: hashChildren}

// State is the journal's position: how many events it holds, the compact
// Merkle range over them, and the origin's last sequence number.
type State struct {
	Size uint64
	Seq  uint64
	rng  *compact.Range
	tail []byte // leaf hashes of the tile not yet full
}

// Root returns the Merkle root of the whole journal.
func (s *State) Root() []byte {
	if s.Size == 0 {
		return rfc6962Empty()
	}
	root, _ := s.rng.GetRootHash(nil) // starts at 0, so never fails
	return root
}

func (s *State) clone() State {
	hs := s.rng.Hashes()
	cp := make([][]byte, len(hs))
	copy(cp, hs)
	r, _ := rf.NewRange(0, s.Size, cp)
	return State{Size: s.Size, Seq: s.Seq, rng: r, tail: append(make([]byte, 0, TileSize*32), s.tail...)}
}

// LoadState reads the journal's state row.
func LoadState(ctx context.Context, db DBTX) (State, error) {
	var size, seq uint64
	var blob []byte
	if err := db.QueryRowContext(ctx, `SELECT size, seq, hashes FROM journal_state WHERE id = 1`).Scan(&size, &seq, &blob); err != nil {
		return State{}, fmt.Errorf("journal: load state: %w", err)
	}
	if len(blob)%32 != 0 {
		return State{}, errors.New("journal: state row is damaged")
	}
	hashes := make([][]byte, 0, len(blob)/32)
	for i := 0; i < len(blob); i += 32 {
		hashes = append(hashes, blob[i:i+32])
	}
	r, err := rf.NewRange(0, size, hashes)
	if err != nil {
		return State{}, fmt.Errorf("journal: state row is damaged: %w", err)
	}
	tail, err := readLeaves(ctx, db, size-size%TileSize, size)
	if err != nil {
		return State{}, err
	}
	return State{Size: size, Seq: seq, rng: r, tail: tail}, nil
}

func saveState(ctx context.Context, db DBTX, s *State) error {
	var blob []byte
	for _, h := range s.rng.Hashes() {
		blob = append(blob, h...)
	}
	_, err := db.ExecContext(ctx, `UPDATE journal_state SET size = ?, seq = ?, hashes = ? WHERE id = 1`, s.Size, s.Seq, blob)
	if err != nil {
		return fmt.Errorf("journal: save state: %w", err)
	}
	return nil
}

// Appender adds events to the journal inside the caller's transaction. It is
// used by one goroutine at a time: a node's writer.
type Appender struct {
	origin string
	cached State // the state as of the last commit this appender saw
	valid  bool
}

// NewAppender returns an appender for events issued by the node origin.
func NewAppender(origin string) *Appender { return &Appender{origin: origin} }

// Batch is a set of appends in one transaction.
type Batch struct {
	a     *Appender
	tx    DBTX
	state State
}

// Begin starts a batch in tx, which must hold the database's write lock. If
// another process appended since the cached state, the state is reloaded.
func (a *Appender) Begin(ctx context.Context, tx DBTX) (*Batch, error) {
	var size uint64
	if err := tx.QueryRowContext(ctx, `SELECT size FROM journal_state WHERE id = 1`).Scan(&size); err != nil {
		return nil, fmt.Errorf("journal: begin: %w", err)
	}
	if !a.valid || size != a.cached.Size {
		s, err := LoadState(ctx, tx)
		if err != nil {
			return nil, err
		}
		a.cached, a.valid = s, true
	}
	return &Batch{a: a, tx: tx, state: a.cached.clone()}, nil
}

// Mark is a point in a batch to roll back to.
type Mark struct{ state State }

// Mark returns the batch's current position.
func (b *Batch) Mark() Mark { return Mark{b.state.clone()} }

// Rollback returns the batch to m. The caller rolls back the SQL side (a
// savepoint) itself.
func (b *Batch) Rollback(m Mark) { b.state = m.state.clone() }

// State returns the batch's state so far.
func (b *Batch) State() *State { return &b.state }

// Append fills in the event's origin, sequence number and index, and writes it.
func (b *Batch) Append(ctx context.Context, e *Event) ([]byte, error) {
	e.Origin = b.a.origin
	e.Seq = b.state.Seq + 1
	e.Index = b.state.Size
	data := e.Encode()
	if err := b.write(ctx, data); err != nil {
		return nil, fmt.Errorf("journal: append %s: %w", e.Type, err)
	}
	b.state.Size++
	b.state.Seq++
	return data, nil
}

// write stores event b.state.Size with its leaf hash, the tree's new stored
// interior nodes, and the tile if this leaf fills it.
func (b *Batch) write(ctx context.Context, data []byte) error {
	idx := b.state.Size
	leaf := LeafHash(data)
	if _, err := b.tx.ExecContext(ctx, `INSERT INTO journal_events (idx, data, leaf) VALUES (?, ?, ?)`, idx, data, leaf); err != nil {
		return err
	}
	var werr error
	err := b.state.rng.Append(leaf, func(id compact.NodeID, hash []byte) {
		if werr == nil && storedLevel(id.Level) {
			_, werr = b.tx.ExecContext(ctx, `INSERT INTO journal_nodes (level, idx, hash) VALUES (?, ?, ?)`, id.Level, id.Index, hash)
		}
	})
	if err == nil {
		err = werr
	}
	if err != nil {
		return fmt.Errorf("tree: %w", err)
	}
	b.state.tail = append(b.state.tail, leaf...)
	if len(b.state.tail) == TileSize*32 {
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO journal_tiles (idx, leaves) VALUES (?, ?)`, idx/TileSize, b.state.tail); err != nil {
			return fmt.Errorf("tile: %w", err)
		}
		b.state.tail = b.state.tail[:0]
	}
	return nil
}

// Finish writes the batch's state row. Call it last, before committing.
func (b *Batch) Finish(ctx context.Context) error { return saveState(ctx, b.tx, &b.state) }

// Committed tells the appender that the batch's transaction committed.
func (a *Appender) Committed(b *Batch) { a.cached, a.valid = b.state.clone(), true }

// Invalidate makes the next batch reload the state from the database, as after
// a failed commit.
func (a *Appender) Invalidate() { a.valid = false }

// AppendRaw writes an event that already has its bytes, as a restore does:
// the bytes are kept exactly, and must be canonical. The origin's sequence
// number follows the events this journal's origin issued.
func (b *Batch) AppendRaw(ctx context.Context, data []byte) (*Event, error) {
	e, err := Decode(data)
	if err != nil {
		return nil, fmt.Errorf("journal: restore event %d: %w", b.state.Size, err)
	}
	return e, b.AppendDecoded(ctx, e, data)
}

// AppendDecoded is AppendRaw for an event the caller has decoded from data.
func (b *Batch) AppendDecoded(ctx context.Context, e *Event, data []byte) error {
	e.Index = b.state.Size
	if err := b.write(ctx, data); err != nil {
		return fmt.Errorf("journal: restore event %d: %w", e.Index, err)
	}
	b.state.Size++
	if e.Origin == b.a.origin && e.Seq > b.state.Seq {
		b.state.Seq = e.Seq
	}
	return nil
}

// StoreCheckpoint keeps a checkpoint signed elsewhere (by the node before a
// restore) whose size and root match this batch's tree.
func (b *Batch) StoreCheckpoint(ctx context.Context, size uint64, root, msg []byte, at time.Time) error {
	_, err := b.tx.ExecContext(ctx, `INSERT INTO journal_checkpoints (size, root, note, time) VALUES (?, ?, ?, ?)
		ON CONFLICT (size) DO NOTHING`, size, root, msg, at.UTC().Format(TimeFormat))
	return err
}
