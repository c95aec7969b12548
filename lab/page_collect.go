package lab

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/registration"
	"kavach/web"
)

// collectPage is the collection counter: a UHID box, then the patient's
// orders to collect, container by container.
type collectPage struct {
	*web.View
	UHID    string // as typed
	UHIDErr string
	P       *registration.Patient
	Age     string
	Pending []collectOrder
	Also    []string // the orders after the first, collected with it
	Message string   // why the collection was refused
	Order   *orderForm
	Focus   string // "uhid", "collect", or the outside prescription's
}

// collectOrder is an order with its tests still to collect, grouped by the
// container they go in, as the phlebotomist picks the tubes.
type collectOrder struct {
	Order
	Containers []containerTests
}

// containerTests is one container of an order and the tests it is for.
type containerTests struct {
	Container, Specimen string
	Tests               []OrderTest
}

// collectState is what a refused form brings back to the page.
type collectState struct {
	uhidErr  string
	message  string
	order    map[string]string
	tests    []string
	orderErr map[string]string
}

// pageCollect shows the UHID box and, for the patient ?uhid= names
// (scanned from the slip or typed), their orders to collect with the one
// button that collects them and prints the labels.
func (h *handlers) pageCollect(w http.ResponseWriter, r *http.Request, v *web.View) error {
	typed := strings.TrimSpace(r.URL.Query().Get("uhid"))
	v.Title = v.T("Sample collection")
	if typed == "" {
		return v.Render(w, http.StatusOK, "lab_collect", &collectPage{View: v, Focus: "uhid"})
	}
	p, msg, status, err := registration.FindTyped(r.Context(), v, typed)
	if err != nil {
		return err
	}
	if p == nil {
		return v.Render(w, status, "lab_collect", &collectPage{View: v, UHID: typed, UHIDErr: msg, Focus: "uhid"})
	}
	return h.renderCollect(w, r, v, http.StatusOK, p, collectState{})
}

// renderCollect shows a patient's orders to collect.
func (h *handlers) renderCollect(w http.ResponseWriter, r *http.Request, v *web.View, status int, p *registration.Patient, st collectState) error {
	ctx := r.Context()
	db := h.n.DB()
	page := &collectPage{View: v, UHID: idcode.ShowUHID(p.UHID), UHIDErr: st.uhidErr, P: p,
		Age: p.AgeText(h.n.Now().In(kavach.Zone)), Message: st.message}
	os, err := PatientOrders(ctx, db, p.UHID)
	if err != nil {
		return err
	}
	cat, err := Catalogue(ctx, db)
	if err != nil {
		return err
	}
	byCode := map[string]CatalogueTest{}
	for _, t := range cat {
		byCode[t.Code] = t
	}
	// Urgent orders first, then the oldest: PatientOrders is newest first.
	for i := len(os) - 1; i >= 0; i-- {
		o := os[i]
		if o.Cancelled != "" {
			continue
		}
		co := collectOrder{Order: o}
		for _, t := range o.Tests {
			if t.Status != "ordered" {
				continue
			}
			ct := byCode[t.Code]
			at := -1
			for j, c := range co.Containers {
				if c.Container == ct.Container && c.Specimen == ct.Specimen {
					at = j
				}
			}
			if at < 0 {
				co.Containers = append(co.Containers, containerTests{Container: ct.Container, Specimen: ct.Specimen})
				at = len(co.Containers) - 1
			}
			co.Containers[at].Tests = append(co.Containers[at].Tests, t)
		}
		if len(co.Containers) == 0 {
			continue
		}
		if o.Priority == "urgent" {
			n := 0
			for n < len(page.Pending) && page.Pending[n].Priority == "urgent" {
				n++
			}
			page.Pending = append(page.Pending[:n], append([]collectOrder{co}, page.Pending[n:]...)...)
		} else {
			page.Pending = append(page.Pending, co)
		}
	}
	for _, o := range page.Pending[min(1, len(page.Pending)):] {
		page.Also = append(page.Also, o.ID)
	}
	if v.Can(string(OrderTests)) && p.MergedInto == "" {
		if page.Order, err = newOrderForm(ctx, v, p.UHID, false, st.order, st.tests); err != nil {
			return err
		}
		page.Order.From = "collect"
		page.Order.withErrors(st.orderErr)
	}
	switch {
	case page.Order != nil && page.Order.Focus != "":
		page.Focus = "order"
	case st.uhidErr != "" || len(page.Pending) == 0:
		page.Focus = "uhid"
	default:
		page.Focus = "collect"
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.collect", p.UHID); err != nil {
		return err
	}
	v.Title = v.T("Sample collection") + " · " + idcode.ShowUHID(p.UHID)
	return v.Render(w, status, "lab_collect", page)
}
