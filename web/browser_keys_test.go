package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"kavach/node"
	"kavach/registration"
)

// registerOnly registers a patient through the commands, with no visit.
func (s *site) registerOnly(t *testing.T, name, mobile string) string {
	t.Helper()
	var uhid string
	err := s.h.Node.Do(context.Background(), "registration", func(tx *node.Tx) error {
		age := 38
		r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "F", AgeYears: &age, Mobile: mobile,
			Address: "3 Nehru Vihar", GuardianName: "Ram Kumar", GuardianRelation: "husband"})
		if err != nil {
			return err
		}
		uhid = r.Patient.UHID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uhid
}

// TestBrowserEnterInSelect: Enter in a select submits a form whose button
// shows Enter (issue 13 item 1), rather than opening the select's list:
// the patient page's Department opens the visit, and the registration
// form's Sex registers the patient.
func TestBrowserEnterInSelect(t *testing.T) {
	s := newSite(t)
	uhid := s.registerOnly(t, "Sunita Kumari", "9811122233")
	c := newChrome(t, s)
	c.login("registration")

	c.do(chromedp.Navigate(c.base+"/patients/"+uhid), c.focused("department"))
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := c.eval(`location.pathname`); !strings.HasPrefix(loc, "/visits/") || !strings.HasSuffix(loc, "/slip") {
		t.Fatalf("Enter on the Department select went to %s", loc)
	}
	if name := c.text("article.slip"); !strings.Contains(name, "Sunita Kumari") {
		t.Errorf("slip: %q", name)
	}

	// The registration form, filled in, with the focus on Sex.
	c.do(chromedp.Navigate(c.base+"/register"), c.focused("name"))
	c.eval(`(() => {
		const f = document.getElementById("reg"), v = {name: "Geeta Rani", age_years: "33", mobile: "9811122244",
			guardian_name: "Mohan Lal", address: "8 Patel Nagar", city: "New Delhi", district: "Central Delhi", pin: "110008"};
		for (const k in v) f.elements[k].value = v[k];
		f.elements.sex.value = "F";
		f.elements.sex.focus();
		return "";
	})()`)
	c.do(c.focused("sex"), c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#token")))
	if name := c.text("article.slip"); !strings.Contains(name, "Geeta Rani") {
		t.Errorf("slip after Enter in Sex: %q", name)
	}
}
