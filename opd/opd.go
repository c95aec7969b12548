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
	"strings"
	"time"
	_ "time/tzdata" // the hospital's zone must resolve on any machine

	"kavach"
	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// Zone is the hospital's local time: tokens and queues run by its day.
var Zone, _ = time.LoadLocation("Asia/Kolkata")

// ValidityDays is how long a slip lets the patient return without a new one.
const ValidityDays = 14

// Service is the OPD's part of a node.
func Service() node.Service {
	return node.Service{
		Migrations: []node.Migration{{Name: "opd/001", SQL: `
CREATE TABLE departments (
	code    TEXT PRIMARY KEY,
	name    TEXT NOT NULL,
	name_hi TEXT NOT NULL,
	room    TEXT NOT NULL,
	days    TEXT NOT NULL,
	unit    TEXT NOT NULL,
	doctor  TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE visits (
	id         TEXT PRIMARY KEY,
	uhid       TEXT NOT NULL,
	department TEXT NOT NULL,
	date       TEXT NOT NULL,
	token      INTEGER NOT NULL,
	kind       TEXT NOT NULL,
	fee        INTEGER NOT NULL,
	opened     TEXT NOT NULL,
	opened_by  TEXT NOT NULL,
	seen       TEXT NOT NULL DEFAULT '',
	seen_by    TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX visits_queue ON visits (department, date, token);
CREATE INDEX visits_by_patient ON visits (uhid, department);
`}},
		Projectors: map[string]node.Projector{
			"department.added": applyDepartment,
			"visit.opened":     applyOpened,
			"visit.seen":       applySeen,
		},
		Decoders: map[string]node.Decoder{"visit.opened": node.DecoderOf[Visit]()},
	}
}

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

// OpenedTime is when the visit was opened, in the hospital's zone.
func (v *Visit) OpenedTime() time.Time {
	t, _ := time.Parse(journal.TimeFormat, v.Opened)
	return t.In(Zone)
}

// ValidUpTo is the last day the slip is valid.
func (v *Visit) ValidUpTo() time.Time {
	d, _ := time.ParseInLocation("2006-01-02", v.Date, Zone)
	return d.AddDate(0, 0, ValidityDays)
}

