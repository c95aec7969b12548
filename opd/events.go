package opd

import (
	"context"
	"database/sql"
	"fmt"

	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// The OPD's event types. Their payloads are frozen contracts
// (docs/architecture.md): a change is a new type, never an edit.
const (
	DepartmentAdded node.Event[DepartmentDefined] = "department.added"
	VisitOpened     node.Event[Opened]            = "visit.opened"
	VisitSeen       node.Event[Seen]              = "visit.seen"
	VisitRepeated   node.Event[Repeated]          = "visit.repeated"
	VisitUnseen     node.Event[Unseen]            = "visit.unseen"
)

// Repeated is the payload of visit.repeated: a second visit to a
// department the same day, given a new token on purpose, and why.
type Repeated struct {
	Earlier string `json:"earlier"`
	Reason  string `json:"reason"`
	VisitID string `json:"visit_id"`
}

// Unseen is the payload of visit.unseen: a seen mark undone, the patient
// waiting again.
type Unseen struct {
	VisitID string `json:"visit_id"`
}

// DepartmentDefined is the payload of department.added: a department, new
// or changed.
type DepartmentDefined struct {
	Code   string `json:"code"`
	Days   string `json:"days"`
	Doctor string `json:"doctor"`
	Name   string `json:"name"`
	NameHi string `json:"name_hi"`
	Room   string `json:"room"`
	Unit   string `json:"unit"`
}

// Opened is the payload of visit.opened. opened_at and opened_by are
// always empty: the event's own time and actor say when and who. They are
// here because the first visit.opened events carried them, and a payload
// type is never edited.
type Opened struct {
	Date       string `json:"date"`
	Department string `json:"department"`
	Fee        int64  `json:"fee_paise"`
	Kind       string `json:"kind"`
	OpenedAt   string `json:"opened_at"`
	OpenedBy   string `json:"opened_by"`
	SeenAt     string `json:"seen_at,omitempty"`
	SeenBy     string `json:"seen_by,omitempty"`
	Token      int    `json:"token"`
	UHID       string `json:"uhid"`
	ID         string `json:"visit_id"`
}

// Seen is the payload of visit.seen: the doctor saw the patient.
type Seen struct {
	VisitID string `json:"visit_id"`
}

// events are the OPD's projectors. Each is a function of the set of events,
// whatever order events of several origins arrive in: a department holds
// its newest definition and a visit its newest seen mark (last writer wins
// by node.Stamp, and an undone mark is a mark too); a visit's number is unique to its origin's namespace;
// counters are maxima.
var events = []node.Handler{
	node.On(DepartmentAdded, applyDepartment),
	node.Issuing(node.On(VisitOpened, applyOpened), issuesVisit),
	node.Issuing(node.On(VisitBackEntered, applyBackEntered), issuesBackEntry),
	node.On(VisitSeen, applySeen),
	node.On(VisitRepeated, applyRepeated),
	node.On(VisitUnseen, applyUnseen),
}

func applyRepeated(p *node.Projection, e *journal.Event, r *Repeated) error {
	_, err := p.Exec(`INSERT INTO visit_repeats (visit_id, earlier, reason, by_user) VALUES (?, ?, ?, ?)`, r.VisitID, r.Earlier, r.Reason, e.Actor)
	return err
}

func applyDepartment(p *node.Projection, e *journal.Event, d *DepartmentDefined) error {
	p.ForgetCached()
	return setDepartment(p.Context(), p, d, node.Stamp(e))
}

func setDepartment(ctx context.Context, db journal.DBTX, d *DepartmentDefined, stamp string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO departments (code, name, name_hi, room, days, unit, doctor, stamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_hi = excluded.name_hi, room = excluded.room,
		days = excluded.days, unit = excluded.unit, doctor = excluded.doctor, stamp = excluded.stamp
		WHERE excluded.stamp > departments.stamp`,
		d.Code, d.Name, d.NameHi, d.Room, d.Days, d.Unit, d.Doctor, stamp)
	return err
}

const visitCounter = "visit"

func tokenCounter(dept, date string) string { return "token/" + dept + "/" + date }

// issuesVisit checks that a visit's number and token are from its node's
// namespace: its code, and its block of tokens.
func issuesVisit(ns node.Namespace, e *journal.Event, v *Opened) error {
	if prefix, _, err := idcode.Parse(v.ID, 3); err != nil || prefix != ns.Code+"V" {
		return fmt.Errorf("visit number %s", v.ID)
	}
	if t := int64(v.Token); t <= ns.TokenBase || t > ns.TokenLimit() {
		return fmt.Errorf("token %d (its block is %d to %d)", v.Token, ns.TokenBase+1, ns.TokenLimit())
	}
	return nil
}

func applyOpened(p *node.Projection, e *journal.Event, v *Opened) error {
	_, err := p.Exec(`INSERT INTO visits (id, uhid, department, date, token, kind, fee, opened, opened_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ID, v.UHID, v.Department, v.Date, v.Token, v.Kind, v.Fee, e.Time.Format(journal.TimeFormat), e.Actor)
	if err != nil {
		return err
	}
	// The visit's fee is a charge on the patient's account, posted by the
	// event itself: once, wherever and however often it is applied.
	if err := billing.Post(p, e, 0, visitCharge(v.UHID, v.Kind, v.Fee, v.ID)); err != nil {
		return err
	}
	if err := p.RaiseCounter(e.Origin, tokenCounter(v.Department, v.Date), int64(v.Token)); err != nil {
		return err
	}
	if prefix, serial, err := idcode.Parse(v.ID, 3); err == nil && prefix == e.Origin+"V" {
		return p.RaiseCounter(e.Origin, visitCounter, serial)
	}
	return nil
}

func applySeen(p *node.Projection, e *journal.Event, s *Seen) error {
	return setSeen(p.Context(), p, e, s.VisitID)
}

func setSeen(ctx context.Context, db journal.DBTX, e *journal.Event, visit string) error {
	stamp := node.Stamp(e)
	_, err := db.ExecContext(ctx, `UPDATE visits SET seen = ?, seen_by = ?, seen_stamp = ? WHERE id = ? AND seen_stamp < ?`,
		e.Time.Format(journal.TimeFormat), e.Actor, stamp, visit, stamp)
	return err
}

// applyUnseen clears a visit's seen mark, if the undoing is newer than the
// mark: the mark's stamp becomes the undoing's, so an older visit.seen that
// arrives later does not set it again, and a newer one does.
func applyUnseen(p *node.Projection, e *journal.Event, u *Unseen) error {
	stamp := node.Stamp(e)
	_, err := p.Exec(`UPDATE visits SET seen = '', seen_by = '', seen_stamp = ? WHERE id = ? AND seen_stamp < ?`, stamp, u.VisitID, stamp)
	return err
}

// visitCharge is the charge a visit posts: its fee, the tariff opd.new or
// opd.revisit.
func visitCharge(uhid, kind string, fee int64, visit string) billing.Charge {
	return billing.Charge{UHID: uhid, Code: "opd." + kind, Paise: fee, Source: "visit", SourceID: visit}
}

// migrateCharges is migration 004's Go step: the charges of the visits
// opened before billing posted them.
var migrateCharges = node.Steps(
	node.Reapply(VisitOpened, func(ctx context.Context, tx *sql.Tx, e *journal.Event, v *Opened) error {
		return billing.PostTo(ctx, tx, e, 0, visitCharge(v.UHID, v.Kind, v.Fee, v.ID))
	}),
	node.Reapply(VisitBackEntered, func(ctx context.Context, tx *sql.Tx, e *journal.Event, b *BackEntered) error {
		return billing.PostTo(ctx, tx, e, 0, visitCharge(b.UHID, b.Kind, b.Fee, b.ID))
	}),
)

// migrateOrigins is migration 002's Go step: departments and seen marks set
// again from the journal, by the newest event, as the projectors now do.
var migrateOrigins = node.Steps(
	node.Reapply(DepartmentAdded, func(ctx context.Context, tx *sql.Tx, e *journal.Event, d *DepartmentDefined) error {
		return setDepartment(ctx, tx, d, node.Stamp(e))
	}),
	node.Reapply(VisitSeen, func(ctx context.Context, tx *sql.Tx, e *journal.Event, s *Seen) error {
		return setSeen(ctx, tx, e, s.VisitID)
	}),
)
