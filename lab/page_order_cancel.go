package lab

import (
	"net/http"
	"strings"

	"kavach/audit"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// cancelPage is a refused cancellation shown again: the order, and the
// reason to give or the reason it cannot be cancelled.
type cancelPage struct {
	*web.View
	O      *Order
	P      *registration.Patient
	Reason string
	Err    map[string]string
}

// pageCancelSave cancels an order with a reason and goes back to the
// patient's lab panel.
func (h *handlers) pageCancelSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	var o *Order
	err := h.n.Do(ctx, v.User(), func(tx *node.Tx) error {
		var err error
		o, err = CancelOrder(tx, r.PathValue("id"), reason)
		return err
	})
	if err == nil {
		return web.Redirect(w, r, "/patients/"+o.UHID+"#lab")
	}
	errs := fieldErrors(v, err, "reason")
	if errs == nil || !wantUser(err) {
		return err
	}
	o, gerr := GetOrder(ctx, h.n.DB(), r.PathValue("id"))
	if gerr != nil {
		return err
	}
	p, gerr := registration.Get(ctx, h.n.DB(), o.UHID)
	if gerr != nil {
		return gerr
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.lab_cancel", o.UHID); err != nil {
		return err
	}
	v.Title = v.T("Cancel the order") + " " + o.ID
	return v.Render(w, errStatus(err), "lab_cancel", &cancelPage{View: v, O: o, P: p, Reason: reason, Err: errs})
}
