package registration

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// errNotFound is the error for a UHID with no record.
func errNotFound(uhid string) error {
	return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No patient with UHID " + idcode.ShowUHID(uhid) + "."}
}

// Registration is the outcome of a registration.
type Registration struct {
	Patient    *Patient    `json:"patient"`
	Duplicates []Candidate `json:"possible_duplicates"`
}

// Register validates np, allocates a UHID from the node's namespace and
// journals the registration. Likely duplicates never block it; they are
// returned (and their showing is audited).
func Register(tx *node.Tx, np *NewPatient) (*Registration, error) {
	p, dups, err := Check(tx.Context(), tx, np, tx.Now)
	if err != nil {
		return nil, err
	}
	return RegisterChecked(tx, p, dups)
}

// Check validates np and looks for likely duplicates. The API runs it on the
// read pool before the writer, keeping the writer's work short; a duplicate
// registered in the same instant may then go unwarned, which is acceptable
// for a warning.
func Check(ctx context.Context, db journal.DBTX, np *NewPatient, now time.Time) (*Patient, []Candidate, error) {
	p, err := np.Validate(now)
	if err != nil {
		return nil, nil, err
	}
	dups, err := FindDuplicates(ctx, db, DuplicateQuery{Today: now, Name: p.Name, Mobile: p.Mobile, ABHA: p.ABHA, DateOfBirth: p.DateOfBirth})
	if err != nil {
		return nil, nil, err
	}
	return p, dups, nil
}

// RegisterChecked journals a patient that Check accepted.
func RegisterChecked(tx *node.Tx, p *Patient, dups []Candidate) (*Registration, error) {
	last, err := tx.Counter(uhidCounter)
	if err != nil {
		return nil, err
	}
	if last+1 >= KitFirst {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "This node has issued all its UHIDs: enrol a new site node for this counter."}
	}
	p.UHID = idcode.Make(tx.Node().Info().NodeCode, last+1, 7)
	p.Registered = tx.Now.Format(journal.TimeFormat)
	p.RegisteredBy = tx.Actor
	if _, err := node.Emit(tx, PatientRegistered, p.registered()); err != nil {
		return nil, err
	}
	if len(dups) > 0 {
		uhids := make([]string, len(dups))
		for i, d := range dups {
			uhids[i] = d.UHID
		}
		if err := audit.Record(tx, "duplicate-warning", uhids...); err != nil {
			return nil, err
		}
	}
	return &Registration{Patient: p, Duplicates: dups}, nil
}

// Amendment is a change of demographics: the fields to change, by their
// API names, and why.
type Amendment struct {
	UHID    string
	Changes map[string]string
	Reason  string
}

// Amend validates and journals a change of demographics.
func Amend(tx *node.Tx, a Amendment) (*Patient, error) {
	cur, err := Get(tx.Context(), tx, a.UHID)
	if err != nil {
		return nil, err
	}
	if cur.MergedInto != "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "This record was merged into " + idcode.ShowUHID(cur.MergedInto) + "; amend that one."}
	}
	// Validate the amended record as a whole, as a registration would be.
	np := NewPatient{Name: cur.Name, NameHi: cur.NameHi, Sex: cur.Sex, DateOfBirth: cur.DateOfBirth, Mobile: cur.Mobile,
		Address: cur.Address, City: cur.City, District: cur.District, State: cur.State, PIN: cur.PIN,
		GuardianRelation: cur.GuardianRelation, GuardianName: cur.GuardianName, Category: cur.Category,
		CategoryID: cur.CategoryID, ABHA: cur.ABHA}
	fields := map[string]*string{"name": &np.Name, "name_hi": &np.NameHi, "sex": &np.Sex, "date_of_birth": &np.DateOfBirth,
		"mobile": &np.Mobile, "address": &np.Address, "city": &np.City, "district": &np.District, "state": &np.State,
		"pin": &np.PIN, "guardian_relation": &np.GuardianRelation, "guardian_name": &np.GuardianName,
		"category": &np.Category, "category_id": &np.CategoryID, "abha_number": &np.ABHA}
	bad := kavach.Fields{}
	for k, v := range a.Changes {
		ptr, ok := fields[k]
		if !ok {
			bad.Add(k, "This field cannot be amended")
			continue
		}
		*ptr = v
	}
	if err := bad.Err(); err != nil {
		return nil, err
	}
	next, err := np.Validate(tx.Now)
	if err != nil {
		return nil, err
	}
	if !next.DOBActual {
		next.DateOfBirth = cur.DateOfBirth
	}
	after := map[string]string{"name": next.Name, "name_hi": next.NameHi, "sex": next.Sex, "date_of_birth": next.DateOfBirth,
		"mobile": next.Mobile, "address": next.Address, "city": next.City, "district": next.District, "state": next.State,
		"pin": next.PIN, "guardian_relation": next.GuardianRelation, "guardian_name": next.GuardianName,
		"category": next.Category, "category_id": next.CategoryID, "abha_number": next.ABHA}
	before := map[string]string{"name": cur.Name, "name_hi": cur.NameHi, "sex": cur.Sex, "date_of_birth": cur.DateOfBirth,
		"mobile": cur.Mobile, "address": cur.Address, "city": cur.City, "district": cur.District, "state": cur.State,
		"pin": cur.PIN, "guardian_relation": cur.GuardianRelation, "guardian_name": cur.GuardianName,
		"category": cur.Category, "category_id": cur.CategoryID, "abha_number": cur.ABHA}
	changes := map[string]string{}
	for k := range a.Changes {
		if after[k] != before[k] || (k == "date_of_birth" && !cur.DOBActual) {
			changes[k] = after[k]
		}
	}
	if len(changes) == 0 {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Nothing to change.", Fields: map[string]string{"changes": "No field differs from the record"}}
	}
	a.Reason = clean(a.Reason)
	if a.Reason == "" {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Please give a reason for the change.", Fields: map[string]string{"reason": "Reason is required"}}
	}
	f := kavach.Fields{}
	checkReason(f, a.Reason)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := node.Emit(tx, PatientAmended, Amended{UHID: cur.UHID, Changes: changes, Reason: a.Reason}); err != nil {
		return nil, err
	}
	return Get(tx.Context(), tx, cur.UHID)
}

