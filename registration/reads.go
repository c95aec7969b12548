package registration

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Registration's read functions: other services read patients only through
// these (docs/architecture.md).

const cols = `uhid, name, name_hi, sex, dob, dob_actual, mobile, address, city, district, state, pin,
	guardian_relation, guardian_name, category, category_id, abha, registered, registered_by, merged_into`

func scanPatient(row interface{ Scan(...any) error }) (*Patient, error) {
	var p Patient
	err := row.Scan(&p.UHID, &p.Name, &p.NameHi, &p.Sex, &p.DateOfBirth, &p.DOBActual, &p.Mobile, &p.Address,
		&p.City, &p.District, &p.State, &p.PIN, &p.GuardianRelation, &p.GuardianName, &p.Category, &p.CategoryID,
		&p.ABHA, &p.Registered, &p.RegisteredBy, &p.MergedInto)
	return &p, err
}

// Get returns a patient by UHID. A merged record is returned as it is; the
// caller follows MergedInto (Resolve does).
func Get(ctx context.Context, db journal.DBTX, uhid string) (*Patient, error) {
	p, err := scanPatient(db.QueryRowContext(ctx, `SELECT `+cols+` FROM patients WHERE uhid = ?`, uhid))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound(uhid)
	}
	if err != nil {
		return nil, fmt.Errorf("registration: get %s: %w", uhid, err)
	}
	return p, nil
}

// Resolve parses a typed UHID and returns the record it leads to, following merges.
func Resolve(ctx context.Context, db journal.DBTX, typed string) (*Patient, error) {
	uhid, err := ParseUHID(typed)
	if err != nil {
		return nil, err
	}
	p, err := Get(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	return Survivor(ctx, db, p)
}

// maxMergeChain bounds how many merges Survivor follows.
const maxMergeChain = 16

// Survivor returns the record p was merged into, following a chain of
// merges (A into B, then B into C), or p itself if it was not merged. A
// cycle (two nodes, cut off from each other, merged each record into the
// other) ends at the record of the cycle with the smallest UHID, the same
// on every node.
func Survivor(ctx context.Context, db journal.DBTX, p *Patient) (*Patient, error) {
	var path []*Patient
	at := map[string]int{}
	for p.MergedInto != "" && len(path) < maxMergeChain {
		at[p.UHID] = len(path)
		path = append(path, p)
		if i, ok := at[p.MergedInto]; ok {
			best := path[i]
			for _, q := range path[i+1:] {
				if q.UHID < best.UHID {
					best = q
				}
			}
			return best, nil
		}
		q, err := Get(ctx, db, p.MergedInto)
		if err != nil {
			return nil, err
		}
		p = q
	}
	return p, nil
}

// HistoryEntry is one line of a record's history.
type HistoryEntry struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Details string    `json:"details"`
	// Other is the UHID of another record the details name, as a merge's
	// do ("merged into …"); the page links to it.
	Other string `json:"other,omitempty"`
}

// Before is the details before the other record's UHID; After, after it.
func (h HistoryEntry) Before() string { b, _, _ := strings.Cut(h.Details, h.Other); return b }

// After is the details after the other record's UHID.
func (h HistoryEntry) After() string { _, a, _ := strings.Cut(h.Details, h.Other); return a }

// otherUHID finds the first UHID in details other than uhid.
func otherUHID(details, uhid string) string {
	for _, w := range strings.FieldsFunc(details, func(r rune) bool { return r == ' ' || r == '(' || r == ')' || r == ',' || r == ';' }) {
		if u, err := ParseUHID(w); err == nil && u == w && u != uhid {
			return u
		}
	}
	return ""
}

