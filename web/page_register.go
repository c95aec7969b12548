package web

import (
	"kavach"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"kavach/opd"
	"kavach/registration"
)

// registerFields are the registration form's fields in tab order; their
// names are the API's, so that validation errors land next to their field.
var registerFields = []string{
	"name", "name_hi", "sex", "age_years", "age_months", "date_of_birth", "mobile",
	"guardian_relation", "guardian_name", "address", "city", "district", "state", "pin",
	"category", "category_id", "abha_number", "department",
}

// registerPage is the data of the registration form, also shown with the
// duplicate warning and with field errors.
type registerPage struct {
	*view
	F           map[string]string // what the clerk typed
	Err         map[string]string // field → what is wrong
	Message     string
	Focus       string // the field that gets the cursor
	Dups        []registration.Candidate
	Departments []opd.Department
	States      []string
	Categories  []struct{ Code, Label, LabelHi string }
	Relations   []struct{ Code, Label, Prefix string }
	Today       time.Time
}

// AgeSex is a candidate's "34 Y / F".
func (p *registerPage) AgeSex(c registration.Candidate) string {
	return c.AgeText(p.Today) + " / " + c.Sex
}

// pageRegister shows an empty registration form.
func (s *Server) pageRegister(w http.ResponseWriter, r *http.Request, v *view) error {
	f := map[string]string{"category": "general", "guardian_relation": "father", "department": "MED"}
	return s.renderRegister(w, r, v, http.StatusOK, f, nil, nil)
}

func (s *Server) renderRegister(w http.ResponseWriter, r *http.Request, v *view, status int, f, errs map[string]string, dups []registration.Candidate) error {
	v.Title = v.T("New registration")
	ds, err := opd.Departments(r.Context(), s.n.DB())
	if err != nil {
		return err
	}
	p := &registerPage{view: v, F: f, Err: errs, Dups: dups, Departments: ds, States: registration.States,
		Categories: registration.Categories, Relations: registration.Relations, Today: time.Now().In(kavach.Zone)}
	p.Focus = "name"
	if len(dups) > 0 {
		p.Focus = "" // the warning takes the focus: Enter must not register by accident
	}
	if len(errs) > 0 {
		p.Message, p.Focus = formErrorFocus(v, errs, registerFields)
	}
	return s.render(w, v, status, "register", p)
}

// formErrorFocus says what a form with errors shows above its fields and
// which field gets the cursor: the first wrong one in order, or, for an error
// the form has no field for, that error itself, with the cursor on the name.
func formErrorFocus(v *view, errs map[string]string, order []string) (message, focus string) {
	for _, k := range order {
		if _, bad := errs[k]; bad {
			return v.T("Please correct the marked fields."), k
		}
	}
	for _, m := range errs {
		message = m
	}
	return message, "name"
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
		iso, ok := parseDate(d)
		if !ok {
			errs["date_of_birth"] = "Date of birth must be a date like 21-03-1985"
		}
		np.DateOfBirth = iso
	}
	return f, np, errs
}

var dmyRE = regexp.MustCompile(`^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$`)

// parseDate reads a date as counters write it (21-03-1985, 21/3/1985) or
// as ISO (1985-03-21), and returns it as ISO.
func parseDate(s string) (string, bool) {
	if m := dmyRE.FindStringSubmatch(s); m != nil {
		s = m[3] + "-" + pad2(m[2]) + "-" + pad2(m[1])
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// showDate turns an ISO date into DD-MM-YYYY for a form.
func showDate(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("02-01-2006")
}
