package opd

import (
	"fmt"
	"strings"
	"time"

	"kavach"
	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// Back-entry: the patients of a downtime kit's paper sheets, registered
// later with each sheet's UHID and the visit the sheet records, with when
// the patient was actually seen. The visit's own time and user are who
// entered it and when.

// VisitBackEntered is the event of a visit entered from a downtime sheet.
const VisitBackEntered node.Event[BackEntered] = "visit.back_entered"

// BackEntered is the payload of visit.back_entered. Frozen.
type BackEntered struct {
	Date       string `json:"date"` // the hospital's day it was seen
	Department string `json:"department"`
	Fee        int64  `json:"fee_paise"`
	Kind       string `json:"kind"`
	PaperToken string `json:"paper_token,omitempty"`
	SeenAt     string `json:"seen_at"` // journal time
	UHID       string `json:"uhid"`
	ID         string `json:"visit_id"`
}

func applyBackEntered(p *node.Projection, e *journal.Event, b *BackEntered) error {
	stamp := node.Stamp(e)
	if _, err := p.Exec(`INSERT INTO visits (id, uhid, department, date, token, kind, fee, opened, opened_by, seen, seen_by, seen_stamp)
		VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.UHID, b.Department, b.Date, b.Kind, b.Fee, b.SeenAt, e.Actor, b.SeenAt, e.Actor, stamp); err != nil {
		return err
	}
	if _, err := p.Exec(`INSERT INTO visit_back_entries (id, seen_at, paper_token, entered, entered_by) VALUES (?, ?, ?, ?, ?)`,
		b.ID, b.SeenAt, b.PaperToken, e.Time.Format(journal.TimeFormat), e.Actor); err != nil {
		return err
	}
	if err := billing.Post(p, e, 0, visitCharge(b.UHID, b.Kind, b.Fee, b.ID)); err != nil {
		return err
	}
	if prefix, serial, err := idcode.Parse(b.ID, 3); err == nil && prefix == e.Origin+"V" {
		return p.RaiseCounter(e.Origin, visitCounter, serial)
	}
	return nil
}

func issuesBackEntry(ns node.Namespace, e *journal.Event, b *BackEntered) error {
	if prefix, _, err := idcode.Parse(b.ID, 3); err != nil || prefix != ns.Code+"V" {
		return fmt.Errorf("visit number %s", b.ID)
	}
	return nil
}

// Sheet is what a downtime sheet records besides the patient.
type Sheet struct {
	UHID       string    // printed on the sheet
	Department string    // written on it
	SeenAt     time.Time // when the patient was seen
	PaperToken string    // the token written on it, if any
}

// EnterSheet registers a downtime sheet's patient with its UHID and enters
// its visit, in one command.
func EnterSheet(tx *node.Tx, p *registration.Patient, s Sheet) (*Visit, error) {
	f := kavach.Fields{}
	s.PaperToken = strings.TrimSpace(s.PaperToken)
	if len([]rune(s.PaperToken)) > 20 {
		f.Add("paper_token", "Token must have at most 20 characters")
	}
	f.Text("paper_token", s.PaperToken)
	switch {
	case s.SeenAt.IsZero():
		f.Add("seen_at", "Give the date and time the patient was seen, as on the sheet")
	case s.SeenAt.After(tx.Now):
		f.Add("seen_at", "The time seen is in the future")
	case tx.Now.Sub(s.SeenAt) > 366*24*time.Hour:
		f.Add("seen_at", "The time seen is more than a year ago")
	}
	dept, err := GetDepartment(tx.Context(), tx, s.Department)
	if err != nil {
		f.Add("department", "Choose a department")
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	reg, err := registration.RegisterFromSheet(tx, p, s.UHID)
	if err != nil {
		return nil, err
	}
	serial, err := tx.Counter(visitCounter)
	if err != nil {
		return nil, err
	}
	fee, err := billing.FeeOn(tx, "opd.new", reg.Patient.Category, kavach.Day(s.SeenAt))
	if err != nil {
		return nil, err
	}
	b := BackEntered{Date: kavach.Day(s.SeenAt), Department: dept.Code, Fee: fee, Kind: "new", PaperToken: s.PaperToken,
		SeenAt: s.SeenAt.UTC().Format(journal.TimeFormat), UHID: reg.Patient.UHID, ID: idcode.Make(tx.Node().Info().NodeCode+"V", serial+1, 8)}
	if _, err := node.Emit(tx, VisitBackEntered, b); err != nil {
		return nil, err
	}
	return GetVisit(tx.Context(), tx, b.ID)
}
