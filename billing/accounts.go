package billing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"kavach"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// Modes are how a patient pays.
var Modes = []string{"cash", "upi", "card"}

// RefundApprovalPaise is the largest refund a cashier gives alone: one
// above it is paid only once a second user with billing.approve approves.
const RefundApprovalPaise = 100000 // ₹1,000

// maxPaise bounds one payment or refund: ₹1 crore.
const maxPaise = 1_000_000_000

// DefaultCounter is the counter a payment is taken at when none is named:
// the node's own code (a site node at a counter is that counter).
func DefaultCounter(n *node.Node) string { return n.Info().NodeCode }

func checkCounter(f kavach.Fields, c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if c == "" {
		return c
	}
	if len(c) > 20 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") != "" {
		f.Add("counter", "A counter is up to 20 capital letters, digits or hyphens")
	}
	return c
}

// NewPayment is a payment taken at a counter.
type NewPayment struct {
	UHID      string `json:"uhid"`
	Paise     int64  `json:"amount_paise"`
	Mode      string `json:"mode"`
	Reference string `json:"reference"`
	Counter   string `json:"counter"`
}

// Receipt is a payment as its receipt shows it.
type Receipt struct {
	ReceiptNo string        `json:"receipt_no"`
	UHID      string        `json:"uhid"`
	Paise     int64         `json:"amount_paise"`
	Mode      string        `json:"mode"`
	Reference string        `json:"reference,omitempty"`
	Counter   string        `json:"counter"`
	Day       string        `json:"date"`
	Paid      string        `json:"paid_at"`
	Cashier   string        `json:"cashier"`
	Items     []ReceiptItem `json:"items"`
	Refunded  int64         `json:"refunded_paise"` // approved or not needing approval
}

// ReceiptItem is a charge a receipt pays.
type ReceiptItem struct {
	ChargeID string `json:"charge_id"`
	Code     string `json:"code"`
	Name     string `json:"name"`
	Paise    int64  `json:"paise"`
}

// Pay takes a payment for a patient: it pays their unpaid charges, oldest
// first (what is left is credit on the account), and issues a receipt
// number from the node's namespace. A counter whose day is closed takes no
// payment.
func Pay(tx *node.Tx, in NewPayment) (*Receipt, error) {
	ctx := tx.Context()
	f := kavach.Fields{}
	in.UHID = strings.TrimSpace(in.UHID)
	if in.UHID == "" {
		f.Add("uhid", "UHID is required")
	}
	if in.Paise <= 0 {
		f.Add("amount_paise", "The amount must be a whole number of paise above 0")
	} else if in.Paise > maxPaise {
		f.Add("amount_paise", "The amount is above ₹1 crore")
	}
	in.Mode = strings.ToLower(strings.TrimSpace(in.Mode))
	if !slices.Contains(Modes, in.Mode) {
		f.Add("mode", "Mode must be cash, upi or card")
	}
	in.Reference = strings.TrimSpace(in.Reference)
	if (in.Mode == "upi" || in.Mode == "card") && in.Reference == "" {
		f.Add("reference", "Give the UPI transaction or card approval reference")
	}
	f.Note("reference", in.Reference, 60)
	in.Counter = checkCounter(f, in.Counter)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Counter == "" {
		in.Counter = DefaultCounter(tx.Node())
	}
	uhid, err := patientUHID(tx, in.UHID)
	if err != nil {
		return nil, err
	}
	day := kavach.Day(tx.Now)
	if err := counterOpen(tx, in.Counter, day); err != nil {
		return nil, err
	}
	family, err := registration.Family(ctx, tx, uhid)
	if err != nil {
		return nil, err
	}
	unpaid, err := unpaidCharges(ctx, tx, family)
	if err != nil {
		return nil, err
	}
	left := in.Paise
	var items []PaidItem
	for _, c := range unpaid {
		if left == 0 {
			break
		}
		take := min(left, c.Due)
		items = append(items, PaidItem{ChargeID: c.ID, Paise: take})
		left -= take
	}
	if items == nil {
		items = []PaidItem{}
	}
	serial, err := tx.Counter(receiptCounter)
	if err != nil {
		return nil, err
	}
	no := receiptNo(tx.Node().Info().NodeCode, serial+1)
	if _, err := node.Emit(tx, PaymentReceived, Paid{Counter: in.Counter, Items: items, Mode: in.Mode, Paise: in.Paise, ReceiptNo: no,
		Reference: in.Reference, UHID: uhid}); err != nil {
		return nil, err
	}
	return GetReceipt(ctx, tx, no)
}

