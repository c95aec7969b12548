package lab

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"kavach"
	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// NewOrder is a request to order tests.
type NewOrder struct {
	UHID     string   `json:"uhid"`
	VisitID  string   `json:"visit_id"`
	Tests    []string `json:"tests"`
	Priority string   `json:"priority"` // routine (default) | urgent
	// Prescriber names who wrote an outside prescription; the collection
	// counter, not being a doctor, must give one.
	Prescriber string `json:"prescriber"`
	Notes      string `json:"notes"`
}

// Order is an order as the lab holds it.
type Order struct {
	ID           string      `json:"order_id"`
	UHID         string      `json:"uhid"`
	VisitID      string      `json:"visit_id,omitempty"`
	Priority     string      `json:"priority"`
	Source       string      `json:"source"`
	Prescriber   string      `json:"prescriber,omitempty"`
	Notes        string      `json:"notes,omitempty"`
	Ordered      string      `json:"ordered_at"`
	OrderedBy    string      `json:"ordered_by"`
	Cancelled    string      `json:"cancelled_at,omitempty"`
	CancelReason string      `json:"cancel_reason,omitempty"`
	Tests        []OrderTest `json:"tests"`
}

// OrderTest is a test of an order with where it stands: "ordered" (to be
// collected, or collected again after a rejection), "collected" (in a
// sample, with its accession), "cancelled".
type OrderTest struct {
	Code      string `json:"code"`
	Name      string `json:"name,omitempty"`
	Status    string `json:"status"`
	Accession string `json:"accession,omitempty"`
}

// PlaceOrder journals an order. A doctor's order may name the visit; an
// outside prescription (doctor false) must name its prescriber.
func PlaceOrder(tx *node.Tx, in NewOrder, doctor bool) (*Order, error) {
	ctx := tx.Context()
	f := kavach.Fields{}
	if strings.TrimSpace(in.UHID) == "" {
		f.Add("uhid", "UHID is required")
	}
	in.Priority = strings.ToLower(strings.TrimSpace(in.Priority))
	if in.Priority == "" {
		in.Priority = "routine"
	}
	if in.Priority != "routine" && in.Priority != "urgent" {
		f.Add("priority", "Priority must be routine or urgent")
	}
	in.Prescriber = strings.Join(strings.Fields(in.Prescriber), " ")
	source := "doctor"
	if !doctor || in.Prescriber != "" {
		source = "outside"
		if in.Prescriber == "" {
			f.Add("prescriber", "Name the doctor who wrote the outside prescription")
		}
	}
	f.Note("prescriber", in.Prescriber, 100)
	f.Note("notes", in.Notes, 500)
	if len(in.Tests) == 0 {
		f.Add("tests", "Choose at least one test")
	}
	if len(in.Tests) > 50 {
		f.Add("tests", "At most 50 tests in one order")
	}
	var tests []string
	for _, c := range in.Tests {
		c = strings.ToUpper(strings.TrimSpace(c))
		if slices.Contains(tests, c) {
			f.Add("tests", "Test "+c+" is listed twice")
			continue
		}
		if _, err := testCached(tx, c); err != nil {
			f.Add("tests", "Unknown test "+c)
			continue
		}
		tests = append(tests, c)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	p, err := patient(tx, in.UHID)
	if err != nil {
		return nil, err
	}
	visit := ""
	if strings.TrimSpace(in.VisitID) != "" {
		v, err := opd.GetVisit(ctx, tx, in.VisitID)
		if err != nil {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "No visit " + in.VisitID + ".", Fields: map[string]string{"visit_id": "No such visit"}}
		}
		if v.UHID != p.UHID {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Visit " + v.ID + " is another patient's.", Fields: map[string]string{"visit_id": "This visit is another patient's"}}
		}
		visit = v.ID
	}
	fees := make([]int64, len(tests))
	for i, c := range tests {
		if fees[i], err = billing.FeeFor(tx, "lab."+c, p.Category); err != nil {
			return nil, err
		}
	}
	serial, err := tx.Counter(orderCounter)
	if err != nil {
		return nil, err
	}
	id := orderID(tx.Node().Info().NodeCode, serial+1)
	if _, err := node.Emit(tx, OrderPlaced, Ordered{Fees: fees, ID: id, Notes: in.Notes, Prescriber: in.Prescriber, Priority: in.Priority,
		Source: source, Tests: tests, UHID: p.UHID, VisitID: visit}); err != nil {
		return nil, err
	}
	return GetOrder(ctx, tx, id)
}

// patient finds the patient of a typed UHID, following merges.
func patient(tx *node.Tx, typed string) (*registration.Patient, error) {
	p, err := registration.Resolve(tx.Context(), tx, typed)
	if err != nil {
		if kavach.ErrorCode(err) == kavach.ENOTFOUND {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "No patient with UHID " + idcode.ShowUHID(idcode.Normalize(typed)) + ".", Fields: map[string]string{"uhid": "No patient with this UHID"}}
		}
		return nil, err
	}
	return p, nil
}

func testCached(tx *node.Tx, code string) (*CatalogueTest, error) {
	v, err := tx.Cached("lab.test:"+code, func() (any, error) { return GetTest(tx.Context(), tx, code) })
	if err != nil {
		return nil, err
	}
	return v.(*CatalogueTest), nil
}