// History returns what happened to a record, oldest first, starting with its
// registration.
func History(ctx context.Context, db journal.DBTX, uhid string) ([]HistoryEntry, error) {
	p, err := Get(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	reg, _ := time.Parse(journal.TimeFormat, p.Registered)
	hs := []HistoryEntry{{Time: reg, Actor: p.RegisteredBy, Action: "registered", Details: "UHID " + idcode.ShowUHID(p.UHID)}}
	rows, err := db.QueryContext(ctx, `SELECT time, origin, seq, actor, action, details FROM patient_history WHERE uhid = ? ORDER BY time, origin, seq`, uhid)
	if err != nil {
		return nil, fmt.Errorf("registration: history %s: %w", uhid, err)
	}
	var amended []int // indexes in hs of amendments, with their stamps
	var stamps []string
	for rows.Next() {
		var h HistoryEntry
		var t, origin string
		var seq uint64
		if err := rows.Scan(&t, &origin, &seq, &h.Actor, &h.Action, &h.Details); err != nil {
			rows.Close()
			return nil, err
		}
		h.Time, _ = time.Parse(journal.TimeFormat, t)
		h.Other = otherUHID(h.Details, uhid)
		if h.Action == "amended" {
			amended = append(amended, len(hs))
			stamps = append(stamps, node.Stamp(&journal.Event{Time: h.Time, Origin: origin, Seq: seq}))
		}
		hs = append(hs, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(amended) > 0 {
		if err := oldToNew(ctx, db, uhid, hs, amended, stamps); err != nil {
			return nil, err
		}
	}
	return hs, nil
}

// oldToNew rewrites the details of the amendments hs[amended[i]], made at
// stamps[i], to name each changed field's value before and after:
// "mobile: 9811111111 → 9822222222 (reason)". The value before is the
// field's newest earlier change, or the value it was registered with; "—"
// if it was empty.
func oldToNew(ctx context.Context, db journal.DBTX, uhid string, hs []HistoryEntry, amended []int, stamps []string) error {
	type change struct{ field, stamp, value string }
	var changes []change // by field, then stamp
	rows, err := db.QueryContext(ctx, `SELECT field, stamp, value FROM patient_changes WHERE uhid = ? ORDER BY field, stamp`, uhid)
	if err != nil {
		return fmt.Errorf("registration: changes of %s: %w", uhid, err)
	}
	for rows.Next() {
		var c change
		if err := rows.Scan(&c.field, &c.stamp, &c.value); err != nil {
			rows.Close()
			return err
		}
		changes = append(changes, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	registered := map[string]any{}
	var data string
	if err := db.QueryRowContext(ctx, `SELECT data FROM patient_registered WHERE uhid = ?`, uhid).Scan(&data); err == nil {
		json.Unmarshal([]byte(data), &registered)
	} else if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("registration: registered values of %s: %w", uhid, err)
	}
	for i, at := range amended {
		var parts, written []string
		for j, c := range changes {
			if c.stamp != stamps[i] {
				continue
			}
			before, _ := registered[c.field].(string)
			if j > 0 && changes[j-1].field == c.field {
				before = changes[j-1].value
			}
			if before == "" {
				before = "—"
			}
			parts = append(parts, c.field+": "+before+" → "+c.value)
			written = append(written, c.field+" → "+c.value)
		}
		if len(parts) == 0 {
			continue // the changes are not known here: keep the details as written
		}
		h := &hs[at]
		reason, ok := strings.CutPrefix(h.Details, strings.Join(written, "; "))
		if !ok {
			continue
		}
		h.Details = strings.Join(parts, "; ") + reason
		h.Other = otherUHID(h.Details, uhid)
	}
	return nil
}

// GetMany returns the patients with the given UHIDs, by UHID; one not found
// is left out.
func GetMany(ctx context.Context, db journal.DBTX, uhids []string) (map[string]*Patient, error) {
	out := make(map[string]*Patient, len(uhids))
	for len(uhids) > 0 {
		k := min(len(uhids), 100)
		args := make([]any, k)
		for i, u := range uhids[:k] {
			args[i] = u
		}
		rows, err := db.QueryContext(ctx, `SELECT `+cols+` FROM patients WHERE uhid IN (?`+strings.Repeat(`, ?`, k-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("registration: patients: %w", err)
		}
		for rows.Next() {
			p, err := scanPatient(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[p.UHID] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		uhids = uhids[k:]
	}
	return out, nil
}

// Family returns uhid and every record merged into it, directly or through
// others: a service's reads of a surviving record (its account, its lab
// reports) include the merged records' rows.
func Family(ctx context.Context, db journal.DBTX, uhid string) ([]string, error) {
	out := []string{uhid}
	seen := map[string]bool{uhid: true}
	for i := 0; i < len(out) && i < 1000; i++ {
		rows, err := db.QueryContext(ctx, `SELECT uhid FROM patients WHERE merged_into = ?`, out[i])
		if err != nil {
			return nil, fmt.Errorf("registration: records merged into %s: %w", out[i], err)
		}
		for rows.Next() {
			var u string
			if err := rows.Scan(&u); err != nil {
				rows.Close()
				return nil, err
			}
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}
