package billing

import (
	"net/http"
	"net/url"
	"strings"

	"kavach"
	"kavach/idcode"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pageCancelSave cancels an unpaid charge of the patient the page has open,
// with a reason (the bill cancellation log is the journal's
// charge.cancelled events), and goes back to the account; a refusal comes
// back on the account's cancel form.
func (h *handlers) pageCancelSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	f := map[string]string{"charge_id": idcode.Normalize(r.PostFormValue("charge_id")), "reason": strings.TrimSpace(r.PostFormValue("reason"))}
	p, err := registration.Resolve(ctx, h.n.DB(), r.PostFormValue("uhid"))
	if err != nil {
		return err // the form came from a patient's account: a UHID that is not one is no clerk's typing
	}
	a, err := GetAccount(ctx, h.n.DB(), p.UHID)
	if err != nil {
		return err
	}
	mine := false
	for _, c := range a.Charges {
		mine = mine || c.ID == f["charge_id"]
	}
	if mine {
		err = h.n.Do(ctx, v.User(), func(tx *node.Tx) error {
			_, err := CancelCharge(tx, f["charge_id"], f["reason"])
			return err
		})
	} else {
		err = &kavach.Error{Code: kavach.EINVALID, Message: "Charge " + f["charge_id"] + " is not on this patient's account.",
			Fields: map[string]string{"charge_id": "Choose one of this patient's charges"}}
	}
	if err != nil {
		errs := formErrors(v, err, "charge_id", nil)
		if errs == nil || !wantUser(err) {
			return err
		}
		// The form is one line: it says the field's own error.
		msg := formMessage(v, err)
		if fe := web.FieldErrors(v, err); fe != nil {
			msg = firstError(fe, cancelFields)
		}
		return h.renderAccount(w, r, v, errStatus(err), p, h.counterFor(w, r),
			accountState{cancel: f, cancelErr: errs, cancelMsg: msg})
	}
	return web.Redirect(w, r, "/billing?uhid="+url.QueryEscape(p.UHID)+"&cancelled="+url.QueryEscape(f["charge_id"]))
}
