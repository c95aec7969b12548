package lab

import (
	"net/http"

	"kavach"

	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// criticalsPage lists the critical values no one has been told of yet,
// each with the form that records the call.
type criticalsPage struct {
	*web.View
	Items   []criticalRow
	Now     string
	Calls   map[string]*callForm // refused calls, by accession/analyte
	Message string
}

type criticalRow struct {
	Critical
	Name string
}

// Call is a row's call form: as typed if it was refused, else empty with
// the time now.
func (p *criticalsPage) Call(c criticalRow) *callForm {
	if f := p.Calls[c.Accession+"/"+c.Analyte]; f != nil {
		return f
	}
	return &callForm{F: map[string]string{"called_at": p.Now}}
}

// Entered shows when a value was entered.
func (p *criticalsPage) Entered(stamp string) string { return shortTime(stamp, p.Node().Now()) }

// pageCriticals lists the critical values waiting for a call.
func (h *handlers) pageCriticals(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.renderCriticals(w, r, v, http.StatusOK, nil)
}

func (h *handlers) renderCriticals(w http.ResponseWriter, r *http.Request, v *web.View, status int, calls map[string]*callForm) error {
	ctx := r.Context()
	cs, err := Criticals(ctx, h.n.DB())
	if err != nil {
		return err
	}
	uhids := make([]string, len(cs))
	for i := range cs {
		uhids[i] = cs[i].UHID
	}
	ps, err := registration.GetMany(ctx, h.n.DB(), uhids)
	if err != nil {
		return err
	}
	page := &criticalsPage{View: v, Now: kavach.ShowTime(h.n.Now()), Calls: calls}
	for _, c := range cs {
		row := criticalRow{Critical: c}
		if p := ps[c.UHID]; p != nil {
			row.Name = p.Name
		}
		page.Items = append(page.Items, row)
	}
	for k, c := range calls {
		shown := false
		for _, row := range page.Items {
			shown = shown || row.Accession+"/"+row.Analyte == k
		}
		if !shown && page.Message == "" {
			page.Message = firstError(c.Err, callFields)
		}
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.criticals", uhids...); err != nil {
		return err
	}
	v.Title = v.T("Critical values")
	return v.Render(w, status, "lab_criticals", page)
}
