package registration

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Service is registration's part of a node.
func Service() node.Service {
	return node.Service{
		Migrations: []node.Migration{{Name: "registration/001", SQL: `
CREATE TABLE patients (
	uhid              TEXT PRIMARY KEY,
	name              TEXT NOT NULL,
	name_hi           TEXT NOT NULL,
	sex               TEXT NOT NULL,
	dob               TEXT NOT NULL,
	dob_actual        INTEGER NOT NULL,
	mobile            TEXT NOT NULL,
	address           TEXT NOT NULL,
	city              TEXT NOT NULL,
	district          TEXT NOT NULL,
	state             TEXT NOT NULL,
	pin               TEXT NOT NULL,
	guardian_relation TEXT NOT NULL,
	guardian_name     TEXT NOT NULL,
	category          TEXT NOT NULL,
	category_id       TEXT NOT NULL,
	abha              TEXT NOT NULL,
	name_key          TEXT NOT NULL,
	registered        TEXT NOT NULL,
	registered_by     TEXT NOT NULL,
	merged_into       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX patients_by_mobile ON patients (mobile);
CREATE INDEX patients_by_key ON patients (name_key, dob);
CREATE INDEX patients_by_abha ON patients (abha) WHERE abha != '';
-- Every word of every name, for search by part of the name.
CREATE TABLE patient_words (
	word TEXT NOT NULL,
	uhid TEXT NOT NULL,
	PRIMARY KEY (word, uhid)
) WITHOUT ROWID;
-- What happened to a record: registered, amended, merged.
CREATE TABLE patient_history (
	uhid    TEXT NOT NULL,
	idx     INTEGER NOT NULL,
	time    TEXT NOT NULL,
	actor   TEXT NOT NULL,
	action  TEXT NOT NULL,
	details TEXT NOT NULL,
	PRIMARY KEY (uhid, idx)
) WITHOUT ROWID;
`}},
		Projectors: map[string]node.Projector{
			"patient.registered": applyRegistered,
			"patient.amended":    applyAmended,
			"patient.merged":     applyMerged,
		},
		Decoders: map[string]node.Decoder{"patient.registered": node.DecoderOf[Patient]()},
	}
}

const cols = `uhid, name, name_hi, sex, dob, dob_actual, mobile, address, city, district, state, pin,
	guardian_relation, guardian_name, category, category_id, abha, registered, registered_by, merged_into`

func scanPatient(row interface{ Scan(...any) error }) (*Patient, error) {
	var p Patient
	err := row.Scan(&p.UHID, &p.Name, &p.NameHi, &p.Sex, &p.DateOfBirth, &p.DOBActual, &p.Mobile, &p.Address,
		&p.City, &p.District, &p.State, &p.PIN, &p.GuardianRelation, &p.GuardianName, &p.Category, &p.CategoryID,
		&p.ABHA, &p.Registered, &p.RegisteredBy, &p.MergedInto)
	return &p, err
}

func history(tx *node.Tx, uhid string, e *journal.Event, action, details string) error {
	_, err := tx.Exec(`INSERT INTO patient_history (uhid, idx, time, actor, action, details) VALUES (?, ?, ?, ?, ?, ?)`,
		uhid, e.Index, e.Time.Format(journal.TimeFormat), e.Actor, action, details)
	return err
}

func indexWords(tx *node.Tx, uhid string, names ...string) error {
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
		if _, err := tx.Exec(insertWords[k-1], args...); err != nil {
			return err
		}
		words = words[k:]
	}
	return nil
}

// insertWords[k-1] inserts k rows of patient_words.
var insertWords = func() []string {
	qs := make([]string, 8)
	q := `INSERT OR IGNORE INTO patient_words (word, uhid) VALUES (?, ?)`
	for i := range qs {
		qs[i] = q
		q += `, (?, ?)`
	}
	return qs
}()

const uhidCounter = "uhid"