func applyDepartment(tx *node.Tx, e *journal.Event) error {
	var d Department
	if err := journal.Unmarshal(e, &d); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO departments (code, name, name_hi, room, days, unit, doctor) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_hi = excluded.name_hi, room = excluded.room,
		days = excluded.days, unit = excluded.unit, doctor = excluded.doctor`,
		d.Code, d.Name, d.NameHi, d.Room, d.Days, d.Unit, d.Doctor)
	tx.ForgetCached()
	return err
}

const visitCounter = "visit"

func tokenCounter(dept, date string) string { return "token/" + dept + "/" + date }

func applyOpened(tx *node.Tx, e *journal.Event) error {
	var v Visit
	if err := journal.Unmarshal(e, &v); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO visits (id, uhid, department, date, token, kind, fee, opened, opened_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.UHID, v.Department, v.Date, v.Token, v.Kind, v.Fee, e.Time.Format(journal.TimeFormat), e.Actor)
	if err != nil {
		return err
	}
	if err := tx.RaiseCounter(tokenCounter(v.Department, v.Date), int64(v.Token)); err != nil {
		return err
	}
	if prefix, serial, err := idcode.Parse(v.ID, 3); err == nil && prefix == e.Origin+"V" {
		return tx.RaiseCounter(visitCounter, serial)
	}
	return nil
}

type seen struct {
	VisitID string `json:"visit_id"`
}

func applySeen(tx *node.Tx, e *journal.Event) error {
	var s seen
	if err := journal.Unmarshal(e, &s); err != nil {
		return err
	}
	_, err := tx.Exec(`UPDATE visits SET seen = ?, seen_by = ? WHERE id = ?`, e.Time.Format(journal.TimeFormat), e.Actor, s.VisitID)
	return err
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
	if err := f.Err(); err != nil {
		return err
	}
	_, err := tx.Emit("department.added", d)
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
}

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
	// The patient (followed through a merge), the category that decides the
	// fee and whether the department has seen them before, in one statement.
	var category, mergedInto string
	var seenBefore bool
	for hop := 0; ; hop++ {
		err = tx.QueryRow(`SELECT p.category, p.merged_into, EXISTS (SELECT 1 FROM visits v WHERE v.uhid = p.uhid AND v.department = ?)
			FROM patients p WHERE p.uhid = ?`, dept, uhid).Scan(&category, &mergedInto, &seenBefore)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "No patient with UHID " + uhid + ".", Fields: map[string]string{"uhid": "No patient with this UHID"}}
		}
		if err != nil {
			return nil, fmt.Errorf("opd: patient %s: %w", uhid, err)
		}
		if mergedInto == "" || hop == 1 {
			break
		}
		uhid = mergedInto
	}
	if _, err := tx.Cached("opd.department:"+dept, func() (any, error) { return GetDepartment(ctx, tx, dept) }); err != nil {
		var ke *kavach.Error
		if errors.As(err, &ke) && ke.Code == kavach.ENOTFOUND {
			ke.Code = kavach.EINVALID
		}
		return nil, err
	}
	if kind == "" {
		kind = "new"
		if seenBefore {
			kind = "revisit"
		}
	}
	now := tx.Now.In(Zone)
	date := now.Format("2006-01-02")
	dayStart := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, Zone)
	tok, err := tx.DailyCounter(tokenCounter(dept, date), dayStart)
	if err != nil {
		return nil, err
	}
	serial, err := tx.Counter(visitCounter)
	if err != nil {
		return nil, err
	}
	fee, err := billing.FeeFor(tx, "opd."+kind, category)
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
	if _, err := tx.Emit("visit.opened", v); err != nil {
		return nil, err
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
	if _, err := tx.Emit("visit.seen", seen{v.ID}); err != nil {
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

// PatientVisits lists a patient's visits, newest first.
func PatientVisits(ctx context.Context, db journal.DBTX, uhid string) ([]Visit, error) {
	return list(ctx, db, `SELECT `+visitCols+` FROM visits WHERE uhid = ? ORDER BY opened DESC LIMIT 200`, uhid)
}

// QueueEntry is a visit in a department's queue with who the patient is.
type QueueEntry struct {
	Visit
	Name    string `json:"name"`
	Sex     string `json:"sex"`
	AgeText string `json:"age"` // as a slip shows it: "40 Y", "7 M"
}

// Queue lists a department's visits on a date in token order.
func Queue(ctx context.Context, db journal.DBTX, dept, date string) ([]QueueEntry, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+node.Qualify("v.", visitCols)+`, p.name, p.sex, p.dob
		FROM visits v JOIN patients p ON p.uhid = v.uhid WHERE v.department = ? AND v.date = ? ORDER BY v.token`, dept, date)
	if err != nil {
		return nil, fmt.Errorf("opd: queue %s %s: %w", dept, date, err)
	}
	defer rows.Close()
	var q []QueueEntry
	day, _ := time.ParseInLocation("2006-01-02", date, Zone)
	for rows.Next() {
		var e QueueEntry
		var dob string
		v := &e.Visit
		if err := rows.Scan(&v.ID, &v.UHID, &v.Department, &v.Date, &v.Token, &v.Kind, &v.Fee, &v.Opened, &v.OpenedBy, &v.Seen, &v.SeenBy, &e.Name, &e.Sex, &dob); err != nil {
			return nil, err
		}
		p := registration.Patient{DateOfBirth: dob}
		e.AgeText = p.AgeText(day)
		q = append(q, e)
	}
	return q, rows.Err()
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

// Today is the hospital's date now.
func Today() string { return time.Now().In(Zone).Format("2006-01-02") }
