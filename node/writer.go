package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"kavach/journal"
)

// Command reads the projections through tx, validates, and emits events. If
// it returns an error, none of its events or rows are kept.
type Command func(tx *Tx) error

type request struct {
	ctx   context.Context
	actor string
	cmd   Command
	done  chan error
}

// Tx is a command's view of one writer transaction. Emit appends an event and
// applies its projector at once, so that later reads in the same command (and
// in later commands of the batch) see it.
type Tx struct {
	ctx    context.Context
	n      *Node
	sql    *sql.Tx
	batch  *journal.Batch // nil during a replay
	Actor  string
	Now    time.Time
	Events []*journal.Event
	wrote  bool                 // the command executed a statement that may have written
	stmts  map[string]*sql.Stmt // statements bound to this transaction
	// raised, in a bulk load (restore, replay), holds each counter's highest
	// raise not yet written: one write a batch instead of one an event.
	raised map[string]int64
}

// Context is the command's context.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Node is the node the command runs on.
func (tx *Tx) Node() *Node { return tx.n }

func (tx *Tx) stmt(query string) (*sql.Stmt, error) {
	if s, ok := tx.stmts[query]; ok {
		return s, nil
	}
	s, err := tx.n.prepare(query)
	if err != nil {
		return nil, err
	}
	// Bind once per transaction: database/sql keeps every bound statement
	// until the transaction ends, so binding per call would pile them up.
	ts := tx.sql.StmtContext(noCancel, s)
	if tx.stmts == nil {
		tx.stmts = map[string]*sql.Stmt{}
	}
	tx.stmts[query] = ts
	return ts, nil
}

// noCancel is the context of every statement in the writer: a statement is
// never interrupted halfway (the batch decides), and a context that cannot be
// cancelled spares the driver a watcher goroutine per statement.
var noCancel = context.Background()

// ExecContext runs a statement in the transaction (prepared once per node).
// Commands read with Query and QueryRow; every Exec counts as a write.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	tx.wrote = true
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(noCancel, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(noCancel, args...)
}

// QueryRowContext runs a query for one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := tx.stmt(query)
	if err != nil {
		// Let Scan report the error: a bad query is a programming error.
		return tx.sql.QueryRowContext(noCancel, query, args...)
	}
	return s.QueryRowContext(noCancel, args...)
}

// Exec is ExecContext with the command's context.
func (tx *Tx) Exec(query string, args ...any) (sql.Result, error) {
	return tx.ExecContext(tx.ctx, query, args...)
}

// Query is QueryContext with the command's context.
func (tx *Tx) Query(query string, args ...any) (*sql.Rows, error) {
	return tx.QueryContext(tx.ctx, query, args...)
}

// QueryRow is QueryRowContext with the command's context.
func (tx *Tx) QueryRow(query string, args ...any) *sql.Row {
	return tx.QueryRowContext(tx.ctx, query, args...)
}

func (n *Node) prepare(query string) (*sql.Stmt, error) {
	n.stmtMu.Lock()
	defer n.stmtMu.Unlock()
	if s, ok := n.stmts[query]; ok {
		return s, nil
	}
	s, err := n.wdb.Prepare(query)
	if err != nil {
		return nil, err
	}
	n.stmts[query] = s
	return s, nil
}

