// Package opd is the outpatient department: departments with their rooms and
// days, visits with a token per department per day, the OPD slip's contents
// and a doctor's queue.
package opd

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"embed"

	"kavach"
	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is the OPD's part of a node: its tables and events.
func Data() node.Service {
	return node.Service{
		Name: "opd",
		Migrations: node.Migrations("opd", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"002": migrateOrigins,
			"004": migrateCharges,
		}),
		Events: events,
	}
}

// ValidityDays is how long a slip lets the patient return without a new one.
const ValidityDays = 14

// Department is a clinical department that runs an OPD.
type Department struct {
	Code   string `json:"code"`
	Days   string `json:"days"` // "Mon–Sat", "Mon, Wed, Fri"
	Doctor string `json:"doctor"`
	Name   string `json:"name"`
	NameHi string `json:"name_hi"`
	Room   string `json:"room"`
	Unit   string `json:"unit"`
}

// Visit is one OPD visit.
type Visit struct {
	Date       string `json:"date"`
	Department string `json:"department"`
	Fee        int64  `json:"fee_paise"`
	Kind       string `json:"kind"` // "new" or "revisit"
	Opened     string `json:"opened_at"`
	OpenedBy   string `json:"opened_by"`
	Seen       string `json:"seen_at,omitempty"`
	SeenBy     string `json:"seen_by,omitempty"`
	Token      int    `json:"token"`
	UHID       string `json:"uhid"`
	ID         string `json:"visit_id"`
}

// TokenText is the token as the slip and the queue show it: the number,
// or for a site node's token (from its block, node.TokenBlock) the site's
// code and the number within it, KB-17; "" for no token.
func (v *Visit) TokenText() string {
	switch {
	case v.Token <= 0:
		return ""
	case v.Token < node.TokenBlock || len(v.ID) < 2:
		return strconv.Itoa(v.Token)
	}
	return v.ID[:2] + "-" + strconv.Itoa(v.Token%node.TokenBlock)
}

// OpenedTime is when the visit was opened, in the hospital's zone.
func (v *Visit) OpenedTime() time.Time {
	t, _ := time.Parse(journal.TimeFormat, v.Opened)
	return t.In(kavach.Zone)
}

// ValidUpTo is the last day the slip is valid.
func (v *Visit) ValidUpTo() time.Time {
	d, _ := time.ParseInLocation("2006-01-02", v.Date, kavach.Zone)
	return d.AddDate(0, 0, ValidityDays)
}

var deptRE = regexp.MustCompile(`^[A-Z]{2,6}$`)

