package registration

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/web"
)

// patientPage is the data of a patient's page.
type patientPage struct {
	*web.View
	P        *Patient
	Survivor *Patient // the record a merged one leads to
	Age      string
	History  []HistoryEntry
	Pending  []MergeRequest    // merges of this record that wait for a second person
	Panels   []web.ShownPanel  // other services' sections: the OPD's visits, …
	Merge    map[string]string // the merge form as typed
	MergeErr map[string]string
	MergeMsg string
}

// pagePatient shows a patient's record and history with the forms to amend
// and merge, and the other services' panels (the OPD's visits).
func (h *handlers) pagePatient(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.renderPatient(w, r, v, http.StatusOK, nil, nil, "")
}

// renderPatient shows the patient page; the merge form comes back with its
// errors when a merge is refused.
func (h *handlers) renderPatient(w http.ResponseWriter, r *http.Request, v *web.View, status int, merge, mergeErr map[string]string, mergeMsg string) error {
	ctx := r.Context()
	uhid, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	p, err := Get(ctx, h.n.DB(), uhid)
	if err != nil {
		return err
	}
	page := &patientPage{View: v, P: p, Age: p.AgeText(h.n.Now().In(kavach.Zone)), Merge: merge, MergeErr: mergeErr, MergeMsg: mergeMsg}
	if p.MergedInto != "" {
		if page.Survivor, err = Resolve(ctx, h.n.DB(), p.UHID); err != nil {
			return err
		}
	}
	if page.History, err = History(ctx, h.n.DB(), p.UHID); err != nil {
		return err
	}
	if p.MergedInto == "" {
		if page.Pending, err = PendingMerges(ctx, h.n.DB(), p.UHID); err != nil {
			return err
		}
	}
	// A refused merge gives its form the focus, not a panel's.
	v.Focused = mergeMsg != ""
	if page.Panels, err = v.Panels(ctx, "patient", p.UHID); err != nil {
		return err
	}
	// The panels show the rows of the records merged into this one too.
	family, err := Family(ctx, h.n.DB(), p.UHID)
	if err != nil {
		return err
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.patient", family...); err != nil {
		return err
	}
	v.Title = p.Name + " · " + idcode.ShowUHID(p.UHID)
	return v.Render(w, status, "patient", page)
}
