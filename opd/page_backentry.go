package opd

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// sheetFields are the back-entry form's own fields, before the patient's.
var sheetFields = []string{"uhid", "seen_date", "seen_time", "paper_token"}

// pageBackEntry shows the form for entering a downtime sheet.
func (h *handlers) pageBackEntry(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	f := map[string]string{"category": "general", "guardian_relation": "father", "department": lastDepartment(v, ds)}
	return h.renderSheet(w, r, v, http.StatusOK, f, nil)
}

func (h *handlers) renderSheet(w http.ResponseWriter, r *http.Request, v *web.View, status int, f, errs map[string]string) error {
	v.Title = v.T("Enter a downtime sheet")
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	p := &registerPage{View: v, F: f, Err: errs, Departments: ds, Sheet: true, Today: h.n.Now().In(kavach.Zone)}
	p.States, p.Categories, p.Relations = registerChoices()
	p.Focus = "uhid"
	if len(errs) > 0 {
		p.Message, p.Focus = web.FormErrorFocus(v, errs, append(append([]string{}, sheetFields...), registerFields...))
	}
	return v.Render(w, status, "register", p)
}

// pageBackEntrySave registers the sheet's patient with its UHID and enters
// its visit, then shows the patient.
func (h *handlers) pageBackEntrySave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f, np, errs := registerForm(r)
	for _, k := range sheetFields {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	for k, m := range errs {
		errs[k] = v.T(m)
	}
	date, ok := kavach.ParseDate(f["seen_date"])
	if !ok {
		errs["seen_date"] = v.T("Date seen must be a date like 21-03-2026")
	}
	seen, ok := parseSeen(date + "T" + f["seen_time"])
	if !ok && errs["seen_date"] == "" {
		errs["seen_time"] = v.T("Time seen must be like 10:45")
	}
	p, err := np.Validate(h.n.Now().In(kavach.Zone))
	if err != nil {
		ferrs := web.FieldErrors(v, err)
		if ferrs == nil {
			return err
		}
		for k, m := range ferrs {
			if _, ok := errs[k]; !ok {
				errs[k] = m
			}
		}
	}
	if len(errs) > 0 {
		return h.renderSheet(w, r, v, http.StatusBadRequest, f, errs)
	}
	var visit *Visit
	err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = EnterSheet(tx, p, Sheet{UHID: f["uhid"], Department: f["department"], SeenAt: seen, PaperToken: f["paper_token"]})
		return err
	})
	if err != nil {
		if errs := web.FieldErrors(v, err); errs != nil {
			if m, ok := errs["seen_at"]; ok {
				errs["seen_date"] = m
			}
			return h.renderSheet(w, r, v, web.Status(kavach.ErrorCode(err)), f, errs)
		}
		return err
	}
	return web.Redirect(w, r, "/patients/"+visit.UHID+"?entered="+visit.ID)
}