// maxReason is the longest reason an amendment, a merge or an unmerge
// takes, in characters (a Devanagari letter is one, though three bytes).
const maxReason = 200

// checkReason records what is wrong with a reason already cleaned, if
// anything; whether one is required is the caller's to say.
func checkReason(f kavach.Fields, reason string) {
	if utf8.RuneCountInString(reason) > maxReason {
		f.Add("reason", "Reason must be at most 200 characters")
	}
	f.Text("reason", reason)
}

// Merge folds a duplicate record into the one that survives.
type Merge struct {
	From, Into, Reason string
}

// MergeInto journals that from is a duplicate of into. A merge hides a
// record, so it takes two people: with direct (the user may merge: a
// medical records officer) it is done at once; otherwise the first request
// waits, and the same merge asked by another user confirms it. merged
// reports whether the merge was done (false: it waits for a second person).
func MergeInto(tx *node.Tx, m Merge, direct bool) (merged bool, err error) {
	m.Reason = clean(m.Reason)
	if _, _, err := CheckMerge(tx.Context(), tx, m); err != nil {
		return false, err
	}
	if !direct {
		requesters, err := pendingMerge(tx, m.From, m.Into)
		if err != nil {
			return false, err
		}
		confirmed := false
		for _, r := range requesters {
			confirmed = confirmed || r != tx.Actor
		}
		if !confirmed {
			if len(requesters) > 0 {
				return false, &kavach.Error{Code: kavach.ECONFLICT, Message: "You asked for this merge already: another person must confirm it."}
			}
			_, err := node.Emit(tx, MergeRequested, Merged(m))
			return false, err
		}
	}
	_, err = node.Emit(tx, PatientMerged, Merged(m))
	return err == nil, err
}

// CheckMerge returns the two records of a merge if it may be made: a
// reason, two records, neither merged already. The merge page checks with
// it before it asks to confirm; MergeInto checks again when it merges.
func CheckMerge(ctx context.Context, db journal.DBTX, m Merge) (from, into *Patient, err error) {
	m.Reason = clean(m.Reason)
	f := kavach.Fields{}
	if m.From == m.Into {
		f.Add("into", "A record cannot be merged into itself")
	}
	if m.Reason == "" {
		f.Add("reason", "Reason is required")
	}
	checkReason(f, m.Reason)
	if err := f.Err(); err != nil {
		return nil, nil, err
	}
	if from, err = Get(ctx, db, m.From); err != nil {
		return nil, nil, err
	}
	if into, err = Get(ctx, db, m.Into); err != nil {
		return nil, nil, err
	}
	if from.MergedInto != "" {
		return nil, nil, &kavach.Error{Code: kavach.ECONFLICT, Message: from.UHID + " was already merged into " + from.MergedInto + "."}
	}
	if into.MergedInto != "" {
		return nil, nil, &kavach.Error{Code: kavach.ECONFLICT, Message: into.UHID + " was merged into " + into.MergedInto + "; merge into that one."}
	}
	return from, into, nil
}

// pendingMerge lists who asked for a merge of from into into that is not
// done yet.
func pendingMerge(tx *node.Tx, from, into string) ([]string, error) {
	rows, err := tx.Query(`SELECT requested_by FROM merge_requests WHERE from_uhid = ? AND into_uhid = ? AND settled = ''`, from, into)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Unmerge undoes a merge: from becomes a record of its own again.
func Unmerge(tx *node.Tx, from, reason string) (*Patient, error) {
	reason = clean(reason)
	f := kavach.Fields{}
	if reason == "" {
		f.Add("reason", "Reason is required")
	}
	checkReason(f, reason)
	if err := f.Err(); err != nil {
		return nil, err
	}
	p, err := Get(tx.Context(), tx, from)
	if err != nil {
		return nil, err
	}
	if p.MergedInto == "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: p.UHID + " is not merged into another record."}
	}
	if _, err := node.Emit(tx, PatientUnmerged, Unmerged{From: p.UHID, Into: p.MergedInto, Reason: reason}); err != nil {
		return nil, err
	}
	return Get(tx.Context(), tx, from)
}

// MergeRequest is a merge that waits for a second person.
type MergeRequest struct {
	From, Into, RequestedBy, Reason string
	Time                            time.Time
}

// PendingMerges lists the merges of a record that wait for a second person.
func PendingMerges(ctx context.Context, db journal.DBTX, uhid string) ([]MergeRequest, error) {
	rows, err := db.QueryContext(ctx, `SELECT from_uhid, into_uhid, requested_by, reason, time FROM merge_requests
		WHERE (from_uhid = ? OR into_uhid = ?) AND settled = '' ORDER BY time, origin, seq`, uhid, uhid)
	if err != nil {
		return nil, fmt.Errorf("registration: merge requests of %s: %w", uhid, err)
	}
	defer rows.Close()
	var out []MergeRequest
	for rows.Next() {
		var m MergeRequest
		var t string
		if err := rows.Scan(&m.From, &m.Into, &m.RequestedBy, &m.Reason, &t); err != nil {
			return nil, err
		}
		m.Time, _ = time.Parse(journal.TimeFormat, t)
		out = append(out, m)
	}
	return out, rows.Err()
}
