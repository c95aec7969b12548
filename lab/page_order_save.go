package lab

import (
	"net/http"
	"net/url"
	"strings"

	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pageOrderSave orders tests: the doctor's order from the patient page, or
// an outside prescription at the collection counter, whose prescriber the
// command requires of anyone who may not prescribe. It goes back to where
// the form was: the patient's lab panel, or the collection page with the
// new order ready to collect.
func (h *handlers) pageOrderSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"uhid", "visit_id", "priority", "prescriber", "notes", "from"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	tests := r.PostForm["tests"]
	in := NewOrder{UHID: f["uhid"], VisitID: f["visit_id"], Tests: tests, Priority: f["priority"], Prescriber: f["prescriber"], Notes: f["notes"]}
	var o *Order
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		o, err = PlaceOrder(tx, in, v.Sess.Can(Prescribe))
		return err
	})
	if err != nil {
		errs := fieldErrors(v, err, "tests")
		if errs == nil || !wantUser(err) {
			return err
		}
		p, perr := registration.Resolve(r.Context(), h.n.DB(), f["uhid"])
		if perr != nil {
			return err // no patient to show the form for: the error says why
		}
		if f["from"] == "collect" {
			return h.renderCollect(w, r, v, errStatus(err), p, collectState{order: f, tests: tests, orderErr: errs})
		}
		return h.renderOrder(w, r, v, errStatus(err), p, f, tests, errs)
	}
	if f["from"] == "collect" {
		return web.Redirect(w, r, "/lab/collect?uhid="+url.QueryEscape(o.UHID))
	}
	return web.Redirect(w, r, "/patients/"+o.UHID+"#lab")
}
