package audit

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/idcode"
	"kavach/web"
)

// auditPage is the data of the audit trail page.
type auditPage struct {
	*web.View
	Patient, User string
	Entries       []Entry
	Err           map[string]string
}

// pageAudit shows who saw which record, newest first, by patient or user.
func (h *handlers) pageAudit(w http.ResponseWriter, r *http.Request, v *web.View) error {
	v.Title = v.T("Audit trail")
	p := &auditPage{View: v, Patient: strings.TrimSpace(r.URL.Query().Get("patient")), User: strings.TrimSpace(r.URL.Query().Get("user"))}
	q := Query{User: strings.ToLower(p.User), Limit: 200}
	if p.Patient != "" {
		uhid, err := idcode.UHID(p.Patient)
		if err != nil {
			p.Err = map[string]string{"patient": v.T(kavach.ErrorMessage(err))}
			return v.Render(w, http.StatusBadRequest, "audit", p)
		}
		q.Patient = uhid
	}
	es, err := Entries(r.Context(), h.n.DB(), q)
	if err != nil {
		return err
	}
	p.Entries = es
	return v.Render(w, http.StatusOK, "audit", p)
}
