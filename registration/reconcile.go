package registration

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// Reconciliation. Nodes cut off from each other keep working; what they did
// that a person must look at goes on a worklist, never silently
// overwritten: records of one patient registered at two nodes (resolved by
// a merge), and one field of a record changed at two nodes (the newer
// change is kept, the other stays in the history and on the list until
// someone looks). Either can also be marked resolved with a reason.

// PatientReconciled is the event of an item resolved without a merge.
const PatientReconciled node.Event[Reconciled] = "patient.reconciled"

// Reconciled is the payload of patient.reconciled. Frozen.
type Reconciled struct {
	Item   string `json:"item"`
	Reason string `json:"reason"`
}

// Item kinds.
const (
	KindDuplicate      = "duplicate"       // two records, one patient?
	KindConcurrentEdit = "concurrent_edit" // one field changed at two nodes
)

// keyOf records a registration's key fields and lists it with every record
// registered at another node, concurrently, that looks like the same
// patient: the same mobile and name, the same ABHA number, or the same
// name, date of birth and sex.
func keyOf(p *node.Projection, e *journal.Event, r *Registered) error {
	if sited, err := p.Sited(e); err != nil || !sited {
		return err // no other node to be concurrent with
	}
	nk := NameKey(r.Name)
	if _, err := p.Exec(`INSERT INTO registration_keys (uhid, origin, seq, name_key, mobile, abha, dob, sex) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.UHID, e.Origin, e.Seq, nk, r.Mobile, r.ABHA, r.DateOfBirth, r.Sex); err != nil {
		return err
	}
	// Three lookups, each by an index (an OR of them is a scan of the table
	// for every registration).
	rows, err := p.Query(`SELECT uhid, origin, seq FROM registration_keys WHERE mobile = ? AND name_key = ? AND origin != ?
		UNION SELECT uhid, origin, seq FROM registration_keys WHERE abha = ? AND abha != '' AND origin != ?
		UNION SELECT uhid, origin, seq FROM registration_keys WHERE name_key = ? AND dob = ? AND sex = ? AND origin != ?`,
		r.Mobile, nk, e.Origin, r.ABHA, e.Origin, nk, r.DateOfBirth, r.Sex, e.Origin)
	if err != nil {
		return err
	}
	type other struct {
		uhid, origin string
		seq          uint64
	}
	var others []other
	for rows.Next() {
		var o other
		if err := rows.Scan(&o.uhid, &o.origin, &o.seq); err != nil {
			rows.Close()
			return err
		}
		others = append(others, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, o := range others {
		c, err := node.Concurrent(p.Context(), p, e.Origin, e.Seq, o.origin, o.seq)
		if err != nil {
			return err
		}
		if !c {
			continue // the clerk saw the other record's warning
		}
		a, b := min(r.UHID, o.uhid), max(r.UHID, o.uhid)
		if _, err := p.Exec(`INSERT INTO patient_duplicates (a, b) VALUES (?, ?) ON CONFLICT DO NOTHING`, a, b); err != nil {
			return err
		}
	}
	return nil
}

// conflictsOf lists a change of field with every concurrent change of it
// made at another node.
func conflictsOf(p *node.Projection, e *journal.Event, uhid, field string) error {
	stamp := node.Stamp(e)
	rows, err := p.Query(`SELECT stamp FROM patient_changes WHERE uhid = ? AND field = ? AND stamp != ?`, uhid, field, stamp)
	if err != nil {
		return err
	}
	var stamps []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return err
		}
		stamps = append(stamps, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, s := range stamps {
		o, seq, ok := node.ParseStamp(s)
		if !ok {
			continue
		}
		c, err := node.Concurrent(p.Context(), p, e.Origin, e.Seq, o, seq)
		if err != nil {
			return err
		}
		if c {
			if _, err := p.Exec(`INSERT INTO patient_conflicts (uhid, field, a_stamp, b_stamp) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				uhid, field, min(s, stamp), max(s, stamp)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Of several resolutions of one item, the earliest is kept.
func applyReconciled(p *node.Projection, e *journal.Event, r *Reconciled) error {
	_, err := p.Exec(`INSERT INTO reconciled (item, stamp, actor, reason) VALUES (?, ?, ?, ?)
		ON CONFLICT (item) DO UPDATE SET stamp = excluded.stamp, actor = excluded.actor, reason = excluded.reason
		WHERE excluded.stamp < reconciled.stamp`, r.Item, node.Stamp(e), e.Actor, r.Reason)
	return err
}

// Item is one entry of the reconciliation worklist.
type Item struct {
	ID       string     `json:"id"`
	Kind     string     `json:"kind"`
	Subjects []string   `json:"subjects"`
	Patients []*Patient `json:"patients,omitempty"` // duplicate: both records
	Field    string     `json:"field,omitempty"`    // concurrent_edit
	Kept     string     `json:"kept,omitempty"`     // the value the record holds
	Values   []Change   `json:"values,omitempty"`   // the concurrent changes, oldest first
}

// Change is one change of a field in a concurrent edit.
type Change struct {
	Value string `json:"value"`
	Time  string `json:"time"`
	Node  string `json:"node"`
	By    string `json:"by"`
	Kept  bool   `json:"kept"`
}

func stampID(stamp string) string {
	o, seq, _ := node.ParseStamp(stamp)
	return fmt.Sprintf("%s-%d", o, seq)
}

// Worklist returns the open items: duplicates not merged or resolved, and
// concurrent edits not resolved, oldest first.
func Worklist(ctx context.Context, db journal.DBTX) ([]Item, error) {
	done := map[string]bool{}
	if err := each(ctx, db, `SELECT item FROM reconciled`, func(s []string) { done[s[0]] = true }); err != nil {
		return nil, err
	}
	items := []Item{}
	var pairs [][2]string
	if err := each(ctx, db, `SELECT a, b FROM patient_duplicates ORDER BY a, b`, func(s []string) { pairs = append(pairs, [2]string{s[0], s[1]}) }); err != nil {
		return nil, err
	}
	for _, pr := range pairs {
		id := "duplicate:" + pr[0] + ":" + pr[1]
		if done[id] {
			continue
		}
		it := Item{ID: id, Kind: KindDuplicate, Subjects: []string{pr[0], pr[1]}}
		var survivors []string
		for _, u := range pr {
			p, err := Get(ctx, db, u)
			if err != nil {
				return nil, err
			}
			s, err := Survivor(ctx, db, p)
			if err != nil {
				return nil, err
			}
			it.Patients = append(it.Patients, p)
			survivors = append(survivors, s.UHID)
		}
		if survivors[0] == survivors[1] {
			continue // merged
		}
		items = append(items, it)
	}
	type conflict struct{ uhid, field, a, b string }
	var cs []conflict
	if err := each(ctx, db, `SELECT uhid, field, a_stamp, b_stamp FROM patient_conflicts ORDER BY a_stamp, uhid, field`, func(s []string) {
		cs = append(cs, conflict{s[0], s[1], s[2], s[3]})
	}); err != nil {
		return nil, err
	}
	for _, c := range cs {
		id := "edit:" + c.uhid + ":" + c.field + ":" + stampID(c.a) + ":" + stampID(c.b)
		if done[id] {
			continue
		}
		it := Item{ID: id, Kind: KindConcurrentEdit, Subjects: []string{c.uhid}, Field: c.field}
		var newest string
		if err := db.QueryRowContext(ctx, `SELECT max(stamp) FROM patient_changes WHERE uhid = ? AND field = ?`, c.uhid, c.field).Scan(&newest); err != nil {
			return nil, err
		}
		for _, st := range []string{c.a, c.b} {
			var ch Change
			o, seq, _ := node.ParseStamp(st)
			err := db.QueryRowContext(ctx, `SELECT c.value, h.time, h.actor FROM patient_changes c
				JOIN patient_history h ON h.uhid = c.uhid AND h.origin = ? AND h.seq = ?
				WHERE c.uhid = ? AND c.field = ? AND c.stamp = ?`, o, seq, c.uhid, c.field, st).Scan(&ch.Value, &ch.Time, &ch.By)
			if err != nil {
				return nil, fmt.Errorf("registration: change %s of %s: %w", st, c.uhid, err)
			}
			ch.Node, ch.Kept = o, st == newest
			if ch.Kept {
				it.Kept = ch.Value
			}
			it.Values = append(it.Values, ch)
		}
		if it.Kept == "" {
			// A third change, newer than both, decided it: name it.
			db.QueryRowContext(ctx, `SELECT value FROM patient_changes WHERE uhid = ? AND field = ? AND stamp = ?`, c.uhid, c.field, newest).Scan(&it.Kept)
		}
		items = append(items, it)
	}
	return items, nil
}

func each(ctx context.Context, db journal.DBTX, q string, f func([]string)) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		f(vals)
	}
	return rows.Err()
}

var itemRE = regexp.MustCompile(`^(duplicate:[A-Z0-9]+:[A-Z0-9]+|edit:[A-Z0-9]+:[a-z_]+:[A-Z]{2}-[0-9]+:[A-Z]{2}-[0-9]+)$`)

// Reconcile marks an open item resolved, with why: not the same patient, or
// the kept value is right. A duplicate that is one patient is resolved by
// merging instead.
func Reconcile(tx *node.Tx, item, reason string) error {
	f := kavach.Fields{}
	reason = strings.TrimSpace(reason)
	if !itemRE.MatchString(item) {
		f.Add("item", "Not an item of the reconciliation list")
	}
	if reason == "" || len([]rune(reason)) > 500 {
		f.Add("reason", "Say why in 1 to 500 characters, e.g. different fathers' names")
	}
	f.Text("reason", reason)
	if err := f.Err(); err != nil {
		return err
	}
	items, err := Worklist(tx.Context(), tx)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.ID == item {
			_, err := node.Emit(tx, PatientReconciled, Reconciled{Item: item, Reason: reason})
			return err
		}
	}
	return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No open item " + item + " on the reconciliation list.", Fields: map[string]string{"item": "not open"}}
}
