package hospital_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"kavach"
	"kavach/billing"
	"kavach/internal/servicetest"
	"kavach/node"
)

// TestBillingOnSite: a billing counter's site node takes payments and
// refunds while the central is down, the central takes its own; receipt
// numbers never collide, and after they converge both give the same
// accounts and the same day end.
func TestBillingOnSite(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Cash counter 2")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	uhid, _ := register(t, ka, "Sunita Devi", "9810000011")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)

	seen := map[string]bool{}
	pay := func(n *servicetest.Node, paise int64, mode, ref string) string {
		t.Helper()
		var rc *billing.Receipt
		n.Do(t, "billing", func(tx *node.Tx) error {
			var err error
			rc, err = billing.Pay(tx, billing.NewPayment{UHID: uhid, Paise: paise, Mode: mode, Reference: ref})
			return err
		})
		if seen[rc.ReceiptNo] || !strings.HasPrefix(rc.ReceiptNo, n.Node.Info().NodeCode+"P") {
			t.Fatalf("receipt number %s at %s", rc.ReceiptNo, n.Node.Info().NodeCode)
		}
		seen[rc.ReceiptNo] = true
		return rc.ReceiptNo
	}
	// Cut off: both counters take money for the same patient.
	for i := range 5 {
		pay(ka, int64(1000*(i+1)), "cash", "")
		pay(kb, int64(700*(i+1)), "upi", "UTR-B")
	}
	rb := pay(kb, 200000, "cash", "")
	kb.Do(t, "billing", func(tx *node.Tx) error {
		_, err := billing.RequestRefund(tx, billing.NewRefund{ReceiptNo: rb, Paise: 50000, Reason: "Paid for a test not done"})
		return err
	})
	kb.Do(t, "billing", func(tx *node.Tx) error {
		_, err := billing.CloseDay(tx, billing.DayClose{CashCount: map[string]int{"500": 4}})
		return err
	})

	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	sameTables(t, ka, kb)
	verify(t, ka)
	verify(t, kb)
	day := kavach.Day(ka.Node.Now())
	var ends []*billing.DayEnd
	var accounts []*billing.Account
	for _, n := range []*servicetest.Node{ka, kb} {
		d, err := billing.GetDayEnd(ctx, n.Node.DB(), day, "")
		if err != nil {
			t.Fatal(err)
		}
		a, err := billing.GetAccount(ctx, n.Node.DB(), uhid)
		if err != nil {
			t.Fatal(err)
		}
		ends, accounts = append(ends, d), append(accounts, a)
	}
	if !reflect.DeepEqual(ends[0], ends[1]) || !reflect.DeepEqual(accounts[0], accounts[1]) {
		t.Fatalf("the central and the site disagree:\n%+v\n%+v", ends[0], ends[1])
	}
	if d := ends[0]; d.Receipts != 11 || d.ByMode["cash"] != 15000+200000 || d.ByMode["upi"] != 10500 || d.Net != 15000+200000+10500-50000 ||
		len(d.Closed) != 1 || d.Closed[0] != "KB" {
		t.Fatalf("day end: %+v", d)
	}
	// The site's counter is closed; the central's is not.
	err := kb.Node.Do(ctx, "billing", func(tx *node.Tx) error {
		_, err := billing.Pay(tx, billing.NewPayment{UHID: uhid, Paise: 100, Mode: "cash"})
		return err
	})
	if kavach.ErrorCode(err) != kavach.ECONFLICT {
		t.Fatalf("a payment at the closed counter: %v", err)
	}
	pay(ka, 100, "cash", "")
}
