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

// commitBatch makes one attempt at a batch (see commit). It returns the
// batch, grown by what arrived meanwhile, and false if it must be run again
// carefully; then nothing was answered. Otherwise every command is answered,
// here or, once it is durable, by the syncer.
func (n *Node) commitBatch(reqs []*request, careful bool) (_ []*request, ok bool) {
	w := &batchRun{n: n, ctx: context.Background(), careful: careful, reqs: reqs, errs: make([]error, len(reqs))}
	w.now = n.Now().UTC().Truncate(time.Microsecond)
	start := w.now
	answer := true // answer here, unless the batch is retried or the syncer answers
	defer func() {
		if answer {
			w.answer()
		}
	}()
	stx, err := n.wdb.BeginTx(w.ctx, nil)
	if err != nil {
		w.fail(fmt.Errorf("node: begin: %w", err))
		return w.reqs, true
	}
	defer stx.Rollback()
	if err := w.begin(stx); err != nil {
		w.fail(err)
		return w.reqs, true
	}
	// Whatever the memo learns in this batch is kept only if it commits.
	defer func() {
		if !w.committed {
			n.cache = nil
		}
	}()
	for i := range w.reqs {
		if ok, retry := w.run(i); !ok {
			answer = !retry
			return w.reqs, !retry
		}
	}
	if ok, retry := w.extend(); !ok {
		answer = !retry
		return w.reqs, !retry
	}
	execDone := time.Now()
	size := w.b.State().Size
	cpDue, err := w.signIfDue(size)
	if err != nil {
		w.fail(err)
		return w.reqs, true
	}
	if err := w.commit(stx, size, cpDue); err != nil {
		w.fail(err)
		return w.reqs, true
	}
	// The answers wait for the sync, which runs beside the next batch.
	p := &synced{reqs: w.reqs, errs: w.errs, size: size, at: w.now, exec: execDone.Sub(start), busy: time.Since(start), committedAt: time.Now()}
	if cpDue {
		p.cpSize, p.cpTime = size, w.now
	}
	answer = false // the syncer answers
	n.toSyncer(p)
	return w.reqs, true
}

// batchRun is one attempt at a batch: its transaction, its commands and
// their outcomes.
type batchRun struct {
	n         *Node
	ctx       context.Context // the batch's own, never cancelled; each command runs with its caller's
	careful   bool            // each command in a savepoint
	reqs      []*request
	errs      []error // the answer to each of reqs
	now       time.Time
	tx        *Tx
	b         *journal.Batch
	force     bool // a command asked for a checkpoint
	committed bool
}

// fail answers every command not answered yet with err.
func (w *batchRun) fail(err error) {
	for i := range w.reqs {
		if w.errs[i] == nil {
			w.errs[i] = err
		}
	}
}

// answer sends each command its outcome.
func (w *batchRun) answer() {
	for i, r := range w.reqs {
		r.done <- w.errs[i]
	}
}

// begin starts the batch's journal writes in stx.
func (w *batchRun) begin(stx *sql.Tx) error {
	n := w.n
	w.tx = &Tx{ctx: w.ctx, n: n, sql: stx, Now: w.now}
	b, err := n.app.Begin(w.ctx, w.tx)
	if err != nil {
		return err
	}
	w.tx.batch, w.b = b, b
	if b.State().Size != n.writtenSize {
		n.cache = nil // another process appended
	}
	return nil
}

// run runs reqs[i]. Not ok means the batch stops: to be rolled back and run
// again carefully (retry), or failed as a whole (errs say which).
func (w *batchRun) run(i int) (ok, retry bool) {
	r := w.reqs[i]
	if err := r.ctx.Err(); err != nil {
		w.errs[i] = err
		return true, false
	}
	if w.careful {
		return w.runInSavepoint(i), false
	}
	if err := w.exec(r); err != nil {
		w.errs[i] = err
		if w.tx.wrote {
			return false, true // deferred Rollback undoes the batch; run it again carefully
		}
	}
	return true, false
}

