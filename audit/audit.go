// Package audit is the trail of who saw which patient's record. Every read of
// a record, through the API or a page, is a journaled event, so the trail is
// as tamper-evident and as backed up as the clinical data. Changes need no
// separate trail: the journal itself says who made each one.
package audit

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"kavach/journal"
	"kavach/node"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is the audit trail's part of a node: its tables and its event.
func Data() node.Service {
	sub, _ := fs.Sub(migrationFS, "migrations")
	return node.Service{
		Name:       "audit",
		Migrations: node.Migrations("audit", sub, nil),
		// A view is inserted under its own event's key: the trail is a set.
		Events: []node.Handler{node.On(RecordViewed, apply)},
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

func apply(p *node.Projection, e *journal.Event, v *View) error {
	if _, err := p.Exec(`INSERT INTO audit_views (origin, seq, time, username, action) VALUES (?, ?, ?, ?, ?)`,
		e.Origin, e.Seq, e.Time.Format(journal.TimeFormat), e.Actor, v.Action); err != nil {
		return err
	}
	// Many rows to a statement: a duplicate warning or a search result
	// names up to tens of patients.
	patients := v.Patients
	for len(patients) > 0 {
		k := min(len(patients), len(insertPatients))
		args := make([]any, 0, 3*k)
		for _, uhid := range patients[:k] {
			args = append(args, e.Origin, e.Seq, uhid)
		}
		if _, err := p.Exec(insertPatients[k-1], args...); err != nil {
			return err
		}
		patients = patients[k:]
	}
	return nil
}

// insertPatients[k-1] inserts k patients of a view.
var insertPatients = func() []string {
	qs := make([]string, 16)
	for i := range qs {
		qs[i] = `INSERT INTO audit_patients (origin, seq, patient) VALUES (?, ?, ?)` + strings.Repeat(`, (?, ?, ?)`, i) + ` ON CONFLICT DO NOTHING`
	}
	return qs
}()

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

// Entry is one line of the trail.
type Entry struct {
	Time    time.Time `json:"time"`
	User    string    `json:"user"`
	Patient string    `json:"patient"`
	Action  string    `json:"action"`
}

// Query selects entries; empty fields match everything.
type Query struct {
	Patient, User string
	Limit         int
}

// Entries returns matching entries, newest first.
func Entries(ctx context.Context, db journal.DBTX, q Query) ([]Entry, error) {
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	// With a patient, the search starts from that patient's rows in
	// audit_patients; otherwise from the views (by user, or all), newest first.
	query := `SELECT v.time, v.username, p.patient, v.action FROM audit_views v
		JOIN audit_patients p ON p.origin = v.origin AND p.seq = v.seq`
	var args []any
	switch {
	case q.Patient != "" && q.User != "":
		query += ` WHERE p.patient = ? AND v.username = ?`
		args = append(args, q.Patient, q.User)
	case q.Patient != "":
		query += ` WHERE p.patient = ?`
		args = append(args, q.Patient)
	case q.User != "":
		query += ` WHERE v.username = ?`
		args = append(args, q.User)
	}
	query += ` ORDER BY v.time DESC, v.origin DESC, v.seq DESC, p.patient`
	query += ` LIMIT ?`
	args = append(args, q.Limit)
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: entries: %w", err)
	}
	defer rows.Close()
	es := []Entry{}
	for rows.Next() {
		var e Entry
		var t string
		if err := rows.Scan(&t, &e.User, &e.Patient, &e.Action); err != nil {
			return nil, err
		}
		e.Time, _ = time.Parse(journal.TimeFormat, t)
		es = append(es, e)
	}
	return es, rows.Err()
}
