package web

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/registration"
)

// amendFields are the amendable fields in the form's tab order.
var amendFields = []string{
	"name", "name_hi", "sex", "date_of_birth", "mobile", "guardian_relation", "guardian_name",
	"address", "city", "district", "state", "pin", "category", "category_id", "abha_number",
}

// amendPage is the data of the amend form.
type amendPage struct {
	*view
	P          *registration.Patient
	F          map[string]string
	Err        map[string]string
	Message    string
	Focus      string
	States     []string
	Categories []struct{ Code, Label, LabelHi string }
	Relations  []struct{ Code, Label, Prefix string }
}

// recordForm is a patient's record as the amend form shows it.
func recordForm(p *registration.Patient) map[string]string {
	return map[string]string{
		"name": p.Name, "name_hi": p.NameHi, "sex": p.Sex, "date_of_birth": showDate(p.DateOfBirth),
		"mobile": p.Mobile, "guardian_relation": p.GuardianRelation, "guardian_name": p.GuardianName,
		"address": p.Address, "city": p.City, "district": p.District, "state": p.State, "pin": p.PIN,
		"category": p.Category, "category_id": p.CategoryID, "abha_number": registration.ABHADisplay(p.ABHA),
	}
}

// pageAmend shows the amend form filled with the record as it is.
func (s *Server) pageAmend(w http.ResponseWriter, r *http.Request, v *view) error {
	p, err := s.amendable(r)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), s.n, v.User(), "page.amend", p.UHID); err != nil {
		return err
	}
	return s.renderAmend(w, v, http.StatusOK, p, recordForm(p), nil)
}

// amendable loads the record named in the path; a merged record is amended
// through the one it was merged into.
func (s *Server) amendable(r *http.Request) (*registration.Patient, error) {
	uhid, err := registration.ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	p, err := registration.Get(r.Context(), s.n.DB(), uhid)
	if err != nil {
		return nil, err
	}
	if p.MergedInto != "" {
		return nil, kavach.Errorf(kavach.ECONFLICT, "This record was merged into %s; amend that one.", registration.UHIDDisplay(p.MergedInto))
	}
	return p, nil
}

func (s *Server) renderAmend(w http.ResponseWriter, v *view, status int, p *registration.Patient, f, errs map[string]string) error {
	v.Title = v.T("Amend record") + " · " + registration.UHIDDisplay(p.UHID)
	page := &amendPage{view: v, P: p, F: f, Err: errs, Focus: "name", States: registration.States,
		Categories: registration.Categories, Relations: registration.Relations}
	if len(errs) > 0 {
		page.Message, page.Focus = formErrorFocus(v, errs, append(amendFields, "reason"))
	}
	return s.render(w, v, status, "amend", page)
}
