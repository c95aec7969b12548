package web

import (
	"net/http"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/opd"
	"kavach/registration"
)

// patientPage is the data of a patient's page.
type patientPage struct {
	*view
	P           *registration.Patient
	Survivor    *registration.Patient // the record a merged one leads to
	Age         string
	Visits      []opd.Visit
	History     []registration.HistoryEntry
	Departments []opd.Department
	DeptNames   map[string]opd.Department
	Merge       map[string]string // the merge form as typed
	MergeErr    map[string]string
	MergeMsg    string
}

// pagePatient shows a patient's record, visits and history, with the forms
// to open today's visit, amend and merge.
func (s *Server) pagePatient(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.renderPatient(w, r, v, http.StatusOK, nil, nil, "")
}

// renderPatient shows the patient page; the merge form comes back with its
// errors when a merge is refused.
func (s *Server) renderPatient(w http.ResponseWriter, r *http.Request, v *view, status int, merge, mergeErr map[string]string, mergeMsg string) error {
	ctx := r.Context()
	uhid, err := registration.ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	p, err := registration.Get(ctx, s.n.DB(), uhid)
	if err != nil {
		return err
	}
	page := &patientPage{view: v, P: p, Age: p.AgeText(time.Now().In(kavach.Zone)), Merge: merge, MergeErr: mergeErr, MergeMsg: mergeMsg}
	if p.MergedInto != "" {
		if page.Survivor, err = registration.Resolve(ctx, s.n.DB(), p.UHID); err != nil {
			return err
		}
	}
	if page.Visits, err = opd.PatientVisits(ctx, s.n.DB(), p.UHID); err != nil {
		return err
	}
	if page.History, err = registration.History(ctx, s.n.DB(), p.UHID); err != nil {
		return err
	}
	if page.Departments, err = opd.Departments(ctx, s.n.DB()); err != nil {
		return err
	}
	page.DeptNames = map[string]opd.Department{}
	for _, d := range page.Departments {
		page.DeptNames[d.Code] = d
	}
	if err := audit.Viewed(ctx, s.n, v.User(), "page.patient", p.UHID); err != nil {
		return err
	}
	v.Title = p.Name + " · " + registration.UHIDDisplay(p.UHID)
	return s.render(w, v, status, "patient", page)
}