// CancelOrder cancels an order, with a reason. An order whose samples have
// results cannot be cancelled.
func CancelOrder(tx *node.Tx, id, reason string) (*Order, error) {
	reason = strings.TrimSpace(reason)
	f := kavach.Fields{}
	if reason == "" {
		f.Add("reason", "Say why the order is cancelled")
	}
	f.Note("reason", reason, 500)
	if err := f.Err(); err != nil {
		return nil, err
	}
	o, err := GetOrder(tx.Context(), tx, id)
	if err != nil {
		return nil, err
	}
	if o.Cancelled != "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Order " + o.ID + " is already cancelled."}
	}
	resulted, err := OrderHasResults(tx.Context(), tx, o.ID)
	if err != nil {
		return nil, err
	}
	if resulted {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Order " + o.ID + " has results; it cannot be cancelled."}
	}
	if _, err := node.Emit(tx, OrderCancelled, Cancelled{ID: o.ID, Reason: reason}); err != nil {
		return nil, err
	}
	return GetOrder(tx.Context(), tx, o.ID)
}

// Collect collects an order's tests still to be collected: one container
// per kind of container, each with an accession number.
func Collect(tx *node.Tx, id string) (*Collected, error) {
	ctx := tx.Context()
	o, err := GetOrder(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if o.Cancelled != "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Order " + o.ID + " was cancelled: " + o.CancelReason}
	}
	p, err := registration.Get(ctx, tx, o.UHID)
	if err != nil {
		return nil, err
	}
	var byContainer []*CollectedSample
	for _, t := range o.Tests {
		if t.Status != "ordered" {
			continue
		}
		ct, err := testCached(tx, t.Code)
		if err != nil {
			return nil, err
		}
		var s *CollectedSample
		for _, c := range byContainer {
			if c.Container == ct.Container && c.Specimen == ct.Specimen {
				s = c
			}
		}
		if s == nil {
			s = &CollectedSample{Container: ct.Container, Specimen: ct.Specimen}
			byContainer = append(byContainer, s)
		}
		s.Tests = append(s.Tests, ct.Code)
		if !slices.Contains(s.Sections, ct.Section) {
			s.Sections = append(s.Sections, ct.Section)
		}
	}
	if len(byContainer) == 0 {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Order " + o.ID + " has nothing left to collect."}
	}
	serial, err := tx.Counter(sampleCounter)
	if err != nil {
		return nil, err
	}
	code := tx.Node().Info().NodeCode
	c := Collected{OrderID: o.ID, Priority: o.Priority, Sex: p.Sex, UHID: o.UHID,
		AgeDays: ageDays(p, tx.Now), AgeText: p.AgeText(tx.Now.In(kavach.Zone))}
	for i, s := range byContainer {
		s.Accession = accession(code, serial+1+int64(i))
		slices.Sort(s.Sections)
		c.Samples = append(c.Samples, *s)
	}
	if _, err := node.Emit(tx, SampleTaken, c); err != nil {
		return nil, err
	}
	return &c, nil
}

// ageDays is a patient's age in days at t (0 without a date of birth).
func ageDays(p *registration.Patient, t time.Time) int {
	dob, err := time.ParseInLocation("2006-01-02", p.DateOfBirth, kavach.Zone)
	if err != nil {
		return 0
	}
	return max(0, int(kavach.DayStart(t).Sub(dob).Hours()/24+0.5))
}

// GetOrder returns an order with the standing of each of its tests.
func GetOrder(ctx context.Context, db journal.DBTX, id string) (*Order, error) {
	id = strings.ToUpper(strings.TrimSpace(id))
	var o Order
	err := db.QueryRowContext(ctx, `SELECT id, uhid, visit_id, priority, source, prescriber, notes, ordered, ordered_by, cancelled, cancel_reason FROM lab_orders WHERE id = ?`, id).
		Scan(&o.ID, &o.UHID, &o.VisitID, &o.Priority, &o.Source, &o.Prescriber, &o.Notes, &o.Ordered, &o.OrderedBy, &o.Cancelled, &o.CancelReason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No lab order " + id + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("lab: order %s: %w", id, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT ot.test, COALESCE(t.name, ''),
		COALESCE((SELECT MIN(st.accession) FROM lab_sample_tests st JOIN lab_samples s ON s.accession = st.accession
			WHERE s.order_id = ot.order_id AND st.test = ot.test AND s.rejected_stamp = ''), '')
		FROM lab_order_tests ot LEFT JOIN lab_tests t ON t.code = ot.test WHERE ot.order_id = ? ORDER BY ot.position`, id)
	if err != nil {
		return nil, fmt.Errorf("lab: order %s tests: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var t OrderTest
		if err := rows.Scan(&t.Code, &t.Name, &t.Accession); err != nil {
			return nil, err
		}
		switch {
		case t.Accession != "":
			t.Status = "collected"
		case o.Cancelled != "":
			t.Status = "cancelled"
		default:
			t.Status = "ordered"
		}
		o.Tests = append(o.Tests, t)
	}
	return &o, rows.Err()
}

// PatientOrders lists the orders of the given records, newest first: one
// patient's, or a surviving record's family (registration.Family).
func PatientOrders(ctx context.Context, db journal.DBTX, uhids ...string) ([]Order, error) {
	if len(uhids) == 0 {
		return []Order{}, nil
	}
	in, args := inList(uhids)
	rows, err := db.QueryContext(ctx, `SELECT id FROM lab_orders WHERE uhid IN `+in+` ORDER BY ordered DESC, id DESC LIMIT 100`, args...)
	if err != nil {
		return nil, fmt.Errorf("lab: orders of %s: %w", uhids[0], err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []Order{}
	for _, id := range ids {
		o, err := GetOrder(ctx, db, id)
		if err != nil {
			return nil, err
		}
		out = append(out, *o)
	}
	return out, nil
}

// inList is an SQL list of placeholders for values, "(?, ?)", and its arguments.
func inList(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return `(?` + strings.Repeat(`, ?`, len(values)-1) + `)`, args
}
