package registration

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Registration's event types. Their payloads are frozen contracts
// (docs/architecture.md): a change is a new type, never an edit.
const (
	PatientRegistered node.Event[Registered] = "patient.registered"
	PatientAmended    node.Event[Amended]    = "patient.amended"
	PatientMerged     node.Event[Merged]     = "patient.merged"
	MergeRequested    node.Event[Merged]     = "patient.merge_requested"
	PatientUnmerged   node.Event[Unmerged]   = "patient.unmerged"
)

// Unmerged is the payload of patient.unmerged: a merge undone.
type Unmerged struct {
	From   string `json:"from"`
	Into   string `json:"into"`
	Reason string `json:"reason"`
}

// Registered is the payload of patient.registered: the new record as the
// clerk's input validated. Fields are in key order, so it marshals
// canonically without re-sorting. merged_into is never set by a
// registration; it is here because the first payloads carried it.
type Registered struct {
	ABHA             string `json:"abha_number,omitempty"`
	Address          string `json:"address"`
	Category         string `json:"category"`
	CategoryID       string `json:"category_id,omitempty"`
	City             string `json:"city,omitempty"`
	DateOfBirth      string `json:"date_of_birth"`
	District         string `json:"district,omitempty"`
	DOBActual        bool   `json:"dob_actual"`
	GuardianName     string `json:"guardian_name"`
	GuardianRelation string `json:"guardian_relation,omitempty"`
	MergedInto       string `json:"merged_into,omitempty"`
	Mobile           string `json:"mobile"`
	Name             string `json:"name"`
	NameHi           string `json:"name_hi,omitempty"`
	PIN              string `json:"pin,omitempty"`
	RegisteredAt     string `json:"registered_at"`
	RegisteredBy     string `json:"registered_by"`
	Sex              string `json:"sex"`
	State            string `json:"state,omitempty"`
	UHID             string `json:"uhid"`
}

// Amended is the payload of patient.amended: the fields changed, by their
// API names, with their new values, and why.
type Amended struct {
	Changes map[string]string `json:"changes"`
	Reason  string            `json:"reason"`
	UHID    string            `json:"uhid"`
}

// Merged is the payload of patient.merged: From is a duplicate of Into.
type Merged struct {
	From   string `json:"from"`
	Into   string `json:"into"`
	Reason string `json:"reason"`
}

// events are registration's projectors. Each is a function of the set of
// events, whatever order events of several origins arrive in:
//   - patient.registered inserts a record whose UHID is unique to its
//     origin's namespace, and words (a set);
//   - patient.amended records each change with its stamp and sets a column
//     only from the newest change of it (last writer wins by node.Stamp);
//   - patient.merged sets the record's direct target only from its newest
//     merge or unmerge (patient.unmerged clears it); history rows are keyed
//     by their event; a merge request is a row of its own event, settled
//     by the merge of its two records.
var events = []node.Handler{
	node.Issuing(node.On(PatientRegistered, applyRegistered), issuesUHID),
	node.On(PatientAmended, applyAmended),
	node.On(PatientMerged, applyMerged),
	node.On(MergeRequested, applyMergeRequested),
	node.On(PatientUnmerged, applyUnmerged),
	node.On(PatientReconciled, applyReconciled),
	node.Issuing(node.On(PatientKitReserved, applyKitReserved), issuesKit),
}

const uhidCounter = "uhid"

// issuesUHID checks that a registration's UHID is from its node's namespace.
func issuesUHID(ns node.Namespace, e *journal.Event, r *Registered) error {
	if prefix, _, err := idcode.Parse(r.UHID, 2); err != nil || prefix != ns.Code {
		return fmt.Errorf("UHID %s", r.UHID)
	}
	return nil
}

