package audit

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"kavach"
	"kavach/idcode"
	"kavach/web"
)

// pageLimit is how many views the page shows.
const pageLimit = 200

// auditPage is the data of the audit trail page.
type auditPage struct {
	*web.View
	Patient, User, From, To string
	Rows                    []auditRow
	Full                    bool // the page holds pageLimit views: there may be older
	Err                     map[string]string
}

// auditRow is a view as the page shows it: the action in words, each
// patient with their name.
type auditRow struct {
	Seen
	ActionText string
	Count      string // "12 patients" for a view of more than one
	Shown      []shownPatient
}

// shownPatient is a patient of a view: the UHID and, if found, the name.
type shownPatient struct{ UHID, Name string }

// pageAudit shows who saw which records, newest first, a line for each
// view, by patient, user and dates.
func (h *handlers) pageAudit(w http.ResponseWriter, r *http.Request, v *web.View) error {
	v.Title = v.T("Audit trail")
	rq := r.URL.Query()
	p := &auditPage{View: v, Patient: strings.TrimSpace(rq.Get("patient")), User: strings.TrimSpace(rq.Get("user")),
		From: strings.TrimSpace(rq.Get("from")), To: strings.TrimSpace(rq.Get("to"))}
	q := Query{User: strings.ToLower(p.User), Limit: pageLimit}
	var errs map[string]string
	q.From, q.To, errs = parseDays(p.From, p.To)
	if errs == nil { // shown as every page shows a day, whatever was typed
		p.From, p.To = kavach.ShowDate(q.From), ""
		if !q.To.IsZero() {
			p.To = kavach.ShowDate(q.To.AddDate(0, 0, -1))
		}
	}
	if p.Patient != "" {
		uhid, err := idcode.UHID(p.Patient)
		if err != nil {
			if errs == nil {
				errs = map[string]string{}
			}
			errs["patient"] = kavach.ErrorMessage(err)
		}
		q.Patient = uhid
	}
	if errs != nil {
		p.Err = map[string]string{}
		for k, msg := range errs {
			p.Err[k] = v.T(msg)
		}
		return v.Render(w, http.StatusBadRequest, "audit", p)
	}
	vs, err := Views(r.Context(), h.n.DB(), q)
	if err != nil {
		return err
	}
	names := map[string]string{}
	if h.names != nil {
		var uhids []string
		for _, s := range vs {
			uhids = append(uhids, s.Patients...)
		}
		slices.Sort(uhids)
		uhids = slices.Compact(uhids)
		if names, err = h.names(r.Context(), h.n.DB(), uhids); err != nil {
			return err
		}
	}
	for _, s := range vs {
		row := auditRow{Seen: s, ActionText: v.T(ActionText(s.Action))}
		if len(s.Patients) > 1 {
			row.Count = fmt.Sprintf(v.T("%d patients"), len(s.Patients))
		}
		for _, u := range s.Patients {
			row.Shown = append(row.Shown, shownPatient{UHID: u, Name: names[u]})
		}
		p.Rows = append(p.Rows, row)
	}
	p.Full = len(vs) == pageLimit
	return v.Render(w, http.StatusOK, "audit", p)
}