func applyRegistered(tx *node.Tx, e *journal.Event) error {
	var p Patient
	if err := journal.Unmarshal(e, &p); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO patients (`+cols+`, name_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?)`,
		p.UHID, p.Name, p.NameHi, p.Sex, p.DateOfBirth, p.DOBActual, p.Mobile, p.Address, p.City, p.District, p.State,
		p.PIN, p.GuardianRelation, p.GuardianName, p.Category, p.CategoryID, p.ABHA,
		e.Time.Format(journal.TimeFormat), e.Actor, NameKey(p.Name))
	if err != nil {
		return err
	}
	if err := indexWords(tx, p.UHID, p.Name); err != nil {
		return err
	}
	// The registration itself is the first line of History, read from the
	// patients row rather than written twice.
	if prefix, serial, err := idcode.Parse(p.UHID, 2); err == nil && prefix == e.Origin {
		return tx.RaiseCounter(uhidCounter, serial)
	}
	return nil
}

// Amendment is a change of demographics: the fields to change and why.
type Amendment struct {
	Changes map[string]string `json:"changes"`
	Reason  string            `json:"reason"`
	UHID    string            `json:"uhid"`
}

// amendable maps a field a clerk may change to its column.
var amendable = map[string]string{
	"name": "name", "name_hi": "name_hi", "sex": "sex", "date_of_birth": "dob", "mobile": "mobile",
	"address": "address", "city": "city", "district": "district", "state": "state", "pin": "pin",
	"guardian_relation": "guardian_relation", "guardian_name": "guardian_name", "category": "category",
	"category_id": "category_id", "abha_number": "abha",
}

func applyAmended(tx *node.Tx, e *journal.Event) error {
	var a Amendment
	if err := journal.Unmarshal(e, &a); err != nil {
		return err
	}
	keys := make([]string, 0, len(a.Changes))
	for k := range a.Changes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		col, ok := amendable[k]
		if !ok {
			return fmt.Errorf("registration: amend: unknown field %q", k)
		}
		v := a.Changes[k]
		if _, err := tx.Exec(`UPDATE patients SET `+col+` = ? WHERE uhid = ?`, v, a.UHID); err != nil {
			return err
		}
		if k == "date_of_birth" {
			if _, err := tx.Exec(`UPDATE patients SET dob_actual = 1 WHERE uhid = ?`, a.UHID); err != nil {
				return err
			}
		}
		if k == "name" {
			if _, err := tx.Exec(`UPDATE patients SET name_key = ? WHERE uhid = ?`, NameKey(v), a.UHID); err != nil {
				return err
			}
			if err := indexWords(tx, a.UHID, v); err != nil {
				return err
			}
		}
		parts = append(parts, k+" → "+v)
	}
	details := strings.Join(parts, "; ")
	if a.Reason != "" {
		details += " (" + a.Reason + ")"
	}
	return history(tx, a.UHID, e, "amended", details)
}

// Merge folds a duplicate record into the one that survives.
type Merge struct {
	From   string `json:"from"`
	Into   string `json:"into"`
	Reason string `json:"reason"`
}

func applyMerged(tx *node.Tx, e *journal.Event) error {
	var m Merge
	if err := journal.Unmarshal(e, &m); err != nil {
		return err
	}
	// Records merged into From earlier now lead to Into as well.
	if _, err := tx.Exec(`UPDATE patients SET merged_into = ? WHERE uhid = ? OR merged_into = ?`, m.Into, m.From, m.From); err != nil {
		return err
	}
	if err := history(tx, m.From, e, "merged", "merged into "+m.Into+" ("+m.Reason+")"); err != nil {
		return err
	}
	return history(tx, m.Into, e, "merged", m.From+" merged into this record ("+m.Reason+")")
}

// errNotFound is the error for a UHID with no record.
func errNotFound(uhid string) error {
	return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No patient with UHID " + uhid + "."}
}

// Registered is the outcome of a registration.
type Registered struct {
	Patient    *Patient    `json:"patient"`
	Duplicates []Candidate `json:"possible_duplicates"`
}

// Register validates np, allocates a UHID from the node's namespace and
// journals the registration. Likely duplicates never block it; they are
// returned (and their showing is audited).
func Register(tx *node.Tx, np *NewPatient) (*Registered, error) {
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
	dups, err := FindDuplicates(ctx, db, DuplicateQuery{Name: p.Name, Mobile: p.Mobile, ABHA: p.ABHA, DateOfBirth: p.DateOfBirth})
	if err != nil {
		return nil, nil, err
	}
	return p, dups, nil
}

// RegisterChecked journals a patient that Check accepted.
func RegisterChecked(tx *node.Tx, p *Patient, dups []Candidate) (*Registered, error) {
	last, err := tx.Counter(uhidCounter)
	if err != nil {
		return nil, err
	}
	p.UHID = idcode.Make(tx.Node().Info().NodeCode, last+1, 7)
	p.Registered = tx.Now.Format(journal.TimeFormat)
	p.RegisteredBy = tx.Actor
	if _, err := tx.Emit("patient.registered", p); err != nil {
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
	return &Registered{Patient: p, Duplicates: dups}, nil
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
	if p.MergedInto != "" {
		return Get(ctx, db, p.MergedInto)
	}
	return p, nil
}

// Amend validates and journals a change of demographics.
func Amend(tx *node.Tx, a Amendment) (*Patient, error) {
	cur, err := Get(tx.Context(), tx, a.UHID)
	if err != nil {
		return nil, err
	}
	if cur.MergedInto != "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "This record was merged into " + cur.MergedInto + "; amend that one."}
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
	if _, err := tx.Emit("patient.amended", Amendment{UHID: cur.UHID, Changes: changes, Reason: a.Reason}); err != nil {
		return nil, err
	}
	return Get(tx.Context(), tx, cur.UHID)
}

// MergeInto journals that from is a duplicate of into.
func MergeInto(tx *node.Tx, m Merge) error {
	m.Reason = clean(m.Reason)
	f := kavach.Fields{}
	if m.From == m.Into {
		f.Add("into", "A record cannot be merged into itself")
	}
	if m.Reason == "" {
		f.Add("reason", "Reason is required")
	}
	if err := f.Err(); err != nil {
		return err
	}
	from, err := Get(tx.Context(), tx, m.From)
	if err != nil {
		return err
	}
	into, err := Get(tx.Context(), tx, m.Into)
	if err != nil {
		return err
	}
	if from.MergedInto != "" {
		return &kavach.Error{Code: kavach.ECONFLICT, Message: from.UHID + " was already merged into " + from.MergedInto + "."}
	}
	if into.MergedInto != "" {
		return &kavach.Error{Code: kavach.ECONFLICT, Message: into.UHID + " was merged into " + into.MergedInto + "; merge into that one."}
	}
	_, err = tx.Emit("patient.merged", m)
	return err
}

// HistoryEntry is one line of a record's history.
type HistoryEntry struct {
	Time    time.Time `json:"time"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Details string    `json:"details"`
}

// History returns what happened to a record, oldest first, starting with its
// registration.
func History(ctx context.Context, db journal.DBTX, uhid string) ([]HistoryEntry, error) {
	p, err := Get(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	reg, _ := time.Parse(journal.TimeFormat, p.Registered)
	hs := []HistoryEntry{{Time: reg, Actor: p.RegisteredBy, Action: "registered", Details: "UHID " + p.UHID}}
	rows, err := db.QueryContext(ctx, `SELECT time, actor, action, details FROM patient_history WHERE uhid = ? ORDER BY idx`, uhid)
	if err != nil {
		return nil, fmt.Errorf("registration: history %s: %w", uhid, err)
	}
	defer rows.Close()
	for rows.Next() {
		var h HistoryEntry
		var t string
		if err := rows.Scan(&t, &h.Actor, &h.Action, &h.Details); err != nil {
			return nil, err
		}
		h.Time, _ = time.Parse(journal.TimeFormat, t)
		hs = append(hs, h)
	}
	return hs, rows.Err()
}
