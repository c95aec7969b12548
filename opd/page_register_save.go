package opd

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pageRegisterSave registers a patient and opens today's visit in one
// command, then shows the slip ready to print. Field errors and likely
// duplicates bring the form back with what the clerk typed.
func (h *handlers) pageRegisterSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	f, np, errs := registerForm(r)
	for k, m := range errs {
		errs[k] = v.T(m)
	}

	// Validate first, so that the duplicate check runs on clean input.
	// Every wrong field is shown at once; a field the page could not read
	// keeps the page's own message.
	p, err := np.Validate(h.n.Now().In(kavach.Zone))
	if err != nil {
		ferrs := web.FieldErrors(v, err)
		if ferrs == nil {
			return err
		}
		_, badAge := errs["age_years"]
		if _, bad := errs["age_months"]; bad || badAge {
			delete(ferrs, "date_of_birth") // "age is required" would contradict the typed age
		}
		for k, m := range ferrs {
			if _, ok := errs[k]; !ok {
				errs[k] = m
			}
		}
	}
	if _, err := GetDepartment(ctx, h.n.DB(), f["department"]); err != nil {
		if kavach.ErrorCode(err) != kavach.ENOTFOUND {
			return err
		}
		errs["department"] = v.T("Choose a department")
	}
	if len(errs) > 0 {
		return h.renderRegister(w, r, v, http.StatusBadRequest, f, errs, nil)
	}

	if r.PostFormValue("confirm_new") != "1" {
		dups, err := registration.FindDuplicates(ctx, h.n.DB(), registration.DuplicateQuery{Today: h.n.Now(), Name: p.Name, Mobile: p.Mobile, ABHA: p.ABHA, DateOfBirth: p.DateOfBirth})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			uhids := make([]string, len(dups))
			for i := range dups {
				uhids[i] = dups[i].UHID
			}
			if err := audit.Viewed(ctx, h.n, v.User(), "page.duplicates", uhids...); err != nil {
				return err
			}
			return h.renderRegister(w, r, v, http.StatusOK, f, nil, dups)
		}
	}

	// The input is validated and the clerk has seen any likely duplicate
	// (and chose a new record): the writer only allocates and journals.
	var visit *Visit
	err = h.n.Do(ctx, v.User(), func(tx *node.Tx) error {
		reg, err := registration.RegisterChecked(tx, p, nil)
		if err != nil {
			return err
		}
		visit, err = Open(tx, NewVisit{UHID: reg.Patient.UHID, Department: f["department"]})
		return err
	})
	if err != nil {
		if errs := web.FieldErrors(v, err); errs != nil {
			return h.renderRegister(w, r, v, web.Status(kavach.ErrorCode(err)), f, errs, nil)
		}
		return err
	}
	v.Remember(w, deptCookie, visit.Department)
	return web.Redirect(w, r, "/visits/"+visit.ID+"/slip?print=1")
}
