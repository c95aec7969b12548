package opd

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"kavach"

	"kavach/registration"
	"kavach/web"
)

// registerFields are the registration form's fields in tab order; their
// names are the API's, so that validation errors land next to their field.
// Department comes right after the Mobile, the first fields a counter
// must fill: a counter sends most patients to the same OPD, and the form
// starts on the one it chose last.
var registerFields = []string{
	"name", "name_hi", "sex", "age_years", "age_months", "date_of_birth", "mobile", "department",
	"guardian_relation", "guardian_name", "address", "city", "district", "state", "pin",
	"category", "category_id", "abha_number",
}

// deptCookie keeps the department this browser (a counter) last opened a
// visit in, for the registration form to start on.
const deptCookie = "kavach_dept"

// lastDepartment is the department this counter last chose, if it is
// still one of ds; else MED, or the first.
func lastDepartment(v *web.View, ds []Department) string {
	for _, want := range []string{v.Remembered(deptCookie), "MED"} {
		for _, d := range ds {
			if d.Code == want {
				return want
			}
		}
	}
	if len(ds) > 0 {
		return ds[0].Code
	}
	return ""
}

// registerPage is the data of the registration form, also shown with the
// duplicate warning and with field errors.
type registerPage struct {
	*web.View
	F           map[string]string // what the clerk typed
	Err         map[string]string // field → what is wrong
	Message     string
	Focus       string // the field that gets the cursor
	Dups        []registration.Candidate
	Departments []Department
	States      []string
	Categories  []struct{ Code, Label, LabelHi string }
	Relations   []struct{ Code, Label, Prefix string }
	Today       time.Time
	Sheet       bool // the back-entry of a downtime sheet
}

func registerChoices() ([]string, []struct{ Code, Label, LabelHi string }, []struct{ Code, Label, Prefix string }) {
	return registration.States, registration.Categories, registration.Relations
}

// AgeSex is a candidate's "34 Y / F".
func (p *registerPage) AgeSex(c registration.Candidate) string {
	return c.AgeText(p.Today) + " / " + c.Sex
}

// pageRegister shows an empty registration form, on the department this
// counter chose last.
func (h *handlers) pageRegister(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	f := map[string]string{"category": "general", "guardian_relation": "father", "department": lastDepartment(v, ds)}
	return h.renderRegister(w, r, v, http.StatusOK, f, nil, nil)
}

func (h *handlers) renderRegister(w http.ResponseWriter, r *http.Request, v *web.View, status int, f, errs map[string]string, dups []registration.Candidate) error {
	v.Title = v.T("New registration")
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	p := &registerPage{View: v, F: f, Err: errs, Dups: dups, Departments: ds, States: registration.States,
		Categories: registration.Categories, Relations: registration.Relations, Today: h.n.Now().In(kavach.Zone)}
	p.Focus = "name"
	if len(dups) > 0 {
		p.Focus = "" // the warning takes the focus: Enter must not register by accident
	}
	if len(errs) > 0 {
		p.Message, p.Focus = web.FormErrorFocus(v, errs, registerFields)
	}
	return v.Render(w, status, "register", p)
}

// registerForm reads the posted form into a NewPatient. Errors in what the
// page itself parses (numbers, the DD-MM-YYYY date) come back as fields.
func registerForm(r *http.Request) (map[string]string, *registration.NewPatient, map[string]string) {
	f := map[string]string{}
	for _, k := range registerFields {
		f[k] = r.PostFormValue(k)
	}
	errs := map[string]string{}
	np := &registration.NewPatient{
		Name: f["name"], NameHi: f["name_hi"], Sex: f["sex"], Mobile: f["mobile"], Address: f["address"],
		City: f["city"], District: f["district"], State: f["state"], PIN: f["pin"],
		GuardianRelation: f["guardian_relation"], GuardianName: f["guardian_name"],
		Category: f["category"], CategoryID: f["category_id"], ABHA: f["abha_number"],
	}
	for _, k := range []string{"age_years", "age_months"} {
		a := strings.TrimSpace(f[k])
		if a == "" {
			continue
		}
		n, err := strconv.Atoi(a)
		if err != nil {
			errs[k] = "Age must be a whole number"
			continue
		}
		if k == "age_years" {
			np.AgeYears = &n
		} else {
			np.AgeMonths = &n
		}
	}
	if d := strings.TrimSpace(f["date_of_birth"]); d != "" {
		iso, ok := kavach.ParseDate(d)
		if !ok {
			errs["date_of_birth"] = "Date of birth must be a date like 21-03-1985"
		}
		np.DateOfBirth = iso
	}
	return f, np, errs
}
