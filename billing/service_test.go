package billing_test

import (
	"testing"

	"kavach/billing"
	"kavach/internal/servicetest"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// TestService runs billing through the suite every service runs: prices
// set on each node, differently; a visit and a lab order post charges; a
// payment, a cancelled charge, a small refund and a large one approved by
// the cash office; the counter's day closed.
func TestService(t *testing.T) {
	servicetest.Run(t, "billing", func(t *testing.T, n *servicetest.Node) {
		paise := int64(1500)
		if n.Variant == "B" {
			paise = 2000
		}
		n.Do(t, "admin", func(tx *node.Tx) error {
			if err := billing.SetTariff(tx, billing.Tariff{Item: "opd.old", Category: "*", Paise: paise}); err != nil {
				return err
			}
			return billing.SetPrice(tx, billing.NewPrice{Code: "lab.CBC", Name: "CBC " + n.Variant, Paise: 200000 + paise, Effective: "2001-01-01"})
		})
		var uhid string
		n.Do(t, "registration", func(tx *node.Tx) error {
			age := 33
			r, err := registration.Register(tx, &registration.NewPatient{Name: "Meena Kumari", Sex: "F", AgeYears: &age,
				Mobile: "9811100004", Address: "Rohini", GuardianName: "Ravi Kumar"})
			if err != nil {
				return err
			}
			uhid = r.Patient.UHID
			_, err = opd.Open(tx, opd.NewVisit{UHID: uhid, Department: "MED"})
			return err
		})
		n.Do(t, "doctor", func(tx *node.Tx) error {
			_, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, Tests: []string{"CBC", "GLUF"}}, true)
			return err
		})
		var charges *billing.Account
		n.Do(t, "billing", func(tx *node.Tx) error {
			var err error
			charges, err = billing.GetAccount(tx.Context(), tx, uhid)
			return err
		})
		if len(charges.Charges) != 3 {
			t.Fatalf("charges posted: %+v", charges.Charges)
		}
		n.Do(t, "billing", func(tx *node.Tx) error {
			_, err := billing.CancelCharge(tx, charges.Charges[2].ID, "Ordered by mistake "+n.Variant)
			return err
		})
		var rc *billing.Receipt
		n.Do(t, "billing", func(tx *node.Tx) error {
			var err error
			rc, err = billing.Pay(tx, billing.NewPayment{UHID: uhid, Paise: 300000, Mode: "cash"})
			return err
		})
		var big *billing.Refund
		n.Do(t, "billing", func(tx *node.Tx) error {
			if _, err := billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rc.ReceiptNo, Paise: 5000, Reason: "Overpaid " + n.Variant}); err != nil {
				return err
			}
			var err error
			big, err = billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rc.ReceiptNo, Paise: 150000, Reason: "Test not done"})
			return err
		})
		n.Do(t, "accounts", func(tx *node.Tx) error {
			_, err := billing.ApproveRefund(tx, big.RefundNo)
			return err
		})
		n.Do(t, "billing", func(tx *node.Tx) error {
			_, err := billing.CloseDay(tx, billing.DayClose{CashCount: map[string]int{"500": 2, "100": 5}, Note: "Day " + n.Variant})
			return err
		})
	})
}
