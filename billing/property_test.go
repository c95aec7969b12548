package billing_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"kavach"
	"kavach/billing"
	"kavach/internal/servicetest"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// TestMoneyProperties drives random sequences of charges (visits, lab
// orders), payments, cancellations and refunds, good and bad, through the
// commands, and checks after each step, against a model kept beside them:
// balance = charges − payments + refunds; no refund beyond what remains
// on its receipt; a refused command changes nothing; and the day end's
// totals equal the receipts.
func TestMoneyProperties(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { moneyRun(t, seed) })
	}
}

func moneyRun(t *testing.T, seed uint64) {
	ctx := context.Background()
	n := servicetest.Open(t, "KA", "A")
	r := rand.New(rand.NewPCG(seed, 7))
	var uhids []string
	n.Do(t, "registration", func(tx *node.Tx) error {
		for i := range 3 {
			age := 20 + i
			p, err := registration.Register(tx, &registration.NewPatient{Name: fmt.Sprintf("Patient %c", 'A'+i), Sex: "F", AgeYears: &age,
				Mobile: fmt.Sprintf("98111%05d", i), Address: "Delhi", GuardianName: "G"})
			if err != nil {
				return err
			}
			uhids = append(uhids, p.Patient.UHID)
		}
		return nil
	})
	type receipt struct {
		no       string
		uhid     string
		paid     int64
		refunded int64 // asked, approved or not
	}
	var receipts []*receipt
	var pending []string // refunds awaiting approval
	// The model: what each patient owes, from the commands' answers.
	owes := map[string]int64{}
	var paidTotal int64
	check := func(step string) {
		t.Helper()
		for _, u := range uhids {
			a, err := billing.GetAccount(ctx, n.Node.DB(), u)
			if err != nil {
				t.Fatal(err)
			}
			var charges, payments, refunds int64
			for _, c := range a.Charges {
				if c.Status != "cancelled" {
					charges += c.Paise
				}
			}
			for _, p := range a.Payments {
				payments += p.Paise
			}
			for _, f := range a.Refunds {
				if f.Status == "refunded" {
					refunds += f.Paise
				}
			}
			if a.Balance != charges-payments+refunds || a.Balance != owes[u] {
				t.Fatalf("%s: %s balance %d; charges %d − payments %d + refunds %d; the model says %d", step, u, a.Balance, charges, payments, refunds, owes[u])
			}
		}
		for _, rc := range receipts {
			got, err := billing.GetReceipt(ctx, n.Node.DB(), rc.no)
			if err != nil {
				t.Fatal(err)
			}
			if got.Refunded > got.Paise {
				t.Fatalf("%s: receipt %s refunded %d of %d", step, rc.no, got.Refunded, got.Paise)
			}
		}
		d, err := billing.GetDayEnd(ctx, n.Node.DB(), kavach.Day(n.Node.Now()), "")
		if err != nil {
			t.Fatal(err)
		}
		if d.Total != paidTotal || d.Receipts != len(receipts) || d.ByMode["cash"]+d.ByMode["upi"]+d.ByMode["card"] != d.Total {
			t.Fatalf("%s: day end %d in %d receipts; the receipts say %d in %d", step, d.Total, d.Receipts, paidTotal, len(receipts))
		}
	}
	events := func() uint64 { return n.Node.Status().Events }
	refused := func(step string, err error) {
		t.Helper()
		if code := kavach.ErrorCode(err); code != kavach.EINVALID && code != kavach.ECONFLICT && code != kavach.EFORBIDDEN {
			t.Fatalf("%s: %v (%s)", step, err, code)
		}
	}
	do := func(user string, cmd func(tx *node.Tx) error) error { return n.Node.Do(ctx, user, cmd) }
	for i := range 120 {
		u := uhids[r.IntN(len(uhids))]
		before := events()
		step := fmt.Sprintf("step %d", i)
		switch op := r.IntN(10); {
		case op < 2: // a visit or a lab order posts charges
			var posted int64
			err := do("doctor", func(tx *node.Tx) error {
				if r.IntN(2) == 0 {
					v, err := opd.Open(tx, opd.NewVisit{UHID: u, Department: []string{"MED", "ENT", "EYE", "SUR"}[r.IntN(4)]})
					if v != nil {
						posted = v.Fee
					}
					return err
				}
				tests := []string{"CBC", "GLUF", "LFT", "THY"}[:1+r.IntN(4)]
				if _, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: u, Tests: tests}, true); err != nil {
					return err
				}
				for _, c := range tests {
					fee, _ := billing.FeeFor(tx, "lab."+c, "general")
					posted += fee
				}
				return nil
			})
			if err != nil {
				refused(step, err)
				continue
			}
			owes[u] += posted
		case op < 5: // a payment, sometimes bad
			amount := int64(r.IntN(40000)) - 2000
			mode := []string{"cash", "upi", "card", "cheque"}[r.IntN(4)]
			ref := ""
			if mode != "cash" && r.IntN(4) > 0 {
				ref = fmt.Sprint("REF", i)
			}
			var rc *billing.Receipt
			err := do("billing", func(tx *node.Tx) error {
				var err error
				rc, err = billing.Pay(tx, billing.NewPayment{UHID: u, Paise: amount, Mode: mode, Reference: ref})
				return err
			})
			if err != nil {
				refused(step, err)
				if events() != before {
					t.Fatalf("%s: a refused payment wrote %d events", step, events()-before)
				}
				continue
			}
			if amount <= 0 || mode == "cheque" || (mode != "cash" && ref == "") {
				t.Fatalf("%s: a bad payment was taken: %d %s %q", step, amount, mode, ref)
			}
			receipts = append(receipts, &receipt{no: rc.ReceiptNo, uhid: u, paid: amount})
			owes[u] -= amount
			paidTotal += amount
		case op < 6: // cancel an unpaid charge, or try a paid one
			a, _ := billing.GetAccount(ctx, n.Node.DB(), u)
			if len(a.Charges) == 0 {
				continue
			}
			c := a.Charges[r.IntN(len(a.Charges))]
			err := do("billing", func(tx *node.Tx) error { _, err := billing.CancelCharge(tx, c.ID, "step"); return err })
			if err != nil {
				refused(step, err)
				if c.Status == "unpaid" || c.Status == "free" {
					t.Fatalf("%s: an unpaid charge was not cancelled: %v", step, err)
				}
				continue
			}
			if c.Status != "unpaid" && c.Status != "free" {
				t.Fatalf("%s: a %s charge was cancelled", step, c.Status)
			}
			owes[u] -= c.Paise
		case op < 9: // a refund, sometimes beyond what is left
			if len(receipts) == 0 {
				continue
			}
			rc := receipts[r.IntN(len(receipts))]
			amount := int64(r.IntN(int(rc.paid)+5000)) + 1
			var f *billing.Refund
			err := do("billing", func(tx *node.Tx) error {
				var err error
				f, err = billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rc.no, Paise: amount, Reason: "step", UHID: uhids[r.IntN(len(uhids))]})
				return err
			})
			if err != nil {
				refused(step, err)
				continue
			}
			if rc.refunded+amount > rc.paid {
				t.Fatalf("%s: refund of %d on %s beyond what was left (%d of %d refunded)", step, amount, rc.no, rc.refunded, rc.paid)
			}
			rc.refunded += amount
			if f.Status == "refunded" {
				owes[rc.uhid] += amount
			} else {
				pending = append(pending, f.RefundNo)
			}
		default: // approve a waiting refund: not by who asked
			if len(pending) == 0 {
				continue
			}
			no := pending[0]
			if err := do("billing", func(tx *node.Tx) error { _, err := billing.ApproveRefund(tx, no); return err }); err == nil {
				t.Fatalf("%s: the refund's own cashier approved it", step)
			}
			var f *billing.Refund
			if err := do("accounts", func(tx *node.Tx) error { var err error; f, err = billing.ApproveRefund(tx, no); return err }); err != nil {
				t.Fatal(err)
			}
			pending = pending[1:]
			owes[f.UHID] += f.Paise
		}
		check(step)
	}
}