// patientUHID checks a typed UHID against the patients the node holds, and
// follows merges to the record that stands.
func patientUHID(tx *node.Tx, typed string) (string, error) {
	p, err := registration.Resolve(tx.Context(), tx, typed)
	if err != nil {
		if kavach.ErrorCode(err) == kavach.ENOTFOUND {
			return "", &kavach.Error{Code: kavach.EINVALID, Message: "No patient with UHID " + idcode.ShowUHID(idcode.Normalize(typed)) + ".", Fields: map[string]string{"uhid": "No patient with this UHID"}}
		}
		return "", err
	}
	return p.UHID, nil
}

// counterOpen refuses a counter whose day is closed.
func counterOpen(tx *node.Tx, counter, day string) error {
	var closed bool
	if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM day_closes WHERE counter = ? AND day = ? AND final = ?)`, counter, day, true).Scan(&closed); err != nil {
		return err
	}
	if closed {
		return &kavach.Error{Code: kavach.ECONFLICT, Message: "Counter " + counter + "'s day " + day + " is closed: it takes no more payments or refunds today.",
			Fields: map[string]string{"counter": "This counter's day is closed"}}
	}
	return nil
}

// dueCharge is a charge with what is still owed on it.
type dueCharge struct {
	ID  string
	Due int64
}

func unpaidCharges(ctx context.Context, db journal.DBTX, uhids []string) ([]dueCharge, error) {
	in, args := inList(uhids)
	rows, err := db.QueryContext(ctx, `SELECT c.id, c.paise - COALESCE((SELECT SUM(i.paise) FROM payment_items i WHERE i.charge_id = c.id), 0)
		FROM charges c WHERE c.uhid IN (`+in+`) AND c.cancel_stamp = '' ORDER BY c.posted, c.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: charges of %s: %w", uhids[0], err)
	}
	defer rows.Close()
	var out []dueCharge
	for rows.Next() {
		var c dueCharge
		if err := rows.Scan(&c.ID, &c.Due); err != nil {
			return nil, err
		}
		if c.Due > 0 {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// GetReceipt returns a receipt with the charges it pays.
func GetReceipt(ctx context.Context, db journal.DBTX, typed string) (*Receipt, error) {
	no := idcode.Normalize(typed)
	var r Receipt
	err := db.QueryRowContext(ctx, `SELECT receipt_no, uhid, paise, mode, reference, counter, day, paid, cashier,
		COALESCE((SELECT SUM(f.paise) FROM refunds f WHERE f.receipt_no = p.receipt_no AND (f.needs_approval = ? OR f.approve_stamp <> '')), 0)
		FROM payments p WHERE receipt_no = ?`, false, no).
		Scan(&r.ReceiptNo, &r.UHID, &r.Paise, &r.Mode, &r.Reference, &r.Counter, &r.Day, &r.Paid, &r.Cashier, &r.Refunded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No receipt " + no + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("billing: receipt %s: %w", no, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT i.charge_id, COALESCE(c.code, ''), COALESCE(t.name, c.code, ''), i.paise FROM payment_items i
		LEFT JOIN charges c ON c.id = i.charge_id LEFT JOIN tariff_items t ON t.code = c.code
		WHERE i.receipt_no = ? ORDER BY c.posted, i.charge_id`, no)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r.Items = []ReceiptItem{}
	for rows.Next() {
		var it ReceiptItem
		if err := rows.Scan(&it.ChargeID, &it.Code, &it.Name, &it.Paise); err != nil {
			return nil, err
		}
		r.Items = append(r.Items, it)
	}
	return &r, rows.Err()
}

// CancelCharge cancels a charge, with a reason. A charge that receipts
// paid is not cancelled: refund the receipt first.
func CancelCharge(tx *node.Tx, id, reason string) (*AccountCharge, error) {
	reason = strings.TrimSpace(reason)
	f := kavach.Fields{}
	if reason == "" {
		f.Add("reason", "Say why the charge is cancelled")
	}
	f.Note("reason", reason, 500)
	if err := f.Err(); err != nil {
		return nil, err
	}
	c, err := GetCharge(tx.Context(), tx, id)
	if err != nil {
		return nil, err
	}
	if c.Status == "cancelled" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Charge " + c.ID + " is already cancelled."}
	}
	if c.Paid > 0 {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Charge " + c.ID + " is paid (" + Rupees(c.Paid) + "): refund the receipt instead."}
	}
	if _, err := node.Emit(tx, ChargeCancelled, ChargeCancel{ChargeID: c.ID, Reason: reason}); err != nil {
		return nil, err
	}
	return GetCharge(tx.Context(), tx, c.ID)
}

// NewRefund is a refund asked for at a counter.
type NewRefund struct {
	ReceiptNo string `json:"receipt_no"`
	Paise     int64  `json:"amount_paise"`
	Reason    string `json:"reason"`
	UHID      string `json:"uhid"` // optional: the patient the counter has open
	Counter   string `json:"counter"`
}

// Refund is a refund with where it stands.
type Refund struct {
	RefundNo      string `json:"refund_no"`
	ReceiptNo     string `json:"receipt_no"`
	UHID          string `json:"uhid"`
	Paise         int64  `json:"amount_paise"`
	Mode          string `json:"mode"`
	Reason        string `json:"reason"`
	Counter       string `json:"counter"`
	Requested     string `json:"requested_at"`
	RequestedBy   string `json:"requested_by"`
	NeedsApproval bool   `json:"needs_approval"`
	Approved      string `json:"approved_at,omitempty"`
	ApprovedBy    string `json:"approved_by,omitempty"`
	Status        string `json:"status"` // refunded | awaiting_approval
}

// RequestRefund refunds part or all of a receipt, with a reason, in the
// receipt's mode. Above RefundApprovalPaise it waits for approval.
func RequestRefund(tx *node.Tx, in NewRefund) (*Refund, error) {
	ctx := tx.Context()
	f := kavach.Fields{}
	if strings.TrimSpace(in.ReceiptNo) == "" {
		f.Add("receipt_no", "The receipt number is required")
	}
	if in.Paise <= 0 {
		f.Add("amount_paise", "The amount must be a whole number of paise above 0")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if in.Reason == "" {
		f.Add("reason", "Say why the money is refunded")
	}
	f.Note("reason", in.Reason, 500)
	in.Counter = checkCounter(f, in.Counter)
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Counter == "" {
		in.Counter = DefaultCounter(tx.Node())
	}
	r, err := GetReceipt(ctx, tx, in.ReceiptNo)
	if err != nil {
		if kavach.ErrorCode(err) == kavach.ENOTFOUND {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: kavach.ErrorMessage(err), Fields: map[string]string{"receipt_no": "No such receipt"}}
		}
		return nil, err
	}
	if strings.TrimSpace(in.UHID) != "" {
		uhid, err := patientUHID(tx, in.UHID)
		if err != nil {
			return nil, err
		}
		owner, err := patientUHID(tx, r.UHID)
		if err != nil {
			return nil, err
		}
		if uhid != owner {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Receipt " + r.ReceiptNo + " is another patient's.", Fields: map[string]string{"receipt_no": "This receipt is another patient's"}}
		}
	}
	var asked int64 // every refund on the receipt, approved or waiting
	if err := tx.QueryRow(`SELECT COALESCE(SUM(paise), 0) FROM refunds WHERE receipt_no = ?`, r.ReceiptNo).Scan(&asked); err != nil {
		return nil, err
	}
	if left := r.Paise - asked; in.Paise > left {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: fmt.Sprintf("Receipt %s has %s left to refund.", r.ReceiptNo, Rupees(left)),
			Fields: map[string]string{"amount_paise": "At most " + Rupees(left) + " is left to refund on this receipt"}}
	}
	if err := counterOpen(tx, in.Counter, kavach.Day(tx.Now)); err != nil {
		return nil, err
	}
	serial, err := tx.Counter(refundCounter)
	if err != nil {
		return nil, err
	}
	no := refundNo(tx.Node().Info().NodeCode, serial+1)
	if _, err := node.Emit(tx, RefundRequested, RefundRequest{Counter: in.Counter, Mode: r.Mode, NeedsApproval: in.Paise > RefundApprovalPaise,
		Paise: in.Paise, Reason: in.Reason, ReceiptNo: r.ReceiptNo, RefundNo: no, UHID: r.UHID}); err != nil {
		return nil, err
	}
	return GetRefund(ctx, tx, no)
}

// ApproveRefund approves a refund that waits for it; the approver must not
// be who asked for it.
func ApproveRefund(tx *node.Tx, typed string) (*Refund, error) {
	r, err := GetRefund(tx.Context(), tx, typed)
	if err != nil {
		return nil, err
	}
	switch {
	case !r.NeedsApproval || r.Approved != "":
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Refund " + r.RefundNo + " needs no approval now."}
	case r.RequestedBy == tx.Actor:
		return nil, &kavach.Error{Code: kavach.EFORBIDDEN, Message: "A refund is approved by someone other than who asked for it."}
	}
	// The money goes out at the counter now: not at a counter whose day
	// is closed.
	if err := counterOpen(tx, r.Counter, kavach.Day(tx.Now)); err != nil {
		return nil, err
	}
	if _, err := node.Emit(tx, RefundApproved, RefundApproval{RefundNo: r.RefundNo}); err != nil {
		return nil, err
	}
	return GetRefund(tx.Context(), tx, r.RefundNo)
}

const refundCols = `refund_no, receipt_no, uhid, paise, mode, reason, counter, requested, requested_by, needs_approval, approved, approved_by`

func scanRefund(row interface{ Scan(...any) error }) (*Refund, error) {
	var r Refund
	err := row.Scan(&r.RefundNo, &r.ReceiptNo, &r.UHID, &r.Paise, &r.Mode, &r.Reason, &r.Counter, &r.Requested, &r.RequestedBy, &r.NeedsApproval, &r.Approved, &r.ApprovedBy)
	r.Status = "refunded"
	if r.NeedsApproval && r.Approved == "" {
		r.Status = "awaiting_approval"
	}
	return &r, err
}

// GetRefund returns a refund.
func GetRefund(ctx context.Context, db journal.DBTX, typed string) (*Refund, error) {
	no := idcode.Normalize(typed)
	r, err := scanRefund(db.QueryRowContext(ctx, `SELECT `+refundCols+` FROM refunds WHERE refund_no = ?`, no))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No refund " + no + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("billing: refund %s: %w", no, err)
	}
	return r, nil
}

// PendingRefunds lists refunds waiting for approval, oldest first.
func PendingRefunds(ctx context.Context, db journal.DBTX) ([]Refund, error) {
	return refunds(ctx, db, `WHERE needs_approval = ? AND approve_stamp = '' ORDER BY requested LIMIT 200`, true)
}

func refunds(ctx context.Context, db journal.DBTX, where string, args ...any) ([]Refund, error) {
	rows, err := db.QueryContext(ctx, `SELECT `+refundCols+` FROM refunds `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: refunds: %w", err)
	}
	defer rows.Close()
	out := []Refund{}
	for rows.Next() {
		r, err := scanRefund(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// AccountCharge is a charge on a patient's account.
type AccountCharge struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Paise        int64  `json:"amount_paise"`
	Paid         int64  `json:"paid_paise"`
	Status       string `json:"status"` // unpaid | part_paid | paid | free | cancelled
	Source       string `json:"source"`
	SourceID     string `json:"source_id"`
	Posted       string `json:"posted_at"`
	CancelReason string `json:"cancel_reason,omitempty"`
	CancelledBy  string `json:"cancelled_by,omitempty"`
}

const chargeCols = `c.id, c.code, COALESCE(t.name, c.code), c.paise, c.source, c.source_id, c.posted, c.cancel_reason, c.cancelled_by, c.cancel_stamp,
	COALESCE((SELECT SUM(i.paise) FROM payment_items i WHERE i.charge_id = c.id), 0)`

func scanCharge(row interface{ Scan(...any) error }) (*AccountCharge, error) {
	var c AccountCharge
	var cancelStamp string
	err := row.Scan(&c.ID, &c.Code, &c.Name, &c.Paise, &c.Source, &c.SourceID, &c.Posted, &c.CancelReason, &c.CancelledBy, &cancelStamp, &c.Paid)
	switch {
	case cancelStamp != "":
		c.Status = "cancelled"
	case c.Paise == 0:
		c.Status = "free" // a BPL patient's, a revisit's
	case c.Paid >= c.Paise:
		c.Status = "paid"
	case c.Paid > 0:
		c.Status = "part_paid"
	default:
		c.Status = "unpaid"
	}
	return &c, err
}

// GetCharge returns a charge.
func GetCharge(ctx context.Context, db journal.DBTX, typed string) (*AccountCharge, error) {
	id := idcode.Normalize(typed)
	c, err := scanCharge(db.QueryRowContext(ctx, `SELECT `+chargeCols+` FROM charges c LEFT JOIN tariff_items t ON t.code = c.code WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No charge " + id + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("billing: charge %s: %w", id, err)
	}
	return c, nil
}

// Account is a patient's account.
type Account struct {
	UHID     string          `json:"uhid"`
	Charges  []AccountCharge `json:"charges"`
	Payments []Receipt       `json:"payments"`
	Refunds  []Refund        `json:"refunds"`
	// Balance is what the patient owes: charges (not cancelled) − payments
	// + refunds paid out. Below 0 it is credit.
	Balance int64 `json:"balance_paise"`
}

// inList is "?, ?, …" for the values, and the values as arguments.
func inList(vs []string) (string, []any) {
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(vs)), ", "), args
}

