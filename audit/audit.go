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
`}, {Name: "audit/002", SQL: `
-- A view's time, user and action once, not once for each patient it showed:
-- a duplicate warning names about ten patients, and the old shape wrote three
-- wide entries for each. (Every record.viewed event names at least one
-- patient, as Record emits none for no patients, so each has entries to
-- move.)
CREATE TABLE audit_views (
	idx      INTEGER PRIMARY KEY, -- the record.viewed event
	time     TEXT NOT NULL,
	username TEXT NOT NULL,
	action   TEXT NOT NULL
);
CREATE TABLE audit_patients (
	idx     INTEGER NOT NULL,
	patient TEXT NOT NULL,
	PRIMARY KEY (idx, patient)
) WITHOUT ROWID;
INSERT INTO audit_views (idx, time, username, action)
	SELECT idx, min(time), min(username), min(action) FROM audit_entries GROUP BY idx;
INSERT INTO audit_patients (idx, patient) SELECT idx, patient FROM audit_entries;
DROP TABLE audit_entries;
CREATE INDEX audit_views_by_user ON audit_views (username, idx);
CREATE INDEX audit_patients_by_patient ON audit_patients (patient, idx);
`}},
		Projectors: map[string]node.Projector{"record.viewed": apply},
		Decoders:   map[string]node.Decoder{"record.viewed": node.DecoderOf[viewed]()},
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
	if _, err := tx.Exec(`INSERT INTO audit_views (idx, time, username, action) VALUES (?, ?, ?, ?)`,
		e.Index, e.Time.Format(journal.TimeFormat), e.Actor, p.Action); err != nil {
		return err
	}
	// Many rows to a statement: a duplicate warning or a search result
	// names up to tens of patients.
	for len(p.Patients) > 0 {
		k := min(len(p.Patients), len(insertPatients))
		args := make([]any, 0, 2*k)
		for _, uhid := range p.Patients[:k] {
			args = append(args, e.Index, uhid)
		}
		if _, err := tx.Exec(insertPatients[k-1], args...); err != nil {
			return err
		}
		p.Patients = p.Patients[k:]
	}
	return nil
}

// insertPatients[k-1] inserts k patients of a view.
var insertPatients = func() []string {
	qs := make([]string, 16)
	q := `INSERT OR IGNORE INTO audit_patients (idx, patient) VALUES (?, ?)`
	for i := range qs {
		qs[i] = q
		q += `, (?, ?)`
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
	// With a patient, the search starts from that patient's rows in
	// audit_patients; otherwise from the views (by user, or all), newest first.
	query := `SELECT v.time, v.username, p.patient, v.action FROM audit_views v JOIN audit_patients p ON p.idx = v.idx`
	var args []any
	switch {
	case q.Patient != "" && q.User != "":
		query += ` WHERE p.patient = ? AND v.username = ? ORDER BY p.idx DESC`
		args = append(args, q.Patient, q.User)
	case q.Patient != "":
		query += ` WHERE p.patient = ? ORDER BY p.idx DESC`
		args = append(args, q.Patient)
	case q.User != "":
		query += ` WHERE v.username = ? ORDER BY v.idx DESC`
		args = append(args, q.User)
	default:
		query += ` ORDER BY v.idx DESC`
	}
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
