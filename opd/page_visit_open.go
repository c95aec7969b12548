package opd

import (
	"errors"
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/node"
	"kavach/web"
)

// pageVisitOpen opens today's visit for an existing patient (from the
// patient page, or "Use this patient" on the duplicate warning) and shows
// the slip ready to print.
//
// A second visit to the same department the same day is not a new token:
// the page shows the visit the patient has, with its slip to reprint
// (marked Duplicate), and a new token only on an explicit choice with a
// reason.
func (h *handlers) pageVisitOpen(w http.ResponseWriter, r *http.Request, v *web.View) error {
	in := NewVisit{UHID: r.PostFormValue("uhid"), Department: r.PostFormValue("department"),
		NewToken: r.PostFormValue("new_token") == "1", Reason: r.PostFormValue("reason")}
	var visit *Visit
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = Open(tx, in)
		return err
	})
	var dup *DuplicateVisit
	if errors.As(err, &dup) {
		d, derr := GetDepartment(r.Context(), h.n.DB(), dup.Visit.Department)
		if derr != nil {
			return derr
		}
		if err := audit.Viewed(r.Context(), h.n, v.User(), "page.visit_repeat", dup.Visit.UHID); err != nil {
			return err
		}
		page := &repeatPage{View: v, Visit: dup.Visit, Department: d, Reason: in.Reason}
		if dup.Err.Code == kavach.EINVALID {
			page.ReasonErr = v.T("Say why a new token is needed")
		}
		v.Title = v.T("Already has today's visit")
		return v.Render(w, http.StatusConflict, "repeat", page)
	}
	if err != nil {
		return err
	}
	v.Remember(w, deptCookie, visit.Department)
	return web.Redirect(w, r, "/visits/"+visit.ID+"/slip?print=1")
}

// repeatPage offers the visit a patient already has today, or a new token.
type repeatPage struct {
	*web.View
	Visit      *Visit
	Department *Department
	Reason     string
	ReasonErr  string
}
