package lab

import (
	"net/http"

	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// receivePage is the lab's receiving bench: a scan box that stays ready
// for the next sample, and the form that rejects one.
type receivePage struct {
	*web.View
	F       map[string]string // accession; reject_accession, reason, note
	Err     map[string]string
	Reasons []string
	Done    *receivedSample // the sample just received or rejected
	Focus   string
}

// receivedSample is what the bench says of the sample just scanned.
type receivedSample struct {
	S        *Sample
	Name     string
	Again    bool // it was received before
	Rejected bool
}

// pageReceive shows the scan box with the cursor in it, and what happened
// to the sample scanned before (?received= or ?rejected=).
func (h *handlers) pageReceive(w http.ResponseWriter, r *http.Request, v *web.View) error {
	q := r.URL.Query()
	page := &receivePage{View: v, F: map[string]string{}, Focus: "accession"}
	acc, rejected := q.Get("received"), false
	if acc == "" {
		acc, rejected = q.Get("rejected"), q.Get("rejected") != ""
	}
	if acc != "" {
		s, err := GetSample(r.Context(), h.n.DB(), acc)
		if err != nil {
			return err
		}
		p, err := registration.Get(r.Context(), h.n.DB(), s.UHID)
		if err != nil {
			return err
		}
		if err := audit.Viewed(r.Context(), h.n, v.User(), "page.receive", s.UHID); err != nil {
			return err
		}
		page.Done = &receivedSample{S: s, Name: p.Name, Again: q.Get("again") == "1", Rejected: rejected}
	}
	return h.renderReceive(w, v, http.StatusOK, page)
}

func (h *handlers) renderReceive(w http.ResponseWriter, v *web.View, status int, page *receivePage) error {
	page.Reasons = RejectReasons
	v.Title = v.T("Receive samples")
	return v.Render(w, status, "lab_receive", page)
}
