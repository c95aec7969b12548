package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"kavach/billing"
)

// TestBrowserBillingCounter drives a day at the billing counter with the
// keyboard alone: the cashier types the UHID and Enter, Enter takes the
// balance in cash and opens the receipt, which prints itself with the
// amount in words in English and Hindi; a refund above ₹1,000 waits for
// approval, which the accounts officer gives from the list; the cashier
// counts the cash and closes the day, and the counter then refuses a
// payment, saying why.
func TestBrowserBillingCounter(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reg := s.loggedIn(t, "registration")
	uhid := billingPatient(t, s, reg, "Ramkali Devi", "9876512399")
	// ₹10 for the visit and ₹1,450 of lab tests: ₹1,460.
	s.billingOrder(t, uhid, "CBC", "HBA1C", "LFT", "KFT", "LIPID", "THY")

	c := newChrome(t, s)
	c.login("billing")
	c.do(c.loads(c.alt("g")), c.focused("uhid"), c.keys(uhid), c.loads(c.keys(kb.Enter)), c.focused("amount"))
	if b := c.text("#balance"); b != "₹1,460.00" {
		t.Errorf("balance %q", b)
	}
	if w := c.text("#balance-words"); w != "Rupees One Thousand Four Hundred Sixty Only" {
		t.Errorf("balance in words %q", w)
	}
	c.shot("billing-account")

	// Enter: the balance in cash, and the receipt prints itself.
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("article.receipt")), c.until(`window.__printed === 1`), c.focused("next"))
	if w := c.text("#words-en"); w != "Rupees One Thousand Four Hundred Sixty Only" {
		t.Errorf("amount in English words %q", w)
	}
	if w := c.text("#words-hi"); w != "एक हज़ार चार सौ साठ रुपये मात्र" {
		t.Errorf("amount in Hindi words %q", w)
	}
	for _, want := range []string{"RECEIPT", "रसीद", "Ramkali Devi", "Complete blood count", "Thyroid profile", "₹1,460.00", "Signatory", "Demo billing"} {
		if r := c.text("article.receipt"); !strings.Contains(r, want) {
			t.Errorf("receipt lacks %q: %q", want, r)
		}
	}
	if loc := c.eval(`location.search`); strings.Contains(loc, "print=1") {
		t.Errorf("the receipt's address still prints on reload: %s", loc)
	}
	c.shot("billing-receipt")
	a, err := billing.GetAccount(ctx, s.h.Node.DB(), uhid)
	if err != nil || len(a.Payments) != 1 || a.Payments[0].Paise != 146000 || a.Balance != 0 {
		t.Fatalf("account after paying: %+v %v", a, err)
	}
	receipt := a.Payments[0].ReceiptNo

	// Back to the account; Alt+F: a refund of ₹1,200 on the receipt waits for approval.
	c.do(c.keys(kb.Tab), c.focused("account"), c.loads(c.keys(kb.Enter)), c.focused("uhid"),
		c.alt("f"), c.focused("refund-receipt-no"), c.keys(kb.Tab), c.focused("refund-amount"), c.keys("1200"),
		c.keys(kb.Tab), c.focused("refund-reason"), c.keys("Tests not done: referred elsewhere"), c.loads(c.keys(kb.Enter)),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := c.text("#flash"); !strings.Contains(f, "awaiting approval") || !strings.Contains(f, "₹1,200.00") {
		t.Errorf("after the refund: %q", f)
	}
	c.shot("billing-refund")
	pending, _ := billing.PendingRefunds(ctx, s.h.Node.DB())
	if len(pending) != 1 || pending[0].ReceiptNo != receipt {
		t.Fatalf("refunds awaiting approval: %+v", pending)
	}
	refund := pending[0].RefundNo

	// The accounts officer approves it from the list: Alt+G, Alt+O, Enter.
	acc := newChrome(t, s)
	acc.login("accounts")
	acc.do(acc.loads(acc.alt("g")), acc.focused("uhid"), acc.loads(acc.alt("o")), acc.focused("approve-"+refund),
		acc.loads(acc.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if f := acc.text("#flash"); !strings.Contains(f, "Refund approved: "+refund) {
		t.Errorf("after approving: %q", f)
	}
	acc.shot("billing-approve")

	// The cashier closes the day: ₹1,460 taken, ₹1,200 paid back: ₹260 counted.
	c.do(c.loads(c.alt("e")), c.focused("count_500"))
	if e := c.text("#expected"); e != "₹260.00" {
		t.Errorf("expected cash %q", e)
	}
	for _, n := range []string{"", "1", "", "1", "", "1"} {
		c.do(c.keys(n), c.keys(kb.Tab))
	}
	c.do(c.focused("count_5"))
	if got := c.text("#counted") + " " + c.text("#difference"); got != "₹260.00 ₹0.00" {
		t.Errorf("running count and difference: %q", got)
	}
	c.shot("billing-count")
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#close")))
	if d := c.text("#close"); !strings.Contains(d, "The counter's day is closed") || !strings.Contains(d, "₹260.00") {
		t.Errorf("the close: %q", d)
	}
	if d := strings.TrimSpace(c.text("#close-difference")); d != "₹0.00" {
		t.Errorf("difference %q", d)
	}
	c.shot("billing-closed")

	// The patient owes the refunded ₹1,200 again; the closed counter takes no payment.
	c.do(c.loads(c.alt("g")), c.focused("uhid"), c.keys(uhid), c.loads(c.keys(kb.Enter)), c.focused("amount"),
		c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#payerr")))
	if e := c.text("#payerr"); !strings.Contains(e, "is closed: it takes no more payments or refunds today") {
		t.Errorf("a payment at the closed counter: %q", e)
	}
	c.shot("billing-refused")
	if a, _ := billing.GetAccount(ctx, s.h.Node.DB(), uhid); len(a.Payments) != 1 {
		t.Errorf("the closed counter took a payment: %+v", a.Payments)
	}
}