// Do runs cmd in the writer and returns once its events and rows are
// committed and synced, or it failed and left nothing behind.
func (n *Node) Do(ctx context.Context, actor string, cmd Command) error {
	if n.failed.Load() {
		return errors.New("node: writing stopped after a failed sync; restart the node")
	}
	r := &request{ctx: ctx, actor: actor, cmd: cmd, done: make(chan error, 1)}
	select {
	case n.reqs <- r:
	case <-n.stop:
		return errors.New("node: shutting down")
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome even if the caller gives up: the
	// writer may already have committed it.
	return <-r.done
}

// Checkpoint makes sure a signed checkpoint covers every committed event and
// returns it.
func (n *Node) Checkpoint(ctx context.Context) (*journal.Checkpoint, error) {
	force := func(tx *Tx) error { return errForceCheckpoint }
	if err := n.Do(ctx, "system", force); err != nil && !errors.Is(err, errForceCheckpoint) {
		return nil, err
	}
	return journal.LatestCheckpointUpTo(ctx, n.reader, n.Status().Events)
}

var errForceCheckpoint = errors.New("checkpoint requested")

func (n *Node) run() {
	defer close(n.stopped)
	defer close(n.syncq)
	tick := time.NewTicker(n.every / 2)
	defer tick.Stop()
	var batch []*request
	for {
		// A new slice each time: the syncer still holds the last one.
		batch = make([]*request, 0, 64)
		select {
		case r := <-n.reqs:
			batch = append(batch, r)
		case <-tick.C:
			n.mu.Lock()
			due := n.size > n.lastCPSize && n.Now().Sub(n.lastCPTime) >= n.every
			n.mu.Unlock()
			if !due {
				continue
			}
		case <-n.stop:
			// Finish what was queued before the stop.
			for {
				select {
				case r := <-n.reqs:
					batch = append(batch, r)
					if len(batch) == n.maxBatch {
						n.commit(batch)
						batch = make([]*request, 0, 64)
					}
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				n.commit(batch)
			}
			return
		}
	drain:
		for len(batch) < n.maxBatch {
			select {
			case r := <-n.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		n.commit(batch)
		if n.walRestart.Swap(false) {
			// No transaction is open: the checkpoint can copy the whole WAL,
			// and the next batch then starts it again from its beginning.
			if _, _, err := n.checkpointWAL(); err != nil {
				n.log.Warn("WAL checkpoint", "err", err)
			}
			n.walPasses.Add(1)
		}
	}
}

// commit runs a batch of commands in one transaction and one sync. Commands
// run without savepoints: one that fails before writing anything leaves
// nothing to undo. If one fails after writing, the whole transaction is
// rolled back and the batch runs again with a savepoint around each command.
//
// While the syncer is still busy with earlier batches, the transaction stays
// open and takes in the commands that arrive meanwhile: their answers would
// wait for the syncer anyway, and one commit writes each page it changed
// once, where several would write the shared pages (the journal's state and
// tail, counters, the ends of tables) once each.
func (n *Node) commit(reqs []*request) {
	reqs, ok := n.commitBatch(reqs, false)
	if !ok {
		n.commitBatch(reqs, true)
	}
}

// syncBusy reports whether committed batches are still waiting for the syncer.
func (n *Node) syncBusy() bool { return n.syncq != nil && n.unsynced.Load() > 0 }

func (n *Node) commitBatch(reqs []*request, careful bool) (_ []*request, ok bool) {
	ctx := context.Background()
	now := n.Now().UTC().Truncate(time.Microsecond)
	start := now
	errs := make([]error, len(reqs))
	fail := func(err error) {
		for i := range reqs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	answer := true // answer here, unless the batch is retried or the syncer answers
	defer func() {
		if !answer {
			return
		}
		for i, r := range reqs {
			r.done <- errs[i]
		}
	}()
	stx, err := n.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("node: begin: %w", err))
		return reqs, true
	}
	defer stx.Rollback()
	tx := &Tx{ctx: ctx, n: n, sql: stx, Now: now}
	b, err := n.app.Begin(ctx, tx)
	if err != nil {
		fail(err)
		return reqs, true
	}
	tx.batch = b
	if b.State().Size != n.writtenSize {
		n.cache = nil // another process appended
	}
	// Whatever the memo learns in this batch is kept only if it commits.
	committed := false
	defer func() {
		if !committed {
			n.cache = nil
		}
	}()
	force := false
	// run runs reqs[i]; false means the batch must be rolled back and run
	// again carefully, or it failed as a whole (errs say which).
	run := func(i int) (ok, retry bool) {
		r := reqs[i]
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			return true, false
		}
		if careful {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT cmd"); err != nil {
				fail(fmt.Errorf("node: savepoint: %w", err))
				return false, false
			}
		}
		mark := b.Mark()
		tx.ctx, tx.Actor, tx.Events, tx.wrote = r.ctx, r.actor, nil, false
		err := runCommand(r.cmd, tx)
		tx.ctx = ctx
		if errors.Is(err, errForceCheckpoint) {
			force = true
		}
		if err != nil {
			errs[i] = err
			if !careful {
				if tx.wrote {
					return false, true // deferred Rollback undoes the batch; run it again carefully
				}
				return true, false
			}
			if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO cmd"); rerr != nil {
				fail(fmt.Errorf("node: rollback to savepoint: %w", rerr))
				return false, false
			}
			b.Rollback(mark)
			n.cache = nil
		}
		if careful {
			if _, err := tx.ExecContext(ctx, "RELEASE cmd"); err != nil {
				fail(fmt.Errorf("node: release savepoint: %w", err))
				return false, false
			}
		}
		return true, false
	}
	for i := range reqs {
		if ok, retry := run(i); !ok {
			answer = !retry
			return reqs, !retry
		}
	}
	// Take in what arrives while the syncer is busy (see commit).
extend:
	for !careful && len(reqs) < n.maxBatch && n.syncBusy() {
		select {
		case r := <-n.reqs:
			reqs = append(reqs, r)
			errs = append(errs, nil)
			now = n.Now().UTC().Truncate(time.Microsecond)
			tx.Now = now
			if ok, retry := run(len(reqs) - 1); !ok {
				answer = !retry
				return reqs, !retry
			}
		case <-n.syncFree:
		case <-n.stop:
			break extend
		}
	}
	execDone := time.Now()
	st := b.State()
	cpDue := st.Size > n.signedCPSize && (force || now.Sub(n.signedCPTime) >= n.every)
	if cpDue {
		if _, err := b.AddCheckpoint(ctx, n.signer, n.info.Origin, now); err != nil {
			fail(err)
			return reqs, true
		}
	}
	if err := b.Finish(ctx); err != nil {
		fail(err)
		return reqs, true
	}
	if err := stx.Commit(); err != nil {
		n.app.Invalidate()
		fail(fmt.Errorf("node: commit: %w", err))
		n.log.Error("commit failed", "err", err, "commands", len(reqs))
		return reqs, true
	}
	n.app.Committed(b)
	committed = true
	n.writtenSize = st.Size
	if cpDue {
		n.signedCPSize, n.signedCPTime = st.Size, now
	}
	// The answers wait for the sync, which runs beside the next batch.
	p := &synced{reqs: reqs, errs: errs, size: st.Size, at: now, exec: execDone.Sub(start), busy: time.Since(start), committedAt: time.Now()}
	if cpDue {
		p.cpSize, p.cpTime = st.Size, now
	}
	answer = false // the syncer answers
	if n.syncq != nil {
		n.unsynced.Add(1)
		n.syncq <- p
	} else {
		n.sync([]*synced{p})
	}
	return reqs, true
}

