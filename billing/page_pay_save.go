package billing

import (
	"net/http"
	"strings"

	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pagePaySave takes a payment from the account page and opens its receipt
// ready to print. The amount is typed in rupees; a refused payment comes
// back on the account with its fields marked, and writes nothing.
func (h *handlers) pagePaySave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"uhid", "amount", "mode", "reference", "counter"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	var rc *Receipt
	paise, err := amountPaise(f["amount"])
	if err == nil {
		in := NewPayment{UHID: f["uhid"], Paise: paise, Mode: f["mode"], Reference: f["reference"], Counter: f["counter"]}
		err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
			var err error
			rc, err = Pay(tx, in)
			return err
		})
	}
	if err != nil {
		errs := formErrors(v, err, "amount", map[string]string{"amount_paise": "amount"})
		if errs == nil || !wantUser(err) {
			return err
		}
		p, perr := registration.Resolve(r.Context(), h.n.DB(), f["uhid"])
		if perr != nil {
			// No patient to show the account of: the UHID box says why.
			return v.Render(w, errStatus(err), "billing_account", &accountPage{View: v, UHID: f["uhid"],
				UHIDErr: v.T("No patient with this UHID"), Counter: f["counter"], Focus: "uhid"})
		}
		return h.renderAccount(w, r, v, errStatus(err), p, f["counter"], accountState{pay: f, payErr: errs, payMsg: formMessage(v, err)})
	}
	rememberCounter(w, rc.Counter)
	return web.Redirect(w, r, "/billing/receipts/"+rc.ReceiptNo+"?print=1")
}