func applyRegistered(p *node.Projection, e *journal.Event, r *Registered) error {
	_, err := p.Exec(`INSERT INTO patients (`+cols+`, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`,
		r.UHID, r.Name, r.NameHi, r.Sex, r.DateOfBirth, r.DOBActual, r.Mobile, r.Address, r.City, r.District, r.State,
		r.PIN, r.GuardianRelation, r.GuardianName, r.Category, r.CategoryID, r.ABHA,
		e.Time.Format(journal.TimeFormat), e.Actor, NameKey(r.Name))
	if err != nil {
		return err
	}
	if err := keepRegistered(p.Context(), p, r); err != nil {
		return err
	}
	// No history row: the registration itself is the first line of
	// History, read from the patients row rather than written twice.
	if err := indexWords(p, r.UHID, r.Name); err != nil {
		return err
	}
	if err := keyOf(p, e, r); err != nil {
		return err
	}
	if prefix, serial, err := idcode.Parse(r.UHID, 2); err == nil && prefix == e.Origin && serial < KitFirst {
		return p.RaiseCounter(e.Origin, uhidCounter, serial)
	}
	return nil
}

// amendable maps a field a clerk may change to its column.
var amendable = map[string]string{
	"name": "name", "name_hi": "name_hi", "sex": "sex", "date_of_birth": "dob", "mobile": "mobile",
	"address": "address", "city": "city", "district": "district", "state": "state", "pin": "pin",
	"guardian_relation": "guardian_relation", "guardian_name": "guardian_name", "category": "category",
	"category_id": "category_id", "abha_number": "abha",
}

func applyAmended(p *node.Projection, e *journal.Event, a *Amended) error {
	keys := make([]string, 0, len(a.Changes))
	for k := range a.Changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	stamp := node.Stamp(e)
	var parts []string
	for _, k := range keys {
		v := a.Changes[k]
		if err := applyChange(p.Context(), p, a.UHID, k, v, stamp); err != nil {
			return err
		}
		if err := conflictsOf(p, e, a.UHID, k); err != nil {
			return err
		}
		if k == "name" {
			// Words are a set: a name once held stays findable.
			if err := indexWords(p, a.UHID, v); err != nil {
				return err
			}
		}
		parts = append(parts, k+" → "+v)
	}
	details := strings.Join(parts, "; ")
	if a.Reason != "" {
		details += " (" + a.Reason + ")"
	}
	return history(p, a.UHID, e, "amended", details)
}

