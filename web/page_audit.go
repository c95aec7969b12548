package web

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/registration"
)

// auditPage is the data of the audit trail page.
type auditPage struct {
	*view
	Patient, User string
	Entries       []audit.Entry
	Err           map[string]string
}

// pageAudit shows who saw which record, newest first, by patient or user.
func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = v.T("Audit trail")
	p := &auditPage{view: v, Patient: strings.TrimSpace(r.URL.Query().Get("patient")), User: strings.TrimSpace(r.URL.Query().Get("user"))}
	q := audit.Query{User: strings.ToLower(p.User), Limit: 200}
	if p.Patient != "" {
		uhid, err := registration.ParseUHID(p.Patient)
		if err != nil {
			p.Err = map[string]string{"patient": v.T(kavach.ErrorMessage(err))}
			return s.render(w, v, http.StatusBadRequest, "audit", p)
		}
		q.Patient = uhid
	}
	es, err := audit.Entries(r.Context(), s.n.DB(), q)
	if err != nil {
		return err
	}
	p.Entries = es
	return s.render(w, v, http.StatusOK, "audit", p)
}