// AddDepartment journals a department (or changes one).
func AddDepartment(tx *node.Tx, d Department) error {
	f := kavach.Fields{}
	d.Code = strings.ToUpper(strings.TrimSpace(d.Code))
	if !deptRE.MatchString(d.Code) {
		f.Add("code", "Department code must be 2 to 6 capital letters")
	}
	if strings.TrimSpace(d.Name) == "" {
		f.Add("name", "Department name is required")
	}
	for field, v := range map[string]string{"name": d.Name, "name_hi": d.NameHi, "room": d.Room, "days": d.Days, "unit": d.Unit, "doctor": d.Doctor} {
		f.Text(field, v)
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := node.Emit(tx, DepartmentAdded, DepartmentDefined(d))
	return err
}

// Departments lists the departments.
func Departments(ctx context.Context, db journal.DBTX) ([]Department, error) {
	rows, err := db.QueryContext(ctx, `SELECT code, name, name_hi, room, days, unit, doctor FROM departments ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("opd: departments: %w", err)
	}
	defer rows.Close()
	var ds []Department
	for rows.Next() {
		var d Department
		if err := rows.Scan(&d.Code, &d.Name, &d.NameHi, &d.Room, &d.Days, &d.Unit, &d.Doctor); err != nil {
			return nil, err
		}
		ds = append(ds, d)
	}
	return ds, rows.Err()
}

// GetDepartment returns one department.
func GetDepartment(ctx context.Context, db journal.DBTX, code string) (*Department, error) {
	var d Department
	err := db.QueryRowContext(ctx, `SELECT code, name, name_hi, room, days, unit, doctor FROM departments WHERE code = ?`, code).
		Scan(&d.Code, &d.Name, &d.NameHi, &d.Room, &d.Days, &d.Unit, &d.Doctor)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No department " + code + ".", Fields: map[string]string{"department": "Unknown department " + code}}
	}
	if err != nil {
		return nil, fmt.Errorf("opd: department %s: %w", code, err)
	}
	return &d, nil
}

// NewVisit is a request to open a visit.
type NewVisit struct {
	UHID       string `json:"uhid"`
	Department string `json:"department"`
	Kind       string `json:"kind"` // optional: "new" or "revisit"; decided from history if empty
	// A second visit to a department the same day is refused (the
	// existing one is reprinted) unless NewToken asks for one, with a
	// Reason.
	NewToken bool   `json:"new_token"`
	Reason   string `json:"reason"`
}

// DuplicateVisit is the refusal of a second visit to a department the same
// day: it names the visit the patient already has.
type DuplicateVisit struct {
	Err   *kavach.Error
	Visit *Visit
}

func (d *DuplicateVisit) Error() string { return d.Err.Error() }
func (d *DuplicateVisit) Unwrap() error { return d.Err }

// Open opens a visit: it checks the patient and department, decides new or
// revisit, takes the next token of the department's day and the fee from the
// tariff, and journals it.
func Open(tx *node.Tx, nv NewVisit) (*Visit, error) {
	ctx := tx.Context()
	f := kavach.Fields{}
	dept := strings.ToUpper(strings.TrimSpace(nv.Department))
	if dept == "" {
		f.Add("department", "Department is required")
	}
	if strings.TrimSpace(nv.UHID) == "" {
		f.Add("uhid", "UHID is required")
	}
	kind := strings.ToLower(strings.TrimSpace(nv.Kind))
	if kind != "" && kind != "new" && kind != "revisit" {
		f.Add("kind", "Visit kind must be new or revisit")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	uhid, err := registration.ParseUHID(nv.UHID)
	if err != nil {
		return nil, err
	}
	// The patient, followed through merges, whose category decides the fee.
	p, err := registration.Get(ctx, tx, uhid)
	if err != nil {
		if kavach.ErrorCode(err) == kavach.ENOTFOUND {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "No patient with UHID " + idcode.ShowUHID(uhid) + ".", Fields: map[string]string{"uhid": "No patient with this UHID"}}
		}
		return nil, err
	}
	if p, err = registration.Survivor(ctx, tx, p); err != nil {
		return nil, err
	}
	uhid = p.UHID
	if _, err := tx.Cached("opd.department:"+dept, func() (any, error) { return GetDepartment(ctx, tx, dept) }); err != nil {
		var ke *kavach.Error
		if errors.As(err, &ke) && ke.Code == kavach.ENOTFOUND {
			ke.Code = kavach.EINVALID
		}
		return nil, err
	}
	if kind == "" {
		var seenBefore bool
		err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM visits WHERE uhid = ? AND department = ?)`, uhid, dept).Scan(&seenBefore)
		if err != nil {
			return nil, fmt.Errorf("opd: visits of %s: %w", uhid, err)
		}
		kind = "new"
		if seenBefore {
			kind = "revisit"
		}
	}
	date, dayStart := kavach.Day(tx.Now), kavach.DayStart(tx.Now)
	// The same department the same day: the visit the patient has, unless
	// a new token is asked for, with a reason.
	nv.Reason = strings.TrimSpace(nv.Reason)
	var earlier string
	err = tx.QueryRow(`SELECT id FROM visits WHERE uhid = ? AND department = ? AND date = ? ORDER BY opened LIMIT 1`, uhid, dept, date).Scan(&earlier)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		earlier = ""
	case err != nil:
		return nil, fmt.Errorf("opd: visits of %s: %w", uhid, err)
	}
	if earlier != "" && !(nv.NewToken && nv.Reason != "") {
		prev, err := GetVisit(ctx, tx, earlier)
		if err != nil {
			return nil, err
		}
		e := &kavach.Error{Code: kavach.ECONFLICT, Message: fmt.Sprintf("%s already has today's %s visit %s (token %s): reprint its slip, or ask for a new token with a reason.", uhid, dept, prev.ID, prev.TokenText())}
		if nv.NewToken {
			e = &kavach.Error{Code: kavach.EINVALID, Message: "Say why the patient needs a second token today.", Fields: map[string]string{"reason": "Say why a new token is needed"}}
		}
		return nil, &DuplicateVisit{Err: e, Visit: prev}
	}
	if earlier != "" {
		f := kavach.Fields{}
		f.Note("reason", nv.Reason, 200)
		if err := f.Err(); err != nil {
			return nil, err
		}
	}
	tok, err := tx.DailyCounter(tokenCounter(dept, date), dayStart)
	if err != nil {
		return nil, err
	}
	// A site node's tokens are from its own block (1000001…, shown as
	// KB-1…), so that two counters cut off from each other never give one
	// token twice.
	ns, err := tx.Namespace()
	if err != nil {
		return nil, err
	}
	tok = max(tok, ns.TokenBase)
	if tok >= ns.TokenLimit() {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: fmt.Sprintf("Department %s has given all of this node's tokens for today (up to %d).", dept, ns.TokenLimit())}
	}
	serial, err := tx.Counter(visitCounter)
	if err != nil {
		return nil, err
	}
	fee, err := billing.FeeFor(tx, "opd."+kind, p.Category)
	if err != nil {
		return nil, err
	}
	v := &Visit{
		ID:         idcode.Make(tx.Node().Info().NodeCode+"V", serial+1, 8),
		UHID:       uhid,
		Department: dept,
		Date:       date,
		Token:      int(tok) + 1,
		Kind:       kind,
		Fee:        fee,
	}
	if _, err := node.Emit(tx, VisitOpened, Opened{Date: v.Date, Department: v.Department, Fee: v.Fee, Kind: v.Kind,
		Token: v.Token, UHID: v.UHID, ID: v.ID}); err != nil {
		return nil, err
	}
	if earlier != "" {
		if _, err := node.Emit(tx, VisitRepeated, Repeated{Earlier: earlier, Reason: nv.Reason, VisitID: v.ID}); err != nil {
			return nil, err
		}
	}
	v.Opened, v.OpenedBy = tx.Now.Format(journal.TimeFormat), tx.Actor
	return v, nil
}

