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
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach/internal/durable"
	"kavach/journal"
)

// RestoreInput is where a restore's events come from (a vault), in order.
type RestoreInput struct {
	// Events calls each for every event from index 0, in order, until it
	// returns an error or the events end.
	Events func(each func(index uint64, data []byte) error) error
	// Checkpoints are the node's signed checkpoints by size; every one that
	// the restored journal reaches must match its root and signature.
	Checkpoints map[uint64][]byte
	Origin      string
	Verifiers   []note.Verifier // the keys the node signed with (old first)
	Progress    func(events uint64)
	// Replicas are the other nodes' journals the node held (a central's
	// sites', a site's central and fellow sites), as the vault pulled them.
	Replicas []ReplicaInput
}

// RestoreReport says what a restore rebuilt.
type RestoreReport struct {
	Events        uint64    `json:"events"`
	LastEventTime time.Time `json:"last_event_time"`
	Checkpoint    string    `json:"checkpoint"` // the last signed checkpoint the journal matched
	CheckpointAt  uint64    `json:"checkpoint_size"`
	NewVerifier   string    `json:"new_verifier"`
	// Origins counts the events restored of each other node's journal;
	// Waiting those of them not applied, as they wait for events of
	// another node that the vault does not hold (that node sends them
	// again when it reconnects).
	Origins map[string]uint64 `json:"origins,omitempty"`
	Waiting map[string]uint64 `json:"waiting,omitempty"`
	// Notes are what the restore could not do in causal order: the node's
	// own events that came after events of another node that the vault
	// does not hold.
	Notes []string `json:"notes,omitempty"`
}

// ErrNoEvents is Restore's error when no event came in: the vault holds
// none, or none is before the point in time asked for.
var ErrNoEvents = errors.New("restore: the vault holds no events")

// restoreBatch is how many events go in one transaction of a restore.
const restoreBatch = 20000

