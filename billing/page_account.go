package billing

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/registration"
	"kavach/web"
)

// accountPage is the billing counter: a UHID box, then the patient's
// account with the forms that take a payment, cancel a charge and refund a
// receipt.
type accountPage struct {
	*web.View
	UHID    string // as typed
	UHIDErr string
	Counter string
	P       *registration.Patient
	Age     string
	Account *Account
	// Receipts that still have money to refund, newest first.
	Refundable []refundable
	Flash      string
	// What a refused form brings back: as typed, its errors and message.
	Pay       map[string]string // amount, mode, reference, counter
	PayErr    map[string]string
	PayMsg    string
	Refund    map[string]string // receipt_no, amount, reason
	RefundErr map[string]string
	RefundMsg string
	Cancel    map[string]string // charge_id, reason
	CancelErr map[string]string
	CancelMsg string
	// Charges not paid at all: what may be cancelled.
	Unpaid []AccountCharge
	Focus  string // the id of the field with the cursor
}

// refundable is a receipt with what is left to refund on it.
type refundable struct {
	ReceiptNo string
	Paise     int64
	Left      int64
}

// accountState is what a refused form brings back to the page.
type accountState struct {
	pay, refund, cancel          map[string]string
	payErr, refundErr, cancelErr map[string]string
	payMsg, refundMsg, cancelMsg string
}

// The forms' fields in tab order.
var (
	payFields    = []string{"amount", "mode", "reference", "counter"}
	refundFields = []string{"receipt_no", "amount", "reason"}
	cancelFields = []string{"charge_id", "reason"}
)

// pageAccount shows the UHID box and, for the patient ?uhid= names (typed,
// or scanned from the slip), their account.
func (h *handlers) pageAccount(w http.ResponseWriter, r *http.Request, v *web.View) error {
	typed := strings.TrimSpace(r.URL.Query().Get("uhid"))
	counter := h.counterFor(w, r)
	v.Title = v.T("Billing")
	if typed == "" {
		return v.Render(w, http.StatusOK, "billing_account", &accountPage{View: v, Counter: counter, Focus: "uhid"})
	}
	p, msg, status, err := registration.FindTyped(r.Context(), v, typed)
	if err != nil {
		return err
	}
	if p == nil {
		return v.Render(w, status, "billing_account", &accountPage{View: v, UHID: typed, UHIDErr: msg, Counter: counter, Focus: "uhid"})
	}
	page, err := h.account(r, v, p, counter, accountState{})
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if no := q.Get("refund"); no != "" {
		if f, err := GetRefund(r.Context(), h.n.DB(), no); err == nil && f.UHID == p.UHID {
			if f.Status == "awaiting_approval" {
				page.Flash = v.T("Refund") + " " + f.RefundNo + " " + inr(f.Paise) + ": " + v.T("awaiting approval") + ". " +
					v.T("Pay the money back once the accounts officer approves it.")
			} else {
				page.Flash = v.T("Refund") + " " + f.RefundNo + " " + inr(f.Paise) + ": " + v.T("refunded") + ". " +
					v.T("Pay the money back to the patient in the receipt's mode:") + " " + v.T(modeLabel(f.Mode)) + "."
			}
		}
	}
	if id := q.Get("cancelled"); id != "" {
		if c, err := GetCharge(r.Context(), h.n.DB(), id); err == nil && c.Status == "cancelled" {
			page.Flash = v.T("Charge cancelled:") + " " + c.Name + " " + inr(c.Paise) + "."
		}
	}
	return v.Render(w, http.StatusOK, "billing_account", page)
}

// account gathers a patient's account for the page, and audits the read.
func (h *handlers) account(r *http.Request, v *web.View, p *registration.Patient, counter string, st accountState) (*accountPage, error) {
	ctx := r.Context()
	a, err := GetAccount(ctx, h.n.DB(), p.UHID)
	if err != nil {
		return nil, err
	}
	page := &accountPage{View: v, UHID: idcode.ShowUHID(p.UHID), Counter: counter, P: p,
		Age: p.AgeText(h.n.Now().In(kavach.Zone)), Account: a,
		Pay: st.pay, PayErr: st.payErr, PayMsg: st.payMsg,
		Refund: st.refund, RefundErr: st.refundErr, RefundMsg: st.refundMsg,
		Cancel: st.cancel, CancelErr: st.cancelErr, CancelMsg: st.cancelMsg}
	for _, c := range a.Charges {
		if c.Status == "unpaid" {
			page.Unpaid = append(page.Unpaid, c)
		}
	}
	asked := map[string]int64{}
	for _, f := range a.Refunds {
		asked[f.ReceiptNo] += f.Paise
	}
	for i := len(a.Payments) - 1; i >= 0; i-- {
		rc := a.Payments[i]
		if left := rc.Paise - asked[rc.ReceiptNo]; left > 0 {
			page.Refundable = append(page.Refundable, refundable{ReceiptNo: rc.ReceiptNo, Paise: rc.Paise, Left: left})
		}
	}
	if page.Pay == nil {
		page.Pay = map[string]string{"amount": rupeesInput(a.Balance), "mode": "cash", "counter": counter}
	}
	if page.Refund == nil {
		page.Refund = map[string]string{}
		if len(page.Refundable) > 0 {
			page.Refund["receipt_no"] = page.Refundable[0].ReceiptNo
		}
	}
	switch {
	case len(st.payErr) > 0:
		_, page.Focus = web.FormErrorFocus(v, st.payErr, payFields)
		if _, bad := st.payErr["uhid"]; bad {
			page.UHIDErr, page.Focus = st.payErr["uhid"], "uhid"
		}
	case len(st.refundErr) > 0:
		_, f := web.FormErrorFocus(v, st.refundErr, refundFields)
		page.Focus = "refund-" + strings.ReplaceAll(f, "_", "-")
	case len(st.cancelErr) > 0:
		_, f := web.FormErrorFocus(v, st.cancelErr, cancelFields)
		page.Focus = "cancel-" + strings.TrimSuffix(f, "_id")
	case a.Balance > 0 && v.Can(string(TakePayments)):
		page.Focus = "amount"
	default:
		page.Focus = "uhid"
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.account", p.UHID); err != nil {
		return nil, err
	}
	v.Title = v.T("Billing") + " · " + idcode.ShowUHID(p.UHID)
	return page, nil
}

// renderAccount shows a patient's account again with a refused form.
func (h *handlers) renderAccount(w http.ResponseWriter, r *http.Request, v *web.View, status int, p *registration.Patient, counter string, st accountState) error {
	page, err := h.account(r, v, p, counter, st)
	if err != nil {
		return err
	}
	return v.Render(w, status, "billing_account", page)
}

// modeLabel is a payment mode as the pages name it.
func modeLabel(mode string) string {
	switch mode {
	case "upi":
		return "UPI"
	case "card":
		return "Card"
	case "cash":
		return "Cash"
	}
	return mode
}