// applyChange records one change of a field and sets the column if no newer
// change of it is known.
func applyChange(ctx context.Context, db journal.DBTX, uhid, field, value, stamp string) error {
	col, ok := amendable[field]
	if !ok {
		return fmt.Errorf("registration: amend: unknown field %q", field)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO patient_changes (uhid, field, stamp, value) VALUES (?, ?, ?, ?)`, uhid, field, stamp, value); err != nil {
		return err
	}
	set := col + ` = ?`
	args := []any{value}
	switch field {
	case "name":
		set += `, name_key = ?`
		args = append(args, NameKey(value))
	case "date_of_birth":
		set += `, dob_actual = 1` // any told date of birth is an actual one
	}
	args = append(args, uhid, uhid, field, stamp)
	_, err := db.ExecContext(ctx, `UPDATE patients SET `+set+` WHERE uhid = ?
		AND NOT EXISTS (SELECT 1 FROM patient_changes WHERE uhid = ? AND field = ? AND stamp > ?)`, args...)
	return err
}

func applyMerged(p *node.Projection, e *journal.Event, m *Merged) error {
	if err := setMerged(p.Context(), p, m.From, m.Into, node.Stamp(e)); err != nil {
		return err
	}
	// Who asked first, if a second person confirmed.
	by := ""
	var requester string
	err := p.QueryRow(`SELECT requested_by FROM merge_requests WHERE from_uhid = ? AND into_uhid = ? AND settled = ''
		ORDER BY time, origin, seq LIMIT 1`, m.From, m.Into).Scan(&requester)
	if err == nil && requester != e.Actor {
		by = "; requested by " + requester
	}
	if _, err := p.Exec(`UPDATE merge_requests SET settled = ? WHERE from_uhid = ? AND into_uhid = ? AND settled = ''`,
		node.Stamp(e), m.From, m.Into); err != nil {
		return err
	}
	if err := history(p, m.From, e, "merged", "merged into "+m.Into+" ("+m.Reason+by+")"); err != nil {
		return err
	}
	return history(p, m.Into, e, "merged", m.From+" merged into this record ("+m.Reason+by+")")
}

func applyMergeRequested(p *node.Projection, e *journal.Event, m *Merged) error {
	if _, err := p.Exec(`INSERT INTO merge_requests (from_uhid, into_uhid, origin, seq, time, requested_by, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.From, m.Into, e.Origin, e.Seq, e.Time.Format(journal.TimeFormat), e.Actor, m.Reason); err != nil {
		return err
	}
	return history(p, m.From, e, "merge requested", "merge into "+m.Into+" requested, waiting for a second person ("+m.Reason+")")
}

// applyUnmerged undoes a merge: the record leads nowhere again, unless a
// newer merge of it is known.
func applyUnmerged(p *node.Projection, e *journal.Event, u *Unmerged) error {
	if err := setMerged(p.Context(), p, u.From, "", node.Stamp(e)); err != nil {
		return err
	}
	if err := history(p, u.From, e, "unmerged", "no longer merged into "+u.Into+" ("+u.Reason+")"); err != nil {
		return err
	}
	return history(p, u.Into, e, "unmerged", u.From+" is a record of its own again ("+u.Reason+")")
}

// setMerged points from at into unless a newer merge of from is known.
func setMerged(ctx context.Context, db journal.DBTX, from, into, stamp string) error {
	_, err := db.ExecContext(ctx, `UPDATE patients SET merged_into = ?, merged_stamp = ? WHERE uhid = ? AND merged_stamp < ?`, into, stamp, from, stamp)
	return err
}

func history(p *node.Projection, uhid string, e *journal.Event, action, details string) error {
	_, err := p.Exec(`INSERT INTO patient_history (uhid, time, origin, seq, actor, action, details) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		uhid, e.Time.Format(journal.TimeFormat), e.Origin, e.Seq, e.Actor, action, details)
	return err
}

func indexWords(p *node.Projection, uhid string, names ...string) error {
	var words []string
	for _, n := range names {
		for _, w := range strings.Fields(strings.ToLower(n)) {
			w = strings.Trim(w, ".'-/")
			if w == "" || slices.Contains(words, w) {
				continue
			}
			words = append(words, w)
		}
	}
	// Many rows to a statement.
	for len(words) > 0 {
		k := min(len(words), len(insertWords))
		args := make([]any, 0, 2*k)
		for _, w := range words[:k] {
			args = append(args, w, uhid)
		}
		if _, err := p.Exec(insertWords[k-1], args...); err != nil {
			return err
		}
		words = words[k:]
	}
	return nil
}

// insertWords[k-1] inserts k rows of patient_words.
var insertWords = func() []string {
	qs := make([]string, 8)
	for i := range qs {
		qs[i] = `INSERT INTO patient_words (word, uhid) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, i) + ` ON CONFLICT DO NOTHING`
	}
	return qs
}()

// keepRegistered keeps the values a record was registered with: the old
// value of a field's first amendment.
func keepRegistered(ctx context.Context, db journal.DBTX, r *Registered) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO patient_registered (uhid, data) VALUES (?, ?) ON CONFLICT DO NOTHING`, r.UHID, string(data))
	return err
}

// migrateRegistered is migration 007's Go step: it keeps each record's
// registered values from the journal.
var migrateRegistered = node.Reapply(PatientRegistered, func(ctx context.Context, tx *sql.Tx, e *journal.Event, r *Registered) error {
	return keepRegistered(ctx, tx, r)
})

// migrateOrigins is migration 002's Go step: it fills patient_changes and
// the merges' stamps from the journal as the projectors now would, and sets
// each amended column and merge target from them.
var migrateOrigins = node.Steps(
	func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE patients SET merged_into = '' WHERE merged_into != ''`)
		return err
	},
	node.Reapply(PatientAmended, func(ctx context.Context, tx *sql.Tx, e *journal.Event, a *Amended) error {
		for k, v := range a.Changes {
			if err := applyChange(ctx, tx, a.UHID, k, v, node.Stamp(e)); err != nil {
				return err
			}
		}
		return nil
	}),
	node.Reapply(PatientMerged, func(ctx context.Context, tx *sql.Tx, e *journal.Event, m *Merged) error {
		return setMerged(ctx, tx, m.From, m.Into, node.Stamp(e))
	}),
)