// MarkSeen records that the doctor saw the patient of a visit.
func MarkSeen(tx *node.Tx, visitID string) (*Visit, error) {
	v, err := GetVisit(tx.Context(), tx, visitID)
	if err != nil {
		return nil, err
	}
	if v.Seen != "" {
		return v, nil
	}
	if _, err := node.Emit(tx, VisitSeen, Seen{v.ID}); err != nil {
		return nil, err
	}
	return GetVisit(tx.Context(), tx, v.ID)
}

// MarkUnseen undoes a visit's seen mark: the patient waits in the queue
// again, with their token. A visit not seen is left as it is.
func MarkUnseen(tx *node.Tx, visitID string) (*Visit, error) {
	v, err := GetVisit(tx.Context(), tx, visitID)
	if err != nil {
		return nil, err
	}
	if v.Seen == "" {
		return v, nil
	}
	if _, err := node.Emit(tx, VisitUnseen, Unseen{v.ID}); err != nil {
		return nil, err
	}
	return GetVisit(tx.Context(), tx, v.ID)
}

const visitCols = `id, uhid, department, date, token, kind, fee, opened, opened_by, seen, seen_by`

func scanVisit(row interface{ Scan(...any) error }) (*Visit, error) {
	var v Visit
	err := row.Scan(&v.ID, &v.UHID, &v.Department, &v.Date, &v.Token, &v.Kind, &v.Fee, &v.Opened, &v.OpenedBy, &v.Seen, &v.SeenBy)
	return &v, err
}

