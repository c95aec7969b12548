package billing

import (
	"net/http"
	"net/url"
	"strings"

	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pageRefundSave refunds part or all of a receipt of the patient the page
// has open, with a reason. A refund above ₹1,000 waits for the accounts
// officer's approval; the account says which.
func (h *handlers) pageRefundSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"uhid", "receipt_no", "amount", "reason", "counter"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	p, err := registration.Resolve(r.Context(), h.n.DB(), f["uhid"])
	if err != nil {
		return err // the form came from a patient's account: a UHID that is not one is no clerk's typing
	}
	var rf *Refund
	paise, err := amountPaise(f["amount"])
	if err == nil {
		in := NewRefund{ReceiptNo: f["receipt_no"], Paise: paise, Reason: f["reason"], UHID: p.UHID, Counter: f["counter"]}
		err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
			var err error
			rf, err = RequestRefund(tx, in)
			return err
		})
	}
	if err != nil {
		errs := formErrors(v, err, "receipt_no", map[string]string{"amount_paise": "amount"})
		if errs == nil || !wantUser(err) {
			return err
		}
		return h.renderAccount(w, r, v, errStatus(err), p, h.counterFor(w, r),
			accountState{refund: f, refundErr: errs, refundMsg: formMessage(v, err)})
	}
	return web.Redirect(w, r, "/billing?uhid="+url.QueryEscape(p.UHID)+"&refund="+url.QueryEscape(rf.RefundNo))
}
