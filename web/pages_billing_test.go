package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kavach/audit"
	"kavach/billing"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
)

// billingEvents counts billing's money events in the node's journal:
// payments, refunds, cancelled charges and counter closes. A refused form
// must add none (reads add record.viewed events, which are not billing's).
func (s *site) billingEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.h.Node.DB().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM journal_events WHERE
		CAST(data AS TEXT) LIKE '%"type":"payment.%' OR CAST(data AS TEXT) LIKE '%"type":"refund.%' OR
		CAST(data AS TEXT) LIKE '%"type":"charge.%' OR CAST(data AS TEXT) LIKE '%"type":"counter.%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// billingUnchanged fails the test if fn writes a billing event.
func (s *site) billingUnchanged(t *testing.T, fn func()) {
	t.Helper()
	before := s.billingEvents(t)
	fn()
	if after := s.billingEvents(t); after != before {
		t.Fatalf("a refused form wrote %d billing events", after-before)
	}
}

// billingOrder orders lab tests for a patient as the doctor, through the
// command: their prices post charges to the patient's account.
func (s *site) billingOrder(t *testing.T, uhid string, tests ...string) {
	t.Helper()
	err := s.h.Node.Do(context.Background(), "doctor", func(tx *node.Tx) error {
		_, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, Tests: tests, Priority: "routine"}, true)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// billingPatient registers a patient at the registration counter (a new
// OPD visit: ₹10) and returns the UHID.
func billingPatient(t *testing.T, s *site, reg *browser, name, mobile string) string {
	t.Helper()
	visit := reg.register(patientForm(name, mobile, "40"))
	v, err := opd.GetVisit(context.Background(), s.h.Node.DB(), visit)
	if err != nil {
		t.Fatal(err)
	}
	return v.UHID
}

var receiptLocRE = regexp.MustCompile(`^/billing/receipts/([A-Z0-9]+)\?print=1$`)

// pay takes a payment on the account page and returns the receipt number.
func (b *browser) pay(uhid string, form url.Values) string {
	b.t.Helper()
	b.get("/billing?uhid=" + uhid)
	form.Set("uhid", uhid)
	p := b.post("/billing/payments", form)
	m := receiptLocRE.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || m == nil {
		b.t.Fatalf("pay %v: status %d location %q: %s", form, p.status, p.location, p.body)
	}
	return m[1]
}

// TestBillingPages follows a patient's money through the counter's pages:
// the account, payments in rupees and paise, the receipt's print view, a
// cancelled charge, refunds small and large, the accounts officer's
// approval, the day end with its cash count, and a closed counter. Each
// refusal says why on its form and writes nothing.
func TestBillingPages(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	db := s.h.Node.DB()
	reg := s.loggedIn(t, "registration")
	uhid := billingPatient(t, s, reg, "Savitri Devi", "9876512340")
	// ₹10 for the visit; CBC 150 + HBA1C 300 + LFT 225 + KFT 225 + LIPID 200 + THY 350.
	s.billingOrder(t, uhid, "CBC", "HBA1C", "LFT", "KFT", "LIPID", "THY")
	other := billingPatient(t, s, reg, "Kamla Bai", "9876512341")
	bl := s.loggedIn(t, "billing")
	var first, second, otherReceipt string

	t.Run("Find", func(t *testing.T) {
		p := bl.get("/billing")
		must(t, p, http.StatusOK, `id="uhid"`, `accesskey="i"`, "autofocus", "Accounts and payments")
		if strings.Contains(p.body, "Refunds awaiting approval") {
			t.Errorf("the cashier is offered the approvals")
		}
		must(t, bl.get("/billing?uhid=KA12"), http.StatusBadRequest, "UHID must have 10 to 12 letters and digits", `aria-invalid="true"`)
		must(t, bl.get("/billing?uhid="+wrongCheck(uhid)), http.StatusBadRequest, "UHID "+wrongCheck(uhid))
	})

	t.Run("Account", func(t *testing.T) {
		p := bl.get("/billing?uhid=" + strings.ToLower(uhid))
		must(t, p, http.StatusOK, "Savitri Devi", "Balance due", `<b id="balance">₹1,460.00</b>`,
			"Rupees One Thousand Four Hundred Sixty Only", `name="amount" value="1460.00"`, "OPD registration and consultation",
			"Complete blood count", "unpaid", "Cancel the charge", `<option value="cash" selected>`)
		if !regexp.MustCompile(`id="amount"[^>]*autofocus`).MatchString(p.body) {
			t.Errorf("the amount does not have the cursor")
		}
		es, _ := audit.Entries(ctx, db, audit.Query{Patient: uhid, User: "billing"})
		if !hasAction(es, "page.account") {
			t.Errorf("the account's read is not audited: %+v", es)
		}
	})

	t.Run("PayRefused", func(t *testing.T) {
		bl.get("/billing?uhid=" + uhid)
		s.billingUnchanged(t, func() {
			for _, c := range []struct {
				form url.Values
				want []string
			}{
				{url.Values{"amount": {"-5"}, "mode": {"cash"}}, []string{"The amount cannot be negative", `value="-5"`}},
				{url.Values{"amount": {"10.505"}, "mode": {"cash"}}, []string{"At most two digits of paise, like 150.50"}},
				{url.Values{"amount": {"ten"}, "mode": {"cash"}}, []string{"Type the amount in rupees, like 150.50"}},
				{url.Values{"amount": {"0"}, "mode": {"cash"}}, []string{"The amount must be more than ₹0"}},
				{url.Values{"amount": {"10"}, "mode": {"upi"}}, []string{"Give the UPI transaction or card approval reference", `<option value="upi" selected>`}},
				{url.Values{"amount": {"10"}, "mode": {"cheque"}}, []string{"Mode must be cash, upi or card"}},
				{url.Values{"amount": {"10"}, "mode": {"cash"}, "counter": {"counter one!"}}, []string{"A counter is up to 20 capital letters, digits or hyphens"}},
				{url.Values{"amount": {"20000000"}, "mode": {"cash"}}, []string{"The amount is above ₹1 crore"}},
			} {
				c.form.Set("uhid", uhid)
				p := bl.post("/billing/payments", c.form)
				must(t, p, http.StatusBadRequest, append(c.want, "Savitri Devi", `id="pay-form"`)...)
				if !strings.Contains(p.body, `aria-invalid="true"`) {
					t.Errorf("%v: no field marked", c.form)
				}
			}
			must(t, bl.post("/billing/payments", url.Values{"uhid": {wrongCheck(uhid)}, "amount": {"10"}, "mode": {"cash"}}),
				http.StatusBadRequest, "No patient with this UHID")
		})
	})

	t.Run("Pay", func(t *testing.T) {
		// Rupees and paise, to the paisa: 100.50 then the rest.
		first = bl.pay(uhid, url.Values{"amount": {"100.50"}, "mode": {"cash"}, "counter": {"c1"}})
		must(t, bl.get("/billing?uhid="+uhid), http.StatusOK, `<b id="balance">₹1,359.50</b>`, `name="amount" value="1359.50"`,
			`name="counter" value="C1"`, "part paid", "Rupees One Thousand Three Hundred Fifty Nine and Paise Fifty Only")
		p := bl.get("/billing/receipts/" + first + "?print=1")
		must(t, p, http.StatusOK, `data-autoprint="1"`, "slip-80mm.css", "RECEIPT", "रसीद", first, "Savitri Devi", "General",
			"OPD registration and consultation", "₹10.00", "Complete blood count", "₹90.50", `<th class="num" id="total">₹100.50</th>`,
			"Rupees One Hundred and Paise Fifty Only", "एक सौ रुपये पचास पैसे मात्र", "Cash", "C1", "Demo billing", "Signatory",
			`href="/billing/receipts/`+first+`.pdf"`, `id="next" autofocus`)
		second = bl.pay(uhid, url.Values{"amount": {"₹1,359.50"}, "mode": {"upi"}, "reference": {"UPI-4471"}, "counter": {"C1"}})
		must(t, bl.get("/billing/receipts/"+second), http.StatusOK, "UPI", "UPI-4471", "C1", "₹1,359.50")
		a, err := billing.GetAccount(ctx, db, uhid)
		if err != nil || a.Balance != 0 || len(a.Payments) != 2 || a.Payments[0].Paise != 10050 || a.Payments[1].Paise != 135950 {
			t.Fatalf("account after paying: %+v %v", a, err)
		}
		es, _ := audit.Entries(ctx, db, audit.Query{Patient: uhid, User: "billing"})
		if !hasAction(es, "page.receipt") {
			t.Errorf("the receipt's read is not audited")
		}
		otherReceipt = bl.pay(other, url.Values{"amount": {"10"}, "mode": {"cash"}, "counter": {"C1"}})
		must(t, bl.get("/billing/receipts/nope"), http.StatusNotFound)
	})

	t.Run("Cancel", func(t *testing.T) {
		s.billingOrder(t, uhid, "HB")
		a, _ := billing.GetAccount(ctx, db, uhid)
		hb := a.Charges[len(a.Charges)-1]
		paid := a.Charges[0]
		p := bl.get("/billing?uhid=" + uhid)
		must(t, p, http.StatusOK, `id="cancel-form"`, `<option value="`+hb.ID+`">Haemoglobin · ₹30.00`, `<b id="balance">₹30.00</b>`)
		if strings.Contains(p.body, `<option value="`+paid.ID+`"`) {
			t.Errorf("a paid charge is offered for cancelling")
		}
		s.billingUnchanged(t, func() {
			p := bl.post("/billing/charges/cancel", url.Values{"uhid": {uhid}, "charge_id": {hb.ID}, "reason": {" "}})
			must(t, p, http.StatusBadRequest, "Say why the charge is cancelled")
			if !regexp.MustCompile(`id="cancel-reason"[^>]*autofocus aria-invalid="true"`).MatchString(p.body) {
				t.Errorf("the refused cancel's reason is not marked")
			}
			must(t, bl.post("/billing/charges/cancel", url.Values{"uhid": {uhid}, "charge_id": {paid.ID}, "reason": {"Wrong"}}), http.StatusConflict,
				"refund the receipt instead")
			must(t, bl.post("/billing/charges/cancel", url.Values{"uhid": {other}, "charge_id": {hb.ID}, "reason": {"Wrong"}}), http.StatusBadRequest,
				"Choose one of this patient's charges")
		})
		p = bl.post("/billing/charges/cancel", url.Values{"uhid": {uhid}, "charge_id": {strings.ToLower(hb.ID)}, "reason": {"Ordered twice"}})
		if p.status != http.StatusSeeOther || p.location != "/billing?uhid="+uhid+"&cancelled="+hb.ID {
			t.Fatalf("cancel: %d %q %s", p.status, p.location, p.body)
		}
		p = bl.get(p.location)
		must(t, p, http.StatusOK, "Charge cancelled: Haemoglobin ₹30.00.", "cancelled: Ordered twice", `<b id="balance">₹0.00</b>`)
		if strings.Contains(p.body, `id="cancel-form"`) {
			t.Errorf("nothing is left to cancel, yet the form is there")
		}
	})

	var big string
	t.Run("Refund", func(t *testing.T) {
		must(t, bl.get("/billing?uhid="+uhid), http.StatusOK, `id="refund-form"`, `<option value="`+second+`" selected>`)
		s.billingUnchanged(t, func() {
			for _, c := range []struct {
				form   url.Values
				status int
				want   string
			}{
				{url.Values{"receipt_no": {second}, "amount": {"1400"}, "reason": {"Test not done"}}, http.StatusBadRequest, "At most ₹1,359.50 is left to refund on this receipt"},
				{url.Values{"receipt_no": {second}, "amount": {"100"}, "reason": {""}}, http.StatusBadRequest, "Say why the money is refunded"},
				{url.Values{"receipt_no": {second}, "amount": {"-1"}, "reason": {"x"}}, http.StatusBadRequest, "The amount cannot be negative"},
				{url.Values{"receipt_no": {otherReceipt}, "amount": {"5"}, "reason": {"x"}}, http.StatusBadRequest, "This receipt is another patient's"},
				{url.Values{"receipt_no": {"KAP000000999"}, "amount": {"5"}, "reason": {"x"}}, http.StatusBadRequest, "No such receipt"},
			} {
				c.form.Set("uhid", uhid)
				c.form.Set("counter", "C1")
				p := bl.post("/billing/refunds", c.form)
				must(t, p, c.status, c.want, `id="refund-form"`, `aria-invalid="true"`)
			}
		})
		p := bl.post("/billing/refunds", url.Values{"uhid": {uhid}, "counter": {"C1"}, "receipt_no": {first}, "amount": {"50"}, "reason": {"HbA1c not done"}})
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/billing?uhid="+uhid+"&refund=") {
			t.Fatalf("refund: %d %q %s", p.status, p.location, p.body)
		}
		must(t, bl.get(p.location), http.StatusOK, "₹50.00: refunded", "in the receipt's mode: Cash")
		p = bl.post("/billing/refunds", url.Values{"uhid": {uhid}, "counter": {"C1"}, "receipt_no": {second}, "amount": {"1200"}, "reason": {"Thyroid profile and lipids not done"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("large refund: %d %s", p.status, p.body)
		}
		big = strings.TrimPrefix(p.location, "/billing?uhid="+uhid+"&refund=")
		must(t, bl.get(p.location), http.StatusOK, big+" ₹1,200.00: awaiting approval", `<b class="awaiting">awaiting approval</b>`)
		must(t, bl.get("/billing/receipts/"+second), http.StatusOK, big, "−₹1,200.00", "awaiting approval")
	})

	t.Run("Approve", func(t *testing.T) {
		must(t, bl.get("/billing/refunds"), http.StatusForbidden)
		acc := s.loggedIn(t, "accounts")
		p := acc.get("/billing/refunds")
		must(t, p, http.StatusOK, big, "Savitri Devi", "₹1,200.00", "Thyroid profile and lipids not done", `id="approve-`+big+`" autofocus`)
		// The accounts officer's own large refund is someone else's to approve.
		acc.pay(other, url.Values{"amount": {"2000"}, "mode": {"cash"}, "counter": {"C2"}})
		a, _ := billing.GetAccount(ctx, db, other)
		own := acc.post("/billing/refunds", url.Values{"uhid": {other}, "counter": {"C2"}, "receipt_no": {a.Payments[1].ReceiptNo}, "amount": {"1500"}, "reason": {"Paid twice"}})
		ownNo := strings.TrimPrefix(own.location, "/billing?uhid="+other+"&refund=")
		acc.get("/billing/refunds")
		s.billingUnchanged(t, func() {
			must(t, acc.post("/billing/refunds/"+ownNo+"/approve", url.Values{}), http.StatusForbidden,
				"A refund is approved by someone other than who asked for it.", `class="refused"`)
		})
		p = acc.post("/billing/refunds/"+big+"/approve", url.Values{})
		if p.status != http.StatusSeeOther || p.location != "/billing/refunds?approved="+big {
			t.Fatalf("approve: %d %q %s", p.status, p.location, p.body)
		}
		if p := acc.get(p.location); !strings.Contains(p.body, "Refund approved: "+big) || strings.Contains(p.body, `id="refund-`+big+`"`) {
			t.Errorf("after approval: %s", p.body)
		}
		must(t, acc.post("/billing/refunds/"+big+"/approve", url.Values{}), http.StatusConflict, "needs no approval now")
		must(t, bl.get("/billing?uhid="+uhid), http.StatusOK, "approved by accounts")
	})

	t.Run("PatientPanel", func(t *testing.T) {
		must(t, bl.get("/patients/"+uhid), http.StatusOK, `id="billing-balance"`, `href="/billing?uhid=`+uhid+`"`, "Balance due", "₹1,250.00")
		if p := reg.get("/patients/" + uhid); strings.Contains(p.body, "billing-balance") {
			t.Errorf("the registration clerk sees the account")
		}
	})

	t.Run("DayEnd", func(t *testing.T) {
		// At C1 the cashier took ₹100.50 and ₹10 in cash and paid ₹50 back: ₹60.50 in the drawer.
		p := bl.get("/billing/day-end?counter=C1")
		must(t, p, http.StatusOK, `<td class="num" id="shift-cash">₹110.50</td>`, `<td class="num" id="shift-upi">₹1,359.50</td>`,
			`id="shift-refunds">−₹50.00`, `<th class="num" id="expected">₹60.50</th>`, `id="count_500"`, `id="count_1"`,
			`value="cash office"`, "billing.js", "The day's takings")
		if !regexp.MustCompile(`id="count_500"[^>]*autofocus`).MatchString(p.body) {
			t.Errorf("the first denomination does not have the cursor")
		}
		s.billingUnchanged(t, func() {
			p := bl.post("/billing/day-end", url.Values{"counter": {"C1"}, "count_50": {"1"}, "count_10": {"x"}, "handover_to": {"cash office"}})
			must(t, p, http.StatusBadRequest, "Count the notes or coins: a whole number", `value="x"`, `<th class="num" id="counted">₹50.00</th>`,
				`<th class="num" id="difference">−₹10.50</th>`)
			if !regexp.MustCompile(`id="count_10"[^>]*autofocus aria-invalid="true"`).MatchString(p.body) {
				t.Errorf("the wrong count is not marked")
			}
			must(t, bl.post("/billing/day-end", url.Values{"counter": {"C1"}, "count_5": {"-1"}}), http.StatusBadRequest, "A count is 0 to 100000")
			must(t, bl.post("/billing/day-end", url.Values{"counter": {"C1"}, "count_5": {"1"}, "note": {"bad\x01note"}}), http.StatusBadRequest,
				"control character")
		})
		// ₹50 + ₹10: fifty paise short.
		p = bl.post("/billing/day-end", url.Values{"counter": {"C1"}, "count_50": {"1"}, "count_10": {"1"}, "handover_to": {"cash office"}, "note": {"50 paise coin given as change"}})
		if p.status != http.StatusSeeOther || p.location != "/billing/day-end?counter=C1&closed=1" {
			t.Fatalf("close: %d %q %s", p.status, p.location, p.body)
		}
		p = bl.get(p.location)
		must(t, p, http.StatusOK, "The counter's day is closed", `id="close-counted">₹60.00`, `id="close-expected">₹60.50`, "−₹0.50", "short",
			"No more payments or refunds at this counter today.", `<b id="takings-closed">C1</b>`, "50 paise coin given as change")
		if strings.Contains(p.body, `id="count-form"`) {
			t.Errorf("a closed counter offers the cash count")
		}
		// The closed counter takes no payment, and no refund.
		s.billingUnchanged(t, func() {
			bl.get("/billing?uhid=" + other)
			must(t, bl.post("/billing/payments", url.Values{"uhid": {other}, "amount": {"10"}, "mode": {"cash"}, "counter": {"C1"}}), http.StatusConflict,
				"Counter C1's day", "is closed: it takes no more payments or refunds today.", "This counter's day is closed")
			must(t, bl.post("/billing/refunds", url.Values{"uhid": {other}, "counter": {"C1"}, "receipt_no": {otherReceipt}, "amount": {"1"}, "reason": {"x"}}),
				http.StatusConflict, "is closed")
			must(t, bl.post("/billing/day-end", url.Values{"counter": {"C1"}, "count_1": {"1"}}), http.StatusConflict, "is closed")
		})
	})

	t.Run("Takings", func(t *testing.T) {
		aud := s.loggedIn(t, "auditor")
		must(t, aud.get("/billing/day-end"), http.StatusForbidden)
		must(t, aud.get("/billing"), http.StatusForbidden)
		p := aud.get("/billing/takings")
		must(t, p, http.StatusOK, `id="takings-total">₹3,470.00`, "C1", "−₹0.50", `href="/billing/receipts.csv?from=`)
		must(t, aud.get("/billing/takings?date=soon"), http.StatusBadRequest, "The date must be like 04-12-2026")
		csv := aud.get("/billing/receipts.csv")
		if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
			!strings.Contains(csv.body, first) || !strings.Contains(csv.body, big) || !strings.Contains(csv.body, "1359.50") {
			t.Fatalf("receipts.csv: %d %q %s", csv.status, csv.header.Get("Content-Type"), csv.body)
		}
		must(t, aud.get("/billing/receipts.csv?from=2026-13-01"), http.StatusBadRequest)
		must(t, reg.get("/billing/receipts.csv"), http.StatusForbidden)
	})

	t.Run("Hindi", func(t *testing.T) {
		bl.get("/lang/hi")
		defer bl.get("/lang/en")
		must(t, bl.get("/billing?uhid="+uhid), http.StatusOK, "बकाया राशि", "भुगतान लें और रसीद छापें", "रसीदें", "धनवापसी", "एक हज़ार दो सौ पचास रुपये मात्र")
		must(t, bl.get("/billing/receipts/"+first), http.StatusOK, "RECEIPT", "रसीद", "Rupees One Hundred and Paise Fifty Only", "एक सौ रुपये पचास पैसे मात्र",
			"हस्ताक्षरकर्ता")
		must(t, bl.post("/billing/payments", url.Values{"uhid": {uhid}, "amount": {"1.234"}, "mode": {"cash"}}), http.StatusBadRequest, "पैसे के अधिकतम दो अंक")
	})
}

// TestBillingMessagesHindi checks that the words billing's code puts on
// its pages have Hindi.
func TestBillingMessagesHindi(t *testing.T) {
	s := newSite(t)
	for _, k := range []string{"unpaid", "part paid", "paid", "free", "cancelled", "refunded", "awaiting approval", "Cash", "UPI", "Card",
		"Refund", "Charge cancelled:", "Refund approved:", "No patient with this UHID", "UHID is required",
		"The amount must be a whole number of paise above 0", "The amount is above ₹1 crore", "Mode must be cash, upi or card",
		"Give the UPI transaction or card approval reference", "At most 60 characters", "A counter is up to 20 capital letters, digits or hyphens",
		"This counter's day is closed", "Say why the charge is cancelled", "At most 500 characters", "The receipt number is required",
		"Say why the money is refunded", "No such receipt", "This receipt is another patient's", "A count is 0 to 100000",
		"Count the notes or coins: a whole number", "A refund is approved by someone other than who asked for it.",
		"Type the amount in rupees, like 150.50", "The amount cannot be negative", "At most two digits of paise, like 150.50",
		"The amount must be more than ₹0", "The date must be like 04-12-2026", "Please correct the marked fields."} {
		if _, ok := s.ws.Hindi(k); !ok {
			t.Errorf("no Hindi for %q", k)
		}
	}
}

// TestBillingTariffPage: the administrator sets a price from a date on the
// Prices page; a mistake is marked and writes nothing; the price lists.
func TestBillingTariffPage(t *testing.T) {
	s := newSite(t)
	admin := s.loggedIn(t, "admin")
	must(t, admin.get("/billing/tariffs"), http.StatusOK, "opd.new", "lab.CBC", "₹150.00")
	before := s.h.Node.Status().Events
	must(t, admin.post("/billing/tariffs", url.Values{"code": {"lab.CBC"}, "name": {"Complete blood count"}, "category": {"*"}, "price": {"-5"}, "effective": {"2030-01-01"}}),
		http.StatusBadRequest, "cannot be negative")
	must(t, admin.post("/billing/tariffs", url.Values{"code": {"CBC"}, "name": {"Complete blood count"}, "category": {"*"}, "price": {"180"}, "effective": {"2030-01-01"}}),
		http.StatusBadRequest, "opd.new or lab.CBC")
	if s.h.Node.Status().Events != before {
		t.Fatal("a refused price was written")
	}
	p := admin.post("/billing/tariffs", url.Values{"code": {"lab.CBC"}, "name": {"Complete blood count"}, "category": {"*"}, "price": {"180.50"}, "effective": {"01-01-2030"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	must(t, admin.get("/billing/tariffs"), http.StatusOK, "₹180.50 (from 01-01-2030)")
	if p := s.loggedIn(t, "billing").get("/billing/tariffs"); p.status != http.StatusForbidden {
		t.Fatalf("billing opens the prices: %d", p.status)
	}
}
