package web_test

import (
	"net/http"
	"strings"
	"testing"

	"kavach"
)

type account struct {
	UHID    string `json:"uhid"`
	Charges []struct {
		ID     string `json:"id"`
		Code   string `json:"code"`
		Amount int64  `json:"amount_paise"`
		Status string `json:"status"`
		Source string `json:"source"`
	} `json:"charges"`
	Payments []struct {
		ReceiptNo string `json:"receipt_no"`
	} `json:"payments"`
	Refunds []struct {
		RefundNo string `json:"refund_no"`
		Status   string `json:"status"`
	} `json:"refunds"`
	Balance int64 `json:"balance_paise"`
}

type receipt struct {
	ReceiptNo string `json:"receipt_no"`
	UHID      string `json:"uhid"`
	Amount    int64  `json:"amount_paise"`
	Mode      string `json:"mode"`
	Items     []struct {
		ChargeID string `json:"charge_id"`
		Paise    int64  `json:"paise"`
	} `json:"items"`
}

func (f *fixture) account(t *testing.T, uhid string) account {
	t.Helper()
	var a account
	f.call(t, "GET", "/api/v1/accounts/"+uhid, "billing", nil).want(t, http.StatusOK, &a)
	return a
}

func testBilling(t *testing.T, f *fixture) {
	var tariffs struct {
		Tariffs []struct {
			Code  string `json:"code"`
			Name  string `json:"name"`
			Price int64  `json:"price_paise"`
		} `json:"tariffs"`
	}
	f.call(t, "GET", "/api/v1/tariffs", "billing", nil).want(t, http.StatusOK, &tariffs)
	prices := map[string]int64{}
	for _, tr := range tariffs.Tariffs {
		prices[tr.Code] = tr.Price
	}
	if prices["opd.new"] != 1000 || prices["lab.CBC"] != 15000 {
		t.Fatalf("tariffs: %+v", tariffs)
	}

	// A visit and a lab order post their charges themselves.
	p := f.register(t, newPatient("Kavita Joshi", "F", 41, "9876512345"))
	f.call(t, "POST", "/api/v1/opd-visits", "registration", map[string]any{"uhid": p.UHID, "department": "MED"}).want(t, http.StatusCreated, nil)
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"CBC", "GLUF"}}).want(t, http.StatusCreated, nil)
	a := f.account(t, p.UHID)
	if len(a.Charges) != 3 || a.Balance != 1000+15000+4000 || a.Charges[0].Code != "opd.new" || a.Charges[0].Source != "visit" || a.Charges[1].Source != "lab" {
		t.Fatalf("account: %+v", a)
	}

	// Bad payments: each a clear error naming the field, nothing written.
	before := f.events()
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{"uhid": p.UHID, "amount_paise": -100, "mode": "cash"}, "amount_paise"},
		{map[string]any{"uhid": p.UHID, "amount_paise": 0, "mode": "cash"}, "amount_paise"},
		{`{"uhid":"` + p.UHID + `","amount_paise":100.5,"mode":"cash"}`, "amount_paise"},
		{map[string]any{"uhid": wrongCheck(p.UHID), "amount_paise": 100, "mode": "cash"}, "uhid"},
		{map[string]any{"uhid": "KA00009999", "amount_paise": 100, "mode": "cash"}, "uhid"},
		{map[string]any{"uhid": p.UHID, "amount_paise": 100, "mode": "cheque"}, "mode"},
		{map[string]any{"uhid": p.UHID, "amount_paise": 100, "mode": "upi"}, "reference"},
	} {
		r := f.call(t, "POST", "/api/v1/payments", "billing", c.body)
		if r.status != http.StatusBadRequest {
			t.Fatalf("%v: status %d %s", c.body, r.status, r.body)
		}
		if c.field != "uhid" || !strings.Contains(string(r.body), "UHID") {
			r.wantError(t, http.StatusBadRequest, "invalid", c.field)
		}
	}
	f.call(t, "POST", "/api/v1/payments", "registration", map[string]any{"uhid": p.UHID, "amount_paise": 100, "mode": "cash"}).wantError(t, http.StatusForbidden, "forbidden", "")
	if f.events() != before {
		t.Fatalf("refused payments wrote %d events", f.events()-before)
	}

	// A payment pays the oldest charges first.
	var rc receipt
	f.call(t, "POST", "/api/v1/payments", "billing", map[string]any{"uhid": p.UHID, "amount_paise": 10000, "mode": "upi", "reference": "UTR123456"}).want(t, http.StatusCreated, &rc)
	if !strings.HasPrefix(rc.ReceiptNo, "KAP") || len(rc.ReceiptNo) != 12 || rc.Amount != 10000 || len(rc.Items) != 2 || rc.Items[0].Paise != 1000 || rc.Items[1].Paise != 9000 {
		t.Fatalf("receipt: %+v", rc)
	}
	a = f.account(t, p.UHID)
	if a.Balance != 10000 || a.Charges[0].Status != "paid" || a.Charges[1].Status != "part_paid" || a.Charges[2].Status != "unpaid" {
		t.Fatalf("after paying: %+v", a)
	}

	// Cancelling needs a reason; a paid charge is refunded instead.
	f.call(t, "POST", "/api/v1/charges/"+a.Charges[2].ID+"/cancel", "billing", map[string]any{"reason": ""}).wantError(t, http.StatusBadRequest, "invalid", "reason")
	f.call(t, "POST", "/api/v1/charges/"+a.Charges[0].ID+"/cancel", "billing", map[string]any{"reason": "Wrong department"}).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "POST", "/api/v1/charges/"+a.Charges[2].ID+"/cancel", "billing", map[string]any{"reason": "Sample not needed"}).want(t, http.StatusOK, nil)
	if a = f.account(t, p.UHID); a.Balance != 6000 || a.Charges[2].Status != "cancelled" {
		t.Fatalf("after the cancel: %+v", a)
	}

	// Refunds: a reason, within the receipt, the patient's own; above
	// Rs 1,000 approved by a second user.
	other := f.register(t, newPatient("Arjun Mehta", "M", 52, "9876512346"))
	before = f.events()
	f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": rc.ReceiptNo, "amount_paise": 500}).wantError(t, http.StatusBadRequest, "invalid", "reason")
	f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": rc.ReceiptNo, "amount_paise": 10001, "reason": "x"}).wantError(t, http.StatusBadRequest, "invalid", "amount_paise")
	f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": rc.ReceiptNo, "amount_paise": 500, "reason": "x", "uhid": other.UHID}).wantError(t, http.StatusBadRequest, "invalid", "receipt_no")
	if e := f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": "KAP000009999", "amount_paise": 500, "reason": "x"}).wantError(t, http.StatusBadRequest, "invalid", "receipt_no"); e.Error.Message != "No receipt KAP000009999." {
		t.Fatalf("unknown receipt: message %q", e.Error.Message)
	}
	if f.events() != before {
		t.Fatalf("refused refunds wrote %d events", f.events()-before)
	}
	var small, big struct {
		RefundNo string `json:"refund_no"`
		Status   string `json:"status"`
	}
	f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": rc.ReceiptNo, "amount_paise": 1500, "reason": "Glucose test not done"}).want(t, http.StatusCreated, &small)
	if small.Status != "refunded" || !strings.HasPrefix(small.RefundNo, "KAF") {
		t.Fatalf("small refund: %+v", small)
	}
	f.call(t, "POST", "/api/v1/payments", "billing", map[string]any{"uhid": p.UHID, "amount_paise": 300000, "mode": "cash"}).want(t, http.StatusCreated, &rc)
	f.call(t, "POST", "/api/v1/refunds", "billing", map[string]any{"receipt_no": rc.ReceiptNo, "amount_paise": 150000, "reason": "Paid twice"}).want(t, http.StatusCreated, &big)
	if big.Status != "awaiting_approval" {
		t.Fatalf("big refund: %+v", big)
	}
	if a = f.account(t, p.UHID); a.Balance != 6000+1500-300000 {
		t.Fatalf("a refund awaiting approval is not paid out: balance %d", a.Balance)
	}
	f.call(t, "GET", "/api/v1/refunds", "accounts", nil).want(t, http.StatusOK, nil)
	if es := f.audit(t, "patient="+p.UHID+"&user=accounts"); len(es) == 0 || es[0].Action != "api.refunds" {
		t.Errorf("the refunds awaiting approval are read without an audit entry: %+v", es)
	}
	f.call(t, "POST", "/api/v1/refunds/"+big.RefundNo+"/approve", "billing", map[string]any{}).wantError(t, http.StatusForbidden, "forbidden", "")
	f.call(t, "POST", "/api/v1/refunds/"+big.RefundNo+"/approve", "accounts", map[string]any{}).want(t, http.StatusOK, &big)
	if big.Status != "refunded" {
		t.Fatalf("approved: %+v", big)
	}
	f.call(t, "POST", "/api/v1/refunds/"+big.RefundNo+"/approve", "accounts", map[string]any{}).wantError(t, http.StatusConflict, "conflict", "")
	if a = f.account(t, p.UHID); a.Balance != 6000+1500-300000+150000 {
		t.Fatalf("after the approval: balance %d", a.Balance)
	}

	// The day end: by mode, the receipts; the counter closed, no payment.
	var day struct {
		ByMode   map[string]int64 `json:"by_mode"`
		Receipts int              `json:"receipts"`
		Total    int64            `json:"total_paise"`
		Net      int64            `json:"net_paise"`
	}
	f.call(t, "GET", "/api/v1/day-end", "billing", nil).want(t, http.StatusOK, &day)
	if day.ByMode["cash"] != 300000 || day.ByMode["upi"] != 10000 || day.Receipts != 2 || day.Total != 310000 || day.Net != 310000-1500-150000 {
		t.Fatalf("day end: %+v", day)
	}
	f.call(t, "GET", "/api/v1/day-end?date=2026-02-30", "billing", nil).wantError(t, http.StatusBadRequest, "invalid", "date")
	f.call(t, "GET", "/api/v1/day-end?date=05-12-0226", "billing", nil).wantError(t, http.StatusBadRequest, "invalid", "date")
	same := day // the day as the pages write it names the same day
	f.call(t, "GET", "/api/v1/day-end?date="+kavach.ShowDate(f.now()), "billing", nil).want(t, http.StatusOK, &same)
	if same.Total != day.Total || same.Receipts != day.Receipts {
		t.Fatalf("day end by DD-MM-YYYY: %+v, want %+v", same, day)
	}
	f.call(t, "POST", "/api/v1/day-end", "billing", map[string]any{"cash_count": map[string]int{"3": 1}}).wantError(t, http.StatusBadRequest, "invalid", "cash_count")
	var closed struct {
		Expected int64 `json:"expected_paise"`
		Counted  int64 `json:"counted_paise"`
		Final    bool  `json:"final"`
	}
	f.call(t, "POST", "/api/v1/day-end", "billing", map[string]any{"cash_count": map[string]int{"500": 3, "100": 5}, "note": "short by Rs 1,000"}).want(t, http.StatusCreated, &closed)
	if !closed.Final || closed.Counted != 200000 || closed.Expected != 300000-150000 {
		t.Fatalf("close: %+v", closed)
	}
	before = f.events()
	f.call(t, "POST", "/api/v1/payments", "billing", map[string]any{"uhid": p.UHID, "amount_paise": 100, "mode": "cash"}).wantError(t, http.StatusConflict, "conflict", "counter")
	if f.events() != before {
		t.Fatal("a payment at a closed counter wrote an event")
	}
	// Another counter is open.
	f.call(t, "POST", "/api/v1/payments", "billing", map[string]any{"uhid": p.UHID, "amount_paise": 100, "mode": "cash", "counter": "C2"}).want(t, http.StatusCreated, nil)

	// The receipt as a PDF.
	if r := f.call(t, "GET", "/api/v1/receipts/"+rc.ReceiptNo+".pdf", "billing", nil); r.status != http.StatusOK || r.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(string(r.body), "%PDF") {
		t.Fatalf("receipt PDF: %d %s", r.status, r.header.Get("Content-Type"))
	}
	f.call(t, "GET", "/api/v1/receipts/KAP000009999.pdf", "billing", nil).wantError(t, http.StatusNotFound, "not_found", "")

	// Receipts in a date range as CSV.
	r := f.call(t, "GET", "/api/v1/receipts.csv", "billing", nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || strings.Count(string(r.body), "\n") != 1+3+2 {
		t.Fatalf("csv: %d %s", r.status, r.body)
	}
	if es := f.audit(t, "patient="+p.UHID+"&user=billing"); len(es) == 0 || es[0].Action != "api.receipts_csv" {
		t.Errorf("the receipts CSV is read without an audit entry: %+v", es)
	}
}