// Restore builds a new node in dir from a verified journal: it writes every
// event with its exact bytes, recomputes the Merkle tree and checks it
// against every checkpoint on the way, runs every projector, and gives the
// node a new signing key (a restored node never reuses the old key, which
// the attacker may hold); the node journals it when it first opens.
func Restore(ctx context.Context, dir string, services []Service, in RestoreInput) (*RestoreReport, error) {
	if _, err := os.Stat(DBPath(dir)); err == nil {
		return nil, fmt.Errorf("restore: %s already holds a node; restore into a new directory", dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	// A bulk load: SQLite does not sync while it runs; the end folds the WAL
	// into the database file and syncs it before the restore reports success.
	db, err := sql.Open("sqlite", dsn(DBPath(dir), modeBulk))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(2) // one for the transaction, one to prepare statements on
	// Secondary indexes are built once at the end, faster than kept up
	// row by row.
	n, indexes, err := bulkNode(ctx, db, services)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer n.closeStmts()
	r := &restorer{ctx: ctx, db: db, n: n, in: in, rep: &RestoreReport{}, deferApply: len(in.Replicas) > 0}
	// Decrypting and decoding run beside the database work.
	items := make(chan []restoreItem, 16)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go readRestoreItems(pctx, in.Events, n.types, items)
	err = r.applyAll(items)
	if err == nil {
		err = r.flush()
	}
	if err == nil && r.deferApply && r.rep.Events > 0 {
		// Other nodes' journals too: stored, then every event applied in
		// one causal order.
		for _, ri := range in.Replicas {
			if err = r.storeReplica(ri); err != nil {
				break
			}
		}
		if err == nil {
			err = r.applyCausal(DBPath(dir))
		}
	}
	if err == nil {
		err = buildIndexes(ctx, db, indexes)
	}
	if err == nil {
		err = syncDB(ctx, n, db, DBPath(dir))
	}
	if err != nil {
		if r.stx != nil {
			r.stx.sql.Rollback()
		}
		return nil, err
	}
	if r.rep.Events == 0 {
		return nil, ErrNoEvents
	}
	if r.rep.NewVerifier, err = writeNewKey(dir, in.Origin); err != nil {
		return nil, err
	}
	return r.rep, nil
}

// restoreItem is an event as the reader passes it on: decoded, or with the
// error that ends the restore.
type restoreItem struct {
	index uint64
	data  []byte
	e     *journal.Event
	err   error
}

// readRestoreItems decodes the events that events yields and sends them to
// items in chunks, then closes it. An error, the input's or an event's, comes
// last, as an item of its own or with the event.
func readRestoreItems(ctx context.Context, events func(func(uint64, []byte) error) error, ds map[string]*eventType, items chan<- []restoreItem) {
	defer close(items)
	chunk := make([]restoreItem, 0, 512)
	err := events(func(index uint64, data []byte) error {
		e, err := decodeEvent(ds, data)
		if err != nil {
			err = fmt.Errorf("restore: event %d: %w", index, err)
		}
		chunk = append(chunk, restoreItem{index, data, e, err})
		if len(chunk) == cap(chunk) {
			select {
			case items <- chunk:
			case <-ctx.Done():
				return ctx.Err()
			}
			chunk = make([]restoreItem, 0, 512)
		}
		return err
	})
	if err != nil {
		chunk = append(chunk, restoreItem{err: err})
	}
	if len(chunk) > 0 {
		select {
		case items <- chunk:
		case <-ctx.Done():
		}
	}
}

// restorer writes a restore's events, a transaction of restoreBatch events
// at a time.
type restorer struct {
	ctx context.Context
	db  *sql.DB
	n   *Node
	in  RestoreInput
	rep *RestoreReport
	app *journal.Appender // made for the first event's origin
	stx *Tx               // the open batch's transaction, or the last one
	b   *journal.Batch    // the open batch, nil between batches
	// deferApply: events are only written as they come; applyCausal
	// applies them all once every journal is in.
	deferApply bool
}

// applyAll applies the reader's events in order until items closes or one
// fails.
func (r *restorer) applyAll(items <-chan []restoreItem) error {
	var err error
	for chunk := range items {
		for _, it := range chunk {
			if err = r.apply(it); err != nil {
				break
			}
		}
		if err == nil {
			err = r.ctx.Err()
		}
		if err != nil {
			break
		}
	}
	return err
}

// apply writes one event and runs its projector, checks the checkpoint at
// its size if there is one, and commits every restoreBatch events.
func (r *restorer) apply(it restoreItem) error {
	if it.err != nil {
		return it.err
	}
	index, data, e := it.index, it.data, it.e
	if index != r.rep.Events {
		return fmt.Errorf("restore: event %d came as %d", r.rep.Events, index)
	}
	if r.app == nil {
		r.app = journal.NewAppender(e.Origin)
	}
	if r.b == nil {
		if err := r.begin(); err != nil {
			return err
		}
	}
	if err := r.b.AppendDecoded(r.ctx, e, data); err != nil {
		return err
	}
	if !r.deferApply {
		r.stx.Now, r.stx.Actor = e.Time, e.Actor
		if err := r.stx.Apply(e); err != nil {
			return fmt.Errorf("restore: event %d (%s): %w", index, e.Type, err)
		}
	}
	r.rep.Events++
	r.rep.LastEventTime = e.Time
	if msg, ok := r.in.Checkpoints[r.rep.Events]; ok {
		if err := r.storeCheckpoint(msg, e.Time); err != nil {
			return err
		}
	}
	if r.b.State().Size%restoreBatch == 0 {
		return r.flush()
	}
	return nil
}

// begin opens the next batch's transaction.
func (r *restorer) begin() error {
	sqltx, err := r.db.BeginTx(r.ctx, nil)
	if err != nil {
		return err
	}
	r.stx = &Tx{ctx: r.ctx, n: r.n, sql: sqltx, raised: map[string]int64{}}
	r.b, err = r.app.Begin(r.ctx, r.stx)
	return err
}

// storeCheckpoint checks the node's signed checkpoint msg against the
// journal restored so far, and keeps it.
func (r *restorer) storeCheckpoint(msg []byte, at time.Time) error {
	size := r.rep.Events
	root := r.b.State().Root()
	if err := checkRestoredCheckpoint(msg, r.in.Origin, r.in.Verifiers, size, root); err != nil {
		return err
	}
	if err := r.b.StoreCheckpoint(r.ctx, size, root, msg, at); err != nil {
		return err
	}
	r.rep.Checkpoint, r.rep.CheckpointAt = string(msg), size
	return nil
}

// flush commits the open batch, if any, and reports the progress.
func (r *restorer) flush() error {
	if r.b == nil {
		return nil
	}
	if err := r.stx.writeRaised(); err != nil {
		return err
	}
	if err := r.b.Finish(r.ctx); err != nil {
		return err
	}
	if err := r.stx.sql.Commit(); err != nil {
		return err
	}
	r.app.Committed(r.b)
	r.b = nil
	if r.in.Progress != nil {
		r.in.Progress(r.rep.Events)
	}
	return nil
}

// buildIndexes makes the secondary indexes that the bulk load went without.
func buildIndexes(ctx context.Context, db *sql.DB, indexes []string) error {
	for _, ix := range indexes {
		if _, err := db.ExecContext(ctx, ix); err != nil {
			return fmt.Errorf("restore: build index: %w", err)
		}
	}
	return nil
}

// writeNewKey gives the restored node in dir a new signing key for origin
// and returns its verifier. The node journals the new key when it first
// opens (see loadIdentity).
func writeNewKey(dir, origin string) (string, error) {
	skey, vkey, err := journal.GenerateKey(origin)
	if err != nil {
		return "", err
	}
	if err := durable.WriteFile(KeyPath(dir), []byte(skey+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("restore: write the new signing key: %w", err)
	}
	if err := durable.WriteFile(PubPath(dir), []byte(vkey+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("restore: write the new verifier: %w", err)
	}
	return vkey, nil
}

// syncDB folds the WAL into the database file, closes it and syncs it, so a
// bulk load is durable before it is reported. It syncs after closing: a
// descriptor of the file opened and closed while SQLite has it open would
// release SQLite's locks on it.
func syncDB(ctx context.Context, n *Node, db *sql.DB, path string) error {
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return fmt.Errorf("restore: checkpoint: %w", err)
	}
	n.closeStmts()
	if err := db.Close(); err != nil {
		return fmt.Errorf("restore: close: %w", err)
	}
	for _, p := range []string{path, path + "-wal"} {
		if err := syncFile(p); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("restore: sync %s: %w", p, err)
		}
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func checkRestoredCheckpoint(msg []byte, origin string, vs []note.Verifier, size uint64, root []byte) error {
	var last error
	for i := len(vs) - 1; i >= 0; i-- {
		cp, err := journal.OpenCheckpoint(msg, origin, vs[i])
		if err != nil {
			last = err
			continue
		}
		if cp.Size != size || !bytes.Equal(cp.Hash, root) {
			return fmt.Errorf("restore: the checkpoint at %d events does not match the restored journal", size)
		}
		return nil
	}
	return fmt.Errorf("restore: the checkpoint at %d events: %w", size, last)
}

// Identifier gaps after a restore: numbers issued in the vault's lag window
// (acknowledged, on a printed slip, but lost with the attacked node) must
// never be issued again, so every counter jumps ahead. A few seconds of lag
// at the busiest counter is far below these.
const (
	restoreSkip      = 10000 // UHIDs, visit numbers and other identifiers
	restoreTokenSkip = 100   // a department's tokens for the day
)

// Restored is the payload of node.restored. Frozen.
type Restored struct {
	Checkpoint string `json:"checkpoint"`
	Events     uint64 `json:"events"`
	Skip       int64  `json:"skip"`
	TokenSkip  int64  `json:"token_skip"`
}

// applyRestored moves the restored origin's counters past what the attacked
// node may have issued, and records the restore for counters not used yet
// (Tx.Counter).
func applyRestored(p *Projection, e *journal.Event, r *Restored) error {
	if err := p.tx.writeRaised(); err != nil {
		return err
	}
	if _, err := p.Exec(`UPDATE counters SET value = value + CASE WHEN name LIKE ? THEN ? ELSE ? END WHERE name LIKE ?`,
		e.Origin+"/token/%", r.TokenSkip, r.Skip, e.Origin+"/%"); err != nil {
		return err
	}
	if _, err := p.Exec(`INSERT INTO origin_restores (node, seq, time, skip, token_skip) VALUES (?, ?, ?, ?, ?)`,
		e.Origin, e.Seq, e.Time.Format(journal.TimeFormat), r.Skip, r.TokenSkip); err != nil {
		return err
	}
	p.ForgetCached()
	return nil
}

// restoresSchema (migration node/004) lists the node's restores, so that a
// counter first used after one starts past its skip as the others did.
const restoresSchema = `
CREATE TABLE node_restores (
	idx        INTEGER PRIMARY KEY,
	time       TEXT NOT NULL,
	skip       INTEGER NOT NULL,
	token_skip INTEGER NOT NULL
);
`

// backfillRestores fills node_restores from the node.restored events of a
// journal older than the table, as the projector would have.
func backfillRestores(ctx context.Context, tx *sql.Tx) error {
	// A restored node journaled a second key before it journaled the
	// restore; a node with one key was never restored, and its journal,
	// millions of events perhaps, need not be read.
	var keys int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM node_keys`).Scan(&keys); err != nil {
		return err
	}
	if keys < 2 {
		return nil
	}
	found, err := JournalEvents(ctx, tx, string(NodeRestored))
	if err != nil {
		return err
	}
	for _, e := range found {
		var r Restored
		if err := json.Unmarshal(e.Payload, &r); err != nil {
			return fmt.Errorf("event %d: %w", e.Index, err)
		}
		// The table as it was then; node/005 moved it into origin_restores.
		if _, err := tx.ExecContext(ctx, `INSERT INTO node_restores (idx, time, skip, token_skip) VALUES (?, ?, ?, ?)`,
			e.Index, e.Time.Format(journal.TimeFormat), r.Skip, r.TokenSkip); err != nil {
			return err
		}
	}
	return nil
}

// MarkRestored journals that this node was restored, and moves every
// identifier counter past what the attacked node may have issued after the
// vault's last checkpoint.
func (n *Node) MarkRestored(ctx context.Context, events uint64, checkpoint string) error {
	return n.Do(ctx, "system", func(tx *Tx) error {
		_, err := Emit(tx, NodeRestored, Restored{Events: events, Skip: restoreSkip, TokenSkip: restoreTokenSkip, Checkpoint: checkpoint})
		return err
	})
}