// synced is a committed batch waiting for its sync.
type synced struct {
	reqs        []*request
	errs        []error
	size        uint64
	at          time.Time
	exec        time.Duration
	busy        time.Duration // the writer's time on the batch, its commit included
	committedAt time.Time
	cpSize      uint64
	cpTime      time.Time
}

// syncer makes committed batches durable and answers them. The writer
// commits with SQLite's own sync off and goes on to the next batch while this
// goroutine fsyncs the WAL: every frame of a batch was written before its
// commit returned, so one fsync after it covers the batch and all before it.
// SQLite's WAL checksums make a crash keep a clean prefix of transactions, and
// none of the lost ones was answered. Checkpoints copy the WAL back into the
// database file on a connection with full sync, so nothing synced is ever
// overwritten before it is in a synced database file.
func (n *Node) syncer() {
	defer close(n.syncDone)
	for p := range n.syncq {
		group := []*synced{p}
	more:
		for {
			select {
			case q, ok := <-n.syncq:
				if !ok {
					break more
				}
				group = append(group, q)
			default:
				break more
			}
		}
		n.sync(group)
	}
}

func (n *Node) sync(group []*synced) {
	start := time.Now()
	err := syncFile(DBPath(n.dir) + "-wal")
	took := time.Since(start)
	if n.syncq != nil && n.unsynced.Add(-int32(len(group))) == 0 {
		// The writer may commit the batch it holds open.
		select {
		case n.syncFree <- struct{}{}:
		default:
		}
	}
	if err != nil {
		// What is on disk is unknown: nothing may be answered as durable, and
		// the node must not go on writing on top of it.
		n.log.Error("fsync of the journal failed; the node stops writing", "err", err)
		n.failed.Store(true)
		for _, p := range group {
			for i, r := range p.reqs {
				if p.errs[i] == nil {
					p.errs[i] = fmt.Errorf("node: sync: %w", err)
				}
				r.done <- p.errs[i]
			}
		}
		return
	}
	last := group[len(group)-1]
	n.mu.Lock()
	for _, p := range group {
		n.stats.Batches++
		n.stats.Commands += uint64(len(p.reqs))
		n.stats.ExecTime += p.exec
		n.stats.BusyTime += p.busy
		commit := time.Since(p.committedAt)
		n.stats.CommitTime += commit
		n.stats.MaxCommitTime = max(n.stats.MaxCommitTime, commit)
		if p.cpSize > 0 {
			n.lastCPSize, n.lastCPTime = p.cpSize, p.cpTime
		}
	}
	n.stats.Syncs++
	n.stats.SyncTime += took
	n.size = last.size
	n.lastCommitAt = last.at
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
	for _, p := range group {
		for i, r := range p.reqs {
			r.done <- p.errs[i]
		}
	}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func runCommand(cmd Command, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("node: command panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return cmd(tx)
}
