// Package audit is the trail of who saw which patient's record. Every read of
// a record, through the API or a page, is a journaled event, so the trail is
// as tamper-evident and as backed up as the clinical data. Changes need no
// separate trail: the journal itself says who made each one.
package audit

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"slices"
	"strings"
	"time"

	"kavach/journal"
	"kavach/node"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is the audit trail's part of a node: its tables and its event.
func Data() node.Service {
	return node.Service{
		Name: "audit",
		Migrations: node.Migrations("audit", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"003": migrateOrigins,
		}),
		// A view is a row of its own, named by its event: the trail is a set.
		Events: []node.Handler{node.On(RecordViewed, func(p *node.Projection, e *journal.Event, v *View) error {
			return insertView(p.Context(), p, e, v, "")
		})},
	}
}

// RecordViewed is the audit trail's event type: someone saw patients'
// records. Its payload is a frozen contract (docs/architecture.md).
const RecordViewed node.Event[View] = "record.viewed"

// View is the payload of record.viewed: how the records were shown (an
// action such as "api.patient") and whose.
type View struct {
	Action   string   `json:"action"`
	Patients []string `json:"patients"`
}

// insertView writes a view into the tables named audit_views and
// audit_patients, with suffix (a migration fills new tables).
func insertView(ctx context.Context, db journal.DBTX, e *journal.Event, v *View, suffix string) error {
	patients := slices.Clone(v.Patients)
	slices.Sort(patients)
	patients = slices.Compact(patients)
	t := e.Time.Format(journal.TimeFormat)
	if _, err := db.ExecContext(ctx, `INSERT INTO audit_views`+suffix+` (time, origin, seq, username, action, patients) VALUES (?, ?, ?, ?, ?, ?)`,
		t, e.Origin, e.Seq, e.Actor, v.Action, strings.Join(patients, " ")); err != nil {
		return err
	}
	// Many rows to a statement: a duplicate warning or a search result
	// names up to tens of patients.
	for len(patients) > 0 {
		k := min(len(patients), maxPatientsInsert)
		args := make([]any, 0, 4*k)
		for _, uhid := range patients[:k] {
			args = append(args, uhid, t, e.Origin, e.Seq)
		}
		q := `INSERT INTO audit_patients` + suffix + ` (patient, time, origin, seq) VALUES (?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?)`, k-1)
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
		patients = patients[k:]
	}
	return nil
}

// maxPatientsInsert is how many patients of a view one statement inserts.
const maxPatientsInsert = 16

// migrateOrigins is migration 003's Go step: the new tables filled from
// the journal as the projector fills them, then put in the old ones' place.
func migrateOrigins(ctx context.Context, tx *sql.Tx) error {
	err := node.Reapply(RecordViewed, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *View) error {
		return insertView(ctx, tx, e, v, "_new")
	})(ctx, tx)
	if err != nil {
		return err
	}
	for _, q := range []string{
		`DROP TABLE audit_views`,
		`DROP TABLE audit_patients`,
		`ALTER TABLE audit_views_new RENAME TO audit_views`,
		`ALTER TABLE audit_patients_new RENAME TO audit_patients`,
		`CREATE INDEX audit_views_by_time ON audit_views (time, origin, seq)`,
		`CREATE INDEX audit_views_by_user ON audit_views (username, time, origin, seq)`,
		`CREATE INDEX audit_patients_by_patient ON audit_patients (patient, time, origin, seq)`,
	} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Record emits the view event inside a command, for a read that is part of a write.
func Record(tx *node.Tx, action string, uhids ...string) error {
	if len(uhids) == 0 {
		return nil
	}
	_, err := node.Emit(tx, RecordViewed, View{Action: action, Patients: uhids})
	return err
}

// Viewed records that user saw the patients' records through action (such as
// "api.patient" or "page.slip"). The caller shows the record only if it succeeds.
func Viewed(ctx context.Context, n *node.Node, user, action string, uhids ...string) error {
	if len(uhids) == 0 {
		return nil
	}
	return n.Do(ctx, user, func(tx *node.Tx) error { return Record(tx, action, uhids...) })
}

// Entry is one line of the trail as the API gives it: a patient a view
// showed.
type Entry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Patient string    `json:"patient"`
	Action  string    `json:"action"`
}

// Seen is one view: who saw which patients' records, how and when. A view
// of a queue or a worklist names many patients.
type Seen struct {
	Time     time.Time
	User     string
	Action   string
	Patients []string // sorted, each once
}

// Query selects entries; empty fields match everything. From and To, if
// set, bound the time: From <= time < To.
type Query struct {
	Patient, User string
	From, To      time.Time
	Limit         int
}

// Views returns matching views, newest first, one for each record.viewed
// event: a patient's, from audit_patients, are the views that named them.
func Views(ctx context.Context, db journal.DBTX, q Query) ([]Seen, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	var query, by string
	var args []any
	var conds []string
	if q.Patient != "" {
		query = `SELECT v.time, v.username, v.patients, v.action FROM audit_patients p
			JOIN audit_views v ON v.time = p.time AND v.origin = p.origin AND v.seq = p.seq`
		conds = append(conds, `p.patient = ?`)
		args = append(args, q.Patient)
		by = `p.`
	} else {
		query = `SELECT v.time, v.username, v.patients, v.action FROM audit_views v`
		by = `v.`
	}
	if q.User != "" {
		conds = append(conds, `v.username = ?`)
		args = append(args, q.User)
	}
	if !q.From.IsZero() {
		conds = append(conds, by+`time >= ?`)
		args = append(args, q.From.UTC().Format(journal.TimeFormat))
	}
	if !q.To.IsZero() {
		conds = append(conds, by+`time < ?`)
		args = append(args, q.To.UTC().Format(journal.TimeFormat))
	}
	if len(conds) > 0 {
		query += ` WHERE ` + strings.Join(conds, ` AND `)
	}
	query += ` ORDER BY ` + by + `time DESC, ` + by + `origin DESC, ` + by + `seq DESC LIMIT ?`
	args = append(args, q.Limit)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: views: %w", err)
	}
	defer rows.Close()
	out := []Seen{}
	for rows.Next() {
		var s Seen
		var t, patients string
		if err := rows.Scan(&t, &s.User, &patients, &s.Action); err != nil {
			return nil, err
		}
		s.Time, _ = time.Parse(journal.TimeFormat, t)
		s.Patients = strings.Fields(patients)
		out = append(out, s)
	}
	return out, rows.Err()
}

// Entries returns matching entries, newest first: a patient's, an entry
// for each view that named them, otherwise each view an entry for each
// patient it showed.
func Entries(ctx context.Context, db journal.DBTX, q Query) ([]Entry, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	// A view names at least one patient, so Limit views hold enough.
	vs, err := Views(ctx, db, q)
	if err != nil {
		return nil, err
	}
	es := []Entry{}
	for _, v := range vs {
		e := Entry{Time: v.Time, User: v.User, Action: v.Action}
		ps := v.Patients
		if q.Patient != "" {
			ps = []string{q.Patient}
		}
		for _, p := range ps {
			if len(es) == q.Limit {
				return es, nil
			}
			e.Patient = p
			es = append(es, e)
		}
	}
	return es, nil
}
