package node

import (
	"context"
	"database/sql"
	"fmt"

	"kavach/journal"
)

// ReplayEvents builds, in a new database at path, the projections of
// events applied in the order given: what a node holding these events,
// from one origin or several, holds. Projections are a function of the set
// of events (docs/architecture.md), so any order that keeps each origin's
// own order must build the same rows; the service tests check that.
func ReplayEvents(ctx context.Context, path string, services []Service, events []*journal.Event) error {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(OFF)&_pragma=synchronous(OFF)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(2) // one for the transaction, one to prepare on
	n, _, err := bulkNode(ctx, db, services)
	if err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	defer n.closeStmts()
	stx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	defer stx.Rollback()
	tx := &Tx{ctx: ctx, n: n, sql: stx, raised: map[string]int64{}}
	for _, e := range events {
		tx.Now, tx.Actor = e.Time, e.Actor
		if err := tx.Apply(e); err != nil {
			return fmt.Errorf("replay: event %s/%d (%s): %w", e.Origin, e.Seq, e.Type, err)
		}
	}
	if err := tx.writeRaised(); err != nil {
		return fmt.Errorf("replay: %s: %w", path, err)
	}
	return stx.Commit()
}

// CompareProjections reports every projection table, and the first row of
// each, that the node databases at a and b disagree on; none means they
// hold the same rows.
func CompareProjections(ctx context.Context, a, b string) ([]string, error) {
	db, err := sql.Open("sqlite", dsn(a, modeVerify))
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS replay`, b); err != nil {
		return nil, fmt.Errorf("compare: attach %s: %w", b, err)
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE replay`)
	rep := &Report{OK: true}
	left, err := projectionTables(ctx, conn, "main")
	if err != nil {
		return nil, err
	}
	right, err := projectionTables(ctx, conn, "replay")
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(left) != fmt.Sprint(right) {
		return []string{fmt.Sprintf("projection tables differ: %v and %v", left, right)}, nil
	}
	for _, t := range left {
		if err := compareTable(ctx, conn, t, "", rep); err != nil {
			return nil, err
		}
	}
	return rep.Faults, nil
}
