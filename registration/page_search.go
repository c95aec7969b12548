package registration

import (
	"net/http"
	"strings"
	"time"

	"kavach"

	"kavach/audit"
	"kavach/web"
)

// searchLimit bounds the results a page lists: a clerk reads no more, and
// the page stays small.
const searchLimit = 50

// searchPage is the data of the search page.
type searchPage struct {
	*web.View
	Q        string
	Patients []Found
	Searched bool
	Today    time.Time
}

// pageSearch finds patients by UHID, mobile, ABHA number or part of the name.
func (h *handlers) pageSearch(w http.ResponseWriter, r *http.Request, v *web.View) error {
	v.Title = v.T("Find a patient")
	p := &searchPage{View: v, Q: strings.TrimSpace(r.URL.Query().Get("q")), Today: h.n.Now().In(kavach.Zone)}
	if p.Q != "" {
		ps, err := SearchFound(r.Context(), h.n.DB(), p.Q, searchLimit)
		if err != nil {
			return err
		}
		var uhids []string
		for i := range ps {
			uhids = append(append(uhids, ps[i].UHID), ps[i].MergedFrom...)
		}
		if err := audit.Viewed(r.Context(), h.n, v.User(), "page.search", uhids...); err != nil {
			return err
		}
		p.Patients, p.Searched = ps, true
	}
	return v.Render(w, http.StatusOK, "search", p)
}
