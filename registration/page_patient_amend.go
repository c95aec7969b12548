package registration

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/web"
)

// amendFields are the amendable fields in the form's tab order.
var amendFields = []string{
	"name", "name_hi", "sex", "date_of_birth", "mobile", "guardian_relation", "guardian_name",
	"address", "city", "district", "state", "pin", "category", "category_id", "abha_number",
}

// amendPage is the data of the amend form.
type amendPage struct {
	*web.View
	P          *Patient
	Age        string // the age as told, for a record without an actual date of birth
	F          map[string]string
	Err        map[string]string
	Message    string
	Focus      string
	States     []string
	Categories []struct{ Code, Label, LabelHi string }
	Relations  []struct{ Code, Label, Prefix string }
}

// RecordForm is a patient's record as the amend form shows it, field by
// field. A date of birth reckoned from an age as told is left empty: the
// form shows the age instead and does not invent a date.
func RecordForm(p *Patient) map[string]string {
	dob := ""
	if p.DOBActual {
		dob = kavach.ShowDay(p.DateOfBirth)
	}
	return map[string]string{
		"name": p.Name, "name_hi": p.NameHi, "sex": p.Sex, "date_of_birth": dob,
		"mobile": p.Mobile, "guardian_relation": p.GuardianRelation, "guardian_name": p.GuardianName,
		"address": p.Address, "city": p.City, "district": p.District, "state": p.State, "pin": p.PIN,
		"category": p.Category, "category_id": p.CategoryID, "abha_number": ABHADisplay(p.ABHA),
	}
}

// pageAmend shows the amend form filled with the record as it is.
func (h *handlers) pageAmend(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p, err := h.amendable(r)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.amend", p.UHID); err != nil {
		return err
	}
	return h.renderAmend(w, v, http.StatusOK, p, RecordForm(p), nil)
}

// amendable loads the record named in the path; a merged record is amended
// through the one it was merged into.
func (h *handlers) amendable(r *http.Request) (*Patient, error) {
	uhid, err := ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	p, err := Get(r.Context(), h.n.DB(), uhid)
	if err != nil {
		return nil, err
	}
	if p.MergedInto != "" {
		return nil, kavach.Errorf(kavach.ECONFLICT, "This record was merged into %s; amend that one.", idcode.ShowUHID(p.MergedInto))
	}
	return p, nil
}

func (h *handlers) renderAmend(w http.ResponseWriter, v *web.View, status int, p *Patient, f, errs map[string]string) error {
	v.Title = v.T("Amend record") + " · " + idcode.ShowUHID(p.UHID)
	page := &amendPage{View: v, P: p, F: f, Err: errs, Focus: "name", States: States,
		Categories: Categories, Relations: Relations}
	if !p.DOBActual {
		page.Age = p.AgeText(h.n.Now().In(kavach.Zone))
	}
	if len(errs) > 0 {
		page.Message, page.Focus = web.FormErrorFocus(v, errs, append(amendFields, "reason"))
	}
	return v.Render(w, status, "amend", page)
}
