package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
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
}

// Context is the command's context.
func (tx *Tx) Context() context.Context { return tx.ctx }

// Node is the node the command runs on.
func (tx *Tx) Node() *Node { return tx.n }

func (tx *Tx) stmt(query string) (*sql.Stmt, error) {
	s, err := tx.n.prepare(query)
	if err != nil {
		return nil, err
	}
	return tx.sql.StmtContext(tx.ctx, s), nil
}

// ExecContext runs a statement in the transaction (prepared once per node).
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// QueryRowContext runs a query for one row in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := tx.stmt(query)
	if err != nil {
		// Let Scan report the error: a bad query is a programming error.
		return tx.sql.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
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

// Emit appends an event of type typ with the payload and applies its projector.
func (tx *Tx) Emit(typ string, payload any) (*journal.Event, error) {
	if tx.batch == nil {
		return nil, errors.New("node: emit during replay")
	}
	p, ok := tx.n.projectors[typ]
	if !ok {
		return nil, fmt.Errorf("node: no projector for event type %q", typ)
	}
	raw, err := journal.MarshalPayload(payload)
	if err != nil {
		return nil, err
	}
	e := &journal.Event{Time: tx.Now, Actor: tx.Actor, Type: typ, Payload: raw}
	if _, err := tx.batch.Append(tx.ctx, e); err != nil {
		return nil, err
	}
	if err := p(tx, e); err != nil {
		return nil, fmt.Errorf("node: project %s: %w", typ, err)
	}
	tx.Events = append(tx.Events, e)
	return e, nil
}

// Apply runs the projector of an event that is already in the journal (replay).
func (tx *Tx) Apply(e *journal.Event) error {
	p, ok := tx.n.projectors[e.Type]
	if !ok {
		return fmt.Errorf("node: no projector for event type %q", e.Type)
	}
	return p(tx, e)
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
	return journal.LatestCheckpoint(ctx, n.rdb)
}

var errForceCheckpoint = errors.New("checkpoint requested")

func (n *Node) run() {
	defer close(n.stopped)
	tick := time.NewTicker(n.every / 2)
	defer tick.Stop()
	batch := make([]*request, 0, n.maxBatch)
	for {
		batch = batch[:0]
		select {
		case r := <-n.reqs:
			batch = append(batch, r)
		case <-tick.C:
			n.mu.Lock()
			due := n.size > n.lastCPSize && time.Since(n.lastCPTime) >= n.every
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
						batch = batch[:0]
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
	}
}

func (n *Node) commit(reqs []*request) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	errs := make([]error, len(reqs))
	fail := func(err error) {
		for i := range reqs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	}
	defer func() {
		for i, r := range reqs {
			r.done <- errs[i]
		}
	}()
	stx, err := n.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("node: begin: %w", err))
		return
	}
	defer stx.Rollback()
	tx := &Tx{ctx: ctx, n: n, sql: stx, Now: now}
	b, err := n.app.Begin(ctx, tx)
	if err != nil {
		fail(err)
		return
	}
	tx.batch = b
	force := false
	for i, r := range reqs {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		if _, err := stx.ExecContext(ctx, "SAVEPOINT cmd"); err != nil {
			fail(fmt.Errorf("node: savepoint: %w", err))
			return
		}
		mark := b.Mark()
		tx.ctx, tx.Actor, tx.Events = r.ctx, r.actor, nil
		err := runCommand(r.cmd, tx)
		tx.ctx = ctx
		if errors.Is(err, errForceCheckpoint) {
			force = true
		}
		if err != nil {
			errs[i] = err
			if _, rerr := stx.ExecContext(ctx, "ROLLBACK TO cmd"); rerr != nil {
				fail(fmt.Errorf("node: rollback to savepoint: %w", rerr))
				return
			}
			b.Rollback(mark)
		}
		if _, err := stx.ExecContext(ctx, "RELEASE cmd"); err != nil {
			fail(fmt.Errorf("node: release savepoint: %w", err))
			return
		}
	}
	st := b.State()
	n.mu.Lock()
	cpDue := st.Size > n.lastCPSize && (force || now.Sub(n.lastCPTime) >= n.every)
	n.mu.Unlock()
	if cpDue {
		if _, err := b.AddCheckpoint(ctx, n.signer, n.info.Origin, now); err != nil {
			fail(err)
			return
		}
	}
	if err := b.Finish(ctx); err != nil {
		fail(err)
		return
	}
	if err := stx.Commit(); err != nil {
		n.app.Invalidate()
		fail(fmt.Errorf("node: commit: %w", err))
		n.log.Error("commit failed", "err", err, "commands", len(reqs))
		return
	}
	n.app.Committed(b)
	n.mu.Lock()
	n.size = st.Size
	n.lastCommitAt = now
	if cpDue {
		n.lastCPSize, n.lastCPTime = st.Size, now
	}
	close(n.changed)
	n.changed = make(chan struct{})
	n.mu.Unlock()
}

func runCommand(cmd Command, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("node: command panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return cmd(tx)
}
