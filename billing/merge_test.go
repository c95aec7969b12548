package billing_test

import (
	"context"
	"testing"

	"kavach"
	"kavach/billing"
	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// TestMergedAccountAndLateApproval: after a merge the surviving record's
// account holds the merged record's charges and a payment pays them; a
// large refund approved after the cashier's shift is counted in the shift
// in which it was paid out, and cannot be approved at a closed counter.
func TestMergedAccountAndLateApproval(t *testing.T) {
	ctx := context.Background()
	n := servicetest.Open(t, "KA", "A")
	var a, b string
	n.Do(t, "registration", func(tx *node.Tx) error {
		for i, name := range []string{"Hari Om", "Hari Om Sharma"} {
			age := 60
			r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "M", AgeYears: &age, Mobile: "981110009" + string(rune('0'+i)),
				Address: "Delhi", GuardianName: "G"})
			if err != nil {
				return err
			}
			if _, err := opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "MED"}); err != nil {
				return err
			}
			if i == 0 {
				a = r.Patient.UHID
			} else {
				b = r.Patient.UHID
			}
		}
		return nil
	})
	n.Do(t, "records", func(tx *node.Tx) error {
		_, err := registration.MergeInto(tx, registration.Merge{From: b, Into: a, Reason: "Same patient"}, true)
		return err
	})
	acct, err := billing.GetAccount(ctx, n.Node.DB(), a)
	if err != nil || len(acct.Charges) != 2 || acct.Balance != 2000 {
		t.Fatalf("the survivor's account: %+v %v", acct, err)
	}
	var rc *billing.Receipt
	n.Do(t, "billing", func(tx *node.Tx) error {
		var err error
		rc, err = billing.Pay(tx, billing.NewPayment{UHID: b, Paise: 500000, Mode: "cash"}) // typed as the merged UHID
		return err
	})
	if len(rc.Items) != 2 || rc.UHID != a {
		t.Fatalf("a payment on the merged UHID: %+v", rc)
	}

	// A large cash refund, asked for, the shift closed (handed to the next
	// cashier), then approved: it counts in the shift after, when it went out.
	var f *billing.Refund
	n.Do(t, "billing", func(tx *node.Tx) error {
		var err error
		f, err = billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rc.ReceiptNo, Paise: 200000, Reason: "Paid twice"})
		return err
	})
	n.Do(t, "billing", func(tx *node.Tx) error {
		d, err := billing.CloseDay(tx, billing.DayClose{HandoverTo: "billing2", CashCount: map[string]int{"500": 10}})
		if err == nil && (d.Refunds != 0 || d.Expected != 500000) {
			t.Errorf("the shift before the approval: %+v", d)
		}
		return err
	})
	n.Do(t, "accounts", func(tx *node.Tx) error { _, err := billing.ApproveRefund(tx, f.RefundNo); return err })
	s, err := billing.ShiftOf(ctx, n.Node.DB(), "KA", kavach.Day(n.Node.Now()), "billing")
	if err != nil || s.Refunds != 200000 || s.Expected != -200000 {
		t.Fatalf("the shift after the approval: %+v %v", s, err)
	}
	// A refund waiting at a closed counter is not approved.
	n.Do(t, "billing", func(tx *node.Tx) error {
		var err error
		f, err = billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rc.ReceiptNo, Paise: 150000, Reason: "Test not done"})
		return err
	})
	n.Do(t, "billing", func(tx *node.Tx) error { _, err := billing.CloseDay(tx, billing.DayClose{}); return err })
	err = n.Node.Do(ctx, "accounts", func(tx *node.Tx) error { _, err := billing.ApproveRefund(tx, f.RefundNo); return err })
	if kavach.ErrorCode(err) != kavach.ECONFLICT {
		t.Fatalf("approval at a closed counter: %v", err)
	}
}
