// Package audit is the trail of who saw which patient's record. Every read of
// a record, through the API or a page, is a journaled event, so the trail is
// as tamper-evident and as backed up as the clinical data. Changes need no
// separate trail: the journal itself says who made each one.
package audit

import (
	"context"
	"fmt"
	"time"

	"kavach/journal"
	"kavach/node"
)

// Service is the audit trail's part of a node.
func Service() node.Service {
	return node.Service{
		Migrations: []node.Migration{{Name: "audit/001", SQL: `
CREATE TABLE audit_entries (
	idx      INTEGER NOT NULL,
	patient  TEXT NOT NULL,
	time     TEXT NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL,
	PRIMARY KEY (idx, patient)
) WITHOUT ROWID;
CREATE INDEX audit_by_patient ON audit_entries (patient, idx);
CREATE INDEX audit_by_user ON audit_entries (username, idx);
`}},
		Projectors: map[string]node.Projector{"record.viewed": apply},
		Payloads:   map[string]node.Payload{"record.viewed": node.PayloadOf[viewed]()},
	}
}

// viewed is the payload of record.viewed.
type viewed struct {
	Action   string   `json:"action"`
	Patients []string `json:"patients"`
}

func apply(tx *node.Tx, e *journal.Event) error {
	var p viewed
	if err := journal.Unmarshal(e, &p); err != nil {
		return err
	}
	// Many rows to a statement: a duplicate warning or a search result
	// names up to tens of patients.
	t := e.Time.Format(journal.TimeFormat)
	for len(p.Patients) > 0 {
		k := min(len(p.Patients), len(insertEntries))
		args := make([]any, 0, 5*k)
		for _, uhid := range p.Patients[:k] {
			args = append(args, e.Index, uhid, t, e.Actor, p.Action)
		}
		if _, err := tx.Exec(insertEntries[k-1], args...); err != nil {
			return err
		}
		p.Patients = p.Patients[k:]
	}
	return nil
}

// insertEntries[k-1] inserts k rows of the trail.
var insertEntries = func() []string {
	qs := make([]string, 16)
	q := `INSERT OR IGNORE INTO audit_entries (idx, patient, time, username, action) VALUES (?, ?, ?, ?, ?)`
	for i := range qs {
		qs[i] = q
		q += `, (?, ?, ?, ?, ?)`
	}
	return qs
}()

// Record emits the view event inside a command, for a read that is part of a write.
func Record(tx *node.Tx, action string, uhids ...string) error {
	if len(uhids) == 0 {
		return nil
	}
	_, err := tx.Emit("record.viewed", viewed{Action: action, Patients: uhids})
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
	query := `SELECT time, username, patient, action FROM audit_entries`
	var args []any
	switch {
	case q.Patient != "" && q.User != "":
		query += ` WHERE patient = ? AND username = ?`
		args = append(args, q.Patient, q.User)
	case q.Patient != "":
		query += ` WHERE patient = ?`
		args = append(args, q.Patient)
	case q.User != "":
		query += ` WHERE username = ?`
		args = append(args, q.User)
	}
	query += ` ORDER BY idx DESC LIMIT ?`
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