// GetAccount returns a patient's account: the record's own charges,
// payments and refunds, and those of every record merged into it.
func GetAccount(ctx context.Context, db journal.DBTX, uhid string) (*Account, error) {
	family, err := registration.Family(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	in, args := inList(family)
	a := &Account{UHID: uhid, Charges: []AccountCharge{}, Payments: []Receipt{}}
	rows, err := db.QueryContext(ctx, `SELECT `+chargeCols+` FROM charges c LEFT JOIN tariff_items t ON t.code = c.code WHERE c.uhid IN (`+in+`) ORDER BY c.posted, c.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: account %s: %w", uhid, err)
	}
	for rows.Next() {
		c, err := scanCharge(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		a.Charges = append(a.Charges, *c)
		if c.Status != "cancelled" {
			a.Balance += c.Paise
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `SELECT receipt_no, uhid, paise, mode, reference, counter, day, paid, cashier FROM payments WHERE uhid IN (`+in+`) ORDER BY paid, receipt_no`, args...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var r Receipt
		if err := rows.Scan(&r.ReceiptNo, &r.UHID, &r.Paise, &r.Mode, &r.Reference, &r.Counter, &r.Day, &r.Paid, &r.Cashier); err != nil {
			rows.Close()
			return nil, err
		}
		r.Items = []ReceiptItem{}
		a.Payments = append(a.Payments, r)
		a.Balance -= r.Paise
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if a.Refunds, err = refunds(ctx, db, `WHERE uhid IN (`+in+`) ORDER BY requested, refund_no`, args...); err != nil {
		return nil, err
	}
	for _, r := range a.Refunds {
		if r.Status == "refunded" {
			a.Balance += r.Paise
		}
	}
	return a, nil
}
