package lab

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/registration"
	"kavach/web"
)

// orderPage is the order form on its own page: where "Order tests" leads,
// and where a refused order from the patient page comes back.
type orderPage struct {
	*web.View
	P     *registration.Patient
	Age   string
	Order *orderForm
}

// pageOrder shows the order form for the patient ?uhid= names.
func (h *handlers) pageOrder(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p, err := registration.Resolve(r.Context(), h.n.DB(), r.URL.Query().Get("uhid"))
	if err != nil {
		return err
	}
	return h.renderOrder(w, r, v, http.StatusOK, p, nil, nil, nil)
}

func (h *handlers) renderOrder(w http.ResponseWriter, r *http.Request, v *web.View, status int, p *registration.Patient, f map[string]string, tests []string, errs map[string]string) error {
	ctx := r.Context()
	of, err := newOrderForm(ctx, v, p.UHID, v.Can(string(Prescribe)), f, tests)
	if err != nil {
		return err
	}
	of.From = "order"
	of.withErrors(errs)
	if of.Focus == "" {
		of.Focus = "tests"
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.lab_order", p.UHID); err != nil {
		return err
	}
	v.Title = v.T("Order lab tests") + " · " + idcode.ShowUHID(p.UHID)
	v.Focused = true
	return v.Render(w, status, "lab_order", &orderPage{View: v, P: p, Age: p.AgeText(h.n.Now().In(kavach.Zone)), Order: of})
}