// runInSavepoint runs reqs[i] in a savepoint, so that if it fails, what it
// wrote is undone and the rest of the batch is kept. False means the batch
// failed as a whole.
func (w *batchRun) runInSavepoint(i int) bool {
	if _, err := w.tx.ExecContext(w.ctx, "SAVEPOINT cmd"); err != nil {
		w.fail(fmt.Errorf("node: savepoint: %w", err))
		return false
	}
	mark := w.b.Mark()
	if err := w.exec(w.reqs[i]); err != nil {
		w.errs[i] = err
		if _, rerr := w.tx.ExecContext(w.ctx, "ROLLBACK TO cmd"); rerr != nil {
			w.fail(fmt.Errorf("node: rollback to savepoint: %w", rerr))
			return false
		}
		w.b.Rollback(mark)
		w.n.cache = nil
	}
	if _, err := w.tx.ExecContext(w.ctx, "RELEASE cmd"); err != nil {
		w.fail(fmt.Errorf("node: release savepoint: %w", err))
		return false
	}
	return true
}

// exec runs one command in the batch's transaction, with its caller's
// context and actor.
func (w *batchRun) exec(r *request) error {
	tx := w.tx
	tx.ctx, tx.Actor, tx.Events, tx.wrote = r.ctx, r.actor, nil, false
	err := runCommand(r.cmd, tx)
	tx.ctx = w.ctx
	if errors.Is(err, errForceCheckpoint) {
		w.force = true
	}
	return err
}

// extend takes in and runs the commands that arrive while the syncer is
// busy (see commit), until the batch is full or the node stops; ok and
// retry are as run's.
func (w *batchRun) extend() (ok, retry bool) {
	n := w.n
	for !w.careful && len(w.reqs) < n.maxBatch && n.syncBusy() {
		select {
		case r := <-n.reqs:
			w.reqs = append(w.reqs, r)
			w.errs = append(w.errs, nil)
			w.now = n.Now().UTC().Truncate(time.Microsecond)
			w.tx.Now = w.now
			if ok, retry := w.run(len(w.reqs) - 1); !ok {
				return false, retry
			}
		case <-n.syncFree:
		case <-n.stop:
			return true, false
		}
	}
	return true, false
}

// signIfDue signs a checkpoint over the batch's size events when one is
// due: the journal grew since the last, and a command asked for one or the
// interval passed. It says whether it signed.
func (w *batchRun) signIfDue(size uint64) (bool, error) {
	n := w.n
	due := size > n.signedCPSize && (w.force || w.now.Sub(n.signedCPTime) >= n.every)
	if !due {
		return false, nil
	}
	if _, err := w.b.AddCheckpoint(w.ctx, n.signer, n.info.Origin, w.now); err != nil {
		return false, err
	}
	return true, nil
}

// commit writes the journal's state and commits stx; the node then holds
// size events, and, if signed, a checkpoint over them.
func (w *batchRun) commit(stx *sql.Tx, size uint64, signed bool) error {
	n := w.n
	if err := w.b.Finish(w.ctx); err != nil {
		return err
	}
	if err := stx.Commit(); err != nil {
		n.app.Invalidate()
		n.log.Error("commit failed", "err", err, "commands", len(w.reqs))
		return fmt.Errorf("node: commit: %w", err)
	}
	n.app.Committed(w.b)
	w.committed = true
	n.writtenSize = size
	if signed {
		n.signedCPSize, n.signedCPTime = size, w.now
	}
	return nil
}

// toSyncer hands a committed batch to the syncer, or, in a node without
// one, syncs it here.
func (n *Node) toSyncer(p *synced) {
	if n.syncq != nil {
		n.unsynced.Add(1)
		n.syncq <- p
	} else {
		n.sync([]*synced{p})
	}
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
