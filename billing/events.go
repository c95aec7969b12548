package billing

import (
	"context"
	"encoding/json"
	"fmt"

	"kavach"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// Billing's event types beyond tariff.set. Their payloads are frozen
// contracts (docs/architecture.md): a change is a new type, never an edit.
const (
	TariffPriced    node.Event[Priced]          = "tariff.priced"
	PaymentReceived node.Event[Paid]            = "payment.received"
	ChargeCancelled node.Event[ChargeCancel]    = "charge.cancelled"
	RefundRequested node.Event[RefundRequest]   = "refund.requested"
	RefundApproved  node.Event[RefundApproval]  = "refund.approved"
	DayClosed       node.Event[CounterDayClose] = "counter.day_closed"
)

// Priced is the payload of tariff.priced: a service's name and its price
// for a patient category ("*" for any) from a day on.
type Priced struct {
	Category  string `json:"category"`
	Code      string `json:"code"`
	Effective string `json:"effective"` // YYYY-MM-DD
	Name      string `json:"name"`
	Paise     int64  `json:"paise"`
}

// Paid is the payload of payment.received: a receipt, and the charges it
// pays, oldest first, as they stood when it was taken.
type Paid struct {
	Counter   string     `json:"counter"`
	Items     []PaidItem `json:"items"`
	Mode      string     `json:"mode"` // cash | upi | card
	Paise     int64      `json:"paise"`
	ReceiptNo string     `json:"receipt_no"`
	Reference string     `json:"reference"`
	UHID      string     `json:"uhid"`
}

// PaidItem is a charge a payment pays, and how much of it.
type PaidItem struct {
	ChargeID string `json:"charge_id"`
	Paise    int64  `json:"paise"`
}

// ChargeCancel is the payload of charge.cancelled.
type ChargeCancel struct {
	ChargeID string `json:"charge_id"`
	Reason   string `json:"reason"`
}

// RefundRequest is the payload of refund.requested: money back on a
// receipt. One above the approval threshold is paid only once a second
// user approves it (refund.approved).
type RefundRequest struct {
	Counter       string `json:"counter"`
	Mode          string `json:"mode"`
	NeedsApproval bool   `json:"needs_approval"`
	Paise         int64  `json:"paise"`
	Reason        string `json:"reason"`
	ReceiptNo     string `json:"receipt_no"`
	RefundNo      string `json:"refund_no"`
	UHID          string `json:"uhid"`
}

// RefundApproval is the payload of refund.approved.
type RefundApproval struct {
	RefundNo string `json:"refund_no"`
}

// CounterDayClose is the payload of counter.day_closed: a cashier's count
// at the end of a shift or a day, with what the receipts say.
type CounterDayClose struct {
	ByMode     map[string]int64 `json:"by_mode"`
	CashCount  map[string]int   `json:"cash_count"` // rupees per note or coin → how many
	Counted    int64            `json:"counted_paise"`
	Counter    string           `json:"counter"`
	Day        string           `json:"day"`
	Expected   int64            `json:"expected_paise"`
	Final      bool             `json:"final"` // the counter's day is closed
	HandoverTo string           `json:"handover_to"`
	Note       string           `json:"note"`
	Receipts   int              `json:"receipts"`
	Refunds    int64            `json:"refunds_paise"` // cash refunded
}

// events are billing's projectors, each a function of the set of events.
func events() []node.Handler {
	return []node.Handler{
		node.On(TariffSet, applyTariff),
		node.On(TariffPriced, applyPriced),
		node.Issuing(node.On(PaymentReceived, applyPaid), issuesReceipt),
		node.On(ChargeCancelled, applyChargeCancelled),
		node.Issuing(node.On(RefundRequested, applyRefundRequested), issuesRefund),
		node.On(RefundApproved, applyRefundApproved),
		node.On(DayClosed, applyDayClosed),
	}
}

const (
	receiptCounter = "billing.receipt"
	refundCounter  = "billing.refund"
)

// Receipt and refund numbers: KAP… and KAF…, from the node's namespace
// with a check character.
func receiptNo(code string, serial int64) string { return idcode.Make(code+"P", serial, 8) }
func refundNo(code string, serial int64) string  { return idcode.Make(code+"F", serial, 8) }

func issuesReceipt(ns node.Namespace, e *journal.Event, p *Paid) error {
	if prefix, _, err := idcode.Parse(p.ReceiptNo, 3); err != nil || prefix != ns.Code+"P" {
		return fmt.Errorf("receipt number %s", p.ReceiptNo)
	}
	return nil
}

func issuesRefund(ns node.Namespace, e *journal.Event, r *RefundRequest) error {
	if prefix, _, err := idcode.Parse(r.RefundNo, 3); err != nil || prefix != ns.Code+"F" {
		return fmt.Errorf("refund number %s", r.RefundNo)
	}
	return nil
}

func applyPriced(p *node.Projection, e *journal.Event, t *Priced) error {
	p.ForgetCached()
	stamp := node.Stamp(e)
	if _, err := p.Exec(`INSERT INTO tariff_items (code, name, stamp) VALUES (?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, stamp = excluded.stamp WHERE excluded.stamp > tariff_items.stamp`,
		t.Code, t.Name, stamp); err != nil {
		return err
	}
	_, err := p.Exec(`INSERT INTO tariff_prices (code, category, effective, paise, stamp) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (code, category, effective) DO UPDATE SET paise = excluded.paise, stamp = excluded.stamp
		WHERE excluded.stamp > tariff_prices.stamp`, t.Code, t.Category, t.Effective, t.Paise, stamp)
	return err
}

func applyPaid(p *node.Projection, e *journal.Event, v *Paid) error {
	if _, err := p.Exec(`INSERT INTO payments (receipt_no, uhid, paise, mode, reference, counter, day, paid, cashier) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		v.ReceiptNo, v.UHID, v.Paise, v.Mode, v.Reference, v.Counter, kavach.Day(e.Time), e.Time.Format(journal.TimeFormat), e.Actor); err != nil {
		return err
	}
	for _, it := range v.Items {
		if _, err := p.Exec(`INSERT INTO payment_items (receipt_no, charge_id, paise) VALUES (?, ?, ?)`, v.ReceiptNo, it.ChargeID, it.Paise); err != nil {
			return err
		}
	}
	if prefix, serial, err := idcode.Parse(v.ReceiptNo, 3); err == nil && prefix == e.Origin+"P" {
		return p.RaiseCounter(e.Origin, receiptCounter, serial)
	}
	return nil
}

func applyChargeCancelled(p *node.Projection, e *journal.Event, c *ChargeCancel) error {
	return cancelCharge(p, e, c.ChargeID, c.Reason)
}

// cancelCharge marks a charge cancelled by its earliest cancellation.
func cancelCharge(p *node.Projection, e *journal.Event, id, reason string) error {
	stamp := node.Stamp(e)
	_, err := p.Exec(`UPDATE charges SET cancelled = ?, cancelled_by = ?, cancel_reason = ?, cancel_stamp = ?
		WHERE id = ? AND (cancel_stamp = '' OR cancel_stamp > ?)`,
		e.Time.Format(journal.TimeFormat), e.Actor, reason, stamp, id, stamp)
	return err
}

func applyRefundRequested(p *node.Projection, e *journal.Event, r *RefundRequest) error {
	at, day := e.Time.Format(journal.TimeFormat), kavach.Day(e.Time)
	paidAt, paidDay := at, day
	if r.NeedsApproval {
		paidAt, paidDay = "", ""
	}
	if _, err := p.Exec(`INSERT INTO refunds (refund_no, receipt_no, uhid, paise, mode, reason, counter, day, requested, requested_by, needs_approval, paid_at, paid_day)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.RefundNo, r.ReceiptNo, r.UHID, r.Paise, r.Mode, r.Reason, r.Counter, day, at, e.Actor, r.NeedsApproval, paidAt, paidDay); err != nil {
		return err
	}
	if prefix, serial, err := idcode.Parse(r.RefundNo, 3); err == nil && prefix == e.Origin+"F" {
		return p.RaiseCounter(e.Origin, refundCounter, serial)
	}
	return nil
}

func applyRefundApproved(p *node.Projection, e *journal.Event, a *RefundApproval) error {
	stamp := node.Stamp(e)
	// The money goes out when it is approved (the earliest approval).
	_, err := p.Exec(`UPDATE refunds SET approved = ?, approved_by = ?, approve_stamp = ?, paid_at = ?, paid_day = ? WHERE refund_no = ? AND (approve_stamp = '' OR approve_stamp > ?)`,
		e.Time.Format(journal.TimeFormat), e.Actor, stamp, e.Time.Format(journal.TimeFormat), kavach.Day(e.Time), a.RefundNo, stamp)
	return err
}

func applyDayClosed(p *node.Projection, e *journal.Event, d *CounterDayClose) error {
	byMode, err := json.Marshal(d.ByMode)
	if err != nil {
		return err
	}
	count, err := json.Marshal(d.CashCount)
	if err != nil {
		return err
	}
	_, err = p.Exec(`INSERT INTO day_closes (counter, day, cashier, origin, seq, closed, final, handover_to, note, receipts, by_mode, refunds, expected, counted, cash_count)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.Counter, d.Day, e.Actor, e.Origin, e.Seq, e.Time.Format(journal.TimeFormat), d.Final, d.HandoverTo, d.Note, d.Receipts,
		string(byMode), d.Refunds, d.Expected, d.Counted, string(count))
	return err
}

// Charge is a charge another service's event posts: the visit's fee, a
// lab test's price.
type Charge struct {
	UHID     string
	Code     string // the tariff's code: "opd.new", "lab.CBC"
	Paise    int64
	Source   string // "visit", "lab"
	SourceID string // the visit or order number
}

// ChargeID is the identity of the line-th charge an event posts: its
// origin and sequence number, so that the charge is posted once however
// often and in whatever order the event is applied.
func ChargeID(e *journal.Event, line int) string {
	return idcode.Make(e.Origin+"C", int64(e.Seq)*100+int64(line), 10)
}

// Post is for other services' projectors: it posts the line-th charge of
// event e (line < 100).
func Post(p *node.Projection, e *journal.Event, line int, c Charge) error {
	return PostTo(p.Context(), p, e, line, c)
}

// PostTo is Post for a migration's step, which posts the charges of events
// applied before billing posted any.
func PostTo(ctx context.Context, db journal.DBTX, e *journal.Event, line int, c Charge) error {
	_, err := db.ExecContext(ctx, `INSERT INTO charges (id, uhid, code, paise, source, source_id, posted) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO NOTHING`,
		ChargeID(e, line), c.UHID, c.Code, c.Paise, c.Source, c.SourceID, e.Time.Format(journal.TimeFormat))
	return err
}

// CancelSource is for other services' projectors: event e cancels every
// charge of a source (a cancelled lab order's tests), paid or not; what was
// paid for them stays on the account as credit, to be refunded.
func CancelSource(p *node.Projection, e *journal.Event, source, id, reason string) error {
	rows, err := p.Query(`SELECT id FROM charges WHERE source = ? AND source_id = ?`, source, id)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, c := range ids {
		if err := cancelCharge(p, e, c, reason); err != nil {
			return err
		}
	}
	return nil
}
