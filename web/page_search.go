package web

import (
	"kavach"
	"net/http"
	"strings"
	"time"

	"kavach/audit"
	"kavach/registration"
)

// searchLimit bounds the results a page lists: a clerk reads no more, and
// the page stays small.
const searchLimit = 50

// searchPage is the data of the search page.
type searchPage struct {
	*view
	Q        string
	Patients []registration.Patient
	Searched bool
	Today    time.Time
}

// pageSearch finds patients by UHID, mobile, ABHA number or part of the name.
func (s *Server) pageSearch(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Title = v.T("Find a patient")
	p := &searchPage{view: v, Q: strings.TrimSpace(r.URL.Query().Get("q")), Today: time.Now().In(kavach.Zone)}
	if p.Q != "" {
		ps, err := registration.Search(r.Context(), s.n.DB(), p.Q, searchLimit)
		if err != nil {
			return err
		}
		uhids := make([]string, len(ps))
		for i := range ps {
			uhids[i] = ps[i].UHID
		}
		if err := audit.Viewed(r.Context(), s.n, v.User(), "page.search", uhids...); err != nil {
			return err
		}
		p.Patients, p.Searched = ps, true
	}
	return s.render(w, v, http.StatusOK, "search", p)
}