// GetVisit returns a visit by its number.
func GetVisit(ctx context.Context, db journal.DBTX, id string) (*Visit, error) {
	id = idcode.Normalize(id)
	v, err := scanVisit(db.QueryRowContext(ctx, `SELECT `+visitCols+` FROM visits WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No visit " + id + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("opd: visit %s: %w", id, err)
	}
	return v, nil
}

// PatientVisits lists the visits of the given records, newest first: one
// patient's, or a surviving record's family (registration.Family) with the
// visits of the records merged into it; each visit names its own UHID.
func PatientVisits(ctx context.Context, db journal.DBTX, uhids ...string) ([]Visit, error) {
	if len(uhids) == 0 {
		return []Visit{}, nil
	}
	args := make([]any, 0, len(uhids)+1)
	for _, u := range uhids {
		args = append(args, u)
	}
	return list(ctx, db, `SELECT `+visitCols+` FROM visits WHERE uhid IN (?`+strings.Repeat(`, ?`, len(uhids)-1)+`) ORDER BY opened DESC LIMIT 200`, args...)
}

// VisitCount counts the visits of the given records.
func VisitCount(ctx context.Context, db journal.DBTX, uhids ...string) (int, error) {
	if len(uhids) == 0 {
		return 0, nil
	}
	args := make([]any, 0, len(uhids))
	for _, u := range uhids {
		args = append(args, u)
	}
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM visits WHERE uhid IN (?`+strings.Repeat(`, ?`, len(uhids)-1)+`)`, args...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("opd: visits of %s: %w", uhids[0], err)
	}
	return n, nil
}

// QueueEntry is a visit in a department's queue with who the patient is.
type QueueEntry struct {
	Visit
	Name    string `json:"name"`
	Sex     string `json:"sex"`
	AgeText string `json:"age"` // as a slip shows it: "40 Y", "7 M"
}

// Queue lists a department's visits on a date in token order, with who
// each patient is (through registration's reads).
func Queue(ctx context.Context, db journal.DBTX, dept, date string) ([]QueueEntry, error) {
	vs, err := list(ctx, db, `SELECT `+visitCols+` FROM visits WHERE department = ? AND date = ? ORDER BY token`, dept, date)
	if err != nil {
		return nil, fmt.Errorf("opd: queue %s %s: %w", dept, date, err)
	}
	uhids := make([]string, len(vs))
	for i := range vs {
		uhids[i] = vs[i].UHID
	}
	ps, err := registration.GetMany(ctx, db, uhids)
	if err != nil {
		return nil, fmt.Errorf("opd: queue %s %s: %w", dept, date, err)
	}
	day, _ := time.ParseInLocation("2006-01-02", date, kavach.Zone)
	q := make([]QueueEntry, 0, len(vs))
	for _, v := range vs {
		e := QueueEntry{Visit: v}
		if p := ps[v.UHID]; p != nil {
			e.Name, e.Sex, e.AgeText = p.Name, p.Sex, p.AgeText(day)
		}
		q = append(q, e)
	}
	return q, nil
}

func list(ctx context.Context, db journal.DBTX, q string, args ...any) ([]Visit, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("opd: visits: %w", err)
	}
	defer rows.Close()
	vs := []Visit{}
	for rows.Next() {
		v, err := scanVisit(rows)
		if err != nil {
			return nil, err
		}
		vs = append(vs, *v)
	}
	return vs, rows.Err()
}
