package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"kavach"
	"kavach/opd"
)

// TestAuditRegister checks that the trail's page reads like a register:
// actions in words (English and Hindi), the patient's name beside the
// UHID, filters by date, and one line for a view of a queue however many
// patients it showed, which the patient filter still finds.
func TestAuditRegister(t *testing.T) {
	s := newSite(t)
	reg := s.loggedIn(t, "registration")
	var visits []string
	names := []string{"Asha Rani", "Bimla Devi", "Chandni Bano"}
	for i, name := range names {
		visits = append(visits, reg.register(patientForm(name, fmt.Sprintf("98200000%02d", i), fmt.Sprint(20+10*i))))
	}
	reg.get("/visits/" + visits[0] + "/slip")
	v, err := opd.GetVisit(t.Context(), s.h.Node.DB(), visits[0])
	if err != nil {
		t.Fatal(err)
	}
	doc := s.loggedIn(t, "doctor")
	must(t, doc.get("/queue/MED"), http.StatusOK, "Asha Rani")

	aud := s.loggedIn(t, "auditor")
	t.Run("ActionsInWordsAndNames", func(t *testing.T) {
		must(t, aud.get("/audit?patient="+v.UHID), http.StatusOK, "printed the OPD slip", `data-action="page.slip"`,
			"looked at a department's queue", "Asha Rani", "registration", "doctor")
	})
	t.Run("OneLinePerView", func(t *testing.T) {
		p := aud.get("/audit?user=doctor")
		must(t, p, http.StatusOK, "looked at a department's queue", "3 patients", "Asha Rani", "Bimla Devi", "Chandni Bano")
		if n := strings.Count(p.body, `data-action="page.queue"`); n != 1 {
			t.Errorf("the queue view is %d lines, want 1:\n%s", n, p.body)
		}
		if n := strings.Count(p.body, "<tr><td>"); n != 1 {
			t.Errorf("%d lines for the doctor, want 1:\n%s", n, p.body)
		}
	})
	t.Run("Dates", func(t *testing.T) {
		now := time.Now()
		today, yesterday, tomorrow := kavach.Day(now), kavach.Day(now.AddDate(0, 0, -1)), kavach.Day(now.AddDate(0, 0, 1))
		must(t, aud.get("/audit?user=doctor&from="+today+"&to="+today), http.StatusOK, "looked at a department's queue", `value="`+kavach.ShowDate(now)+`"`)
		// The page shows a day as every page does, and takes it so too.
		must(t, aud.get("/audit?user=doctor&from="+kavach.ShowDate(now)), http.StatusOK, "looked at a department's queue", `value="`+kavach.ShowDate(now)+`"`)
		must(t, aud.get("/audit?user=doctor&from="+yesterday), http.StatusOK, "looked at a department's queue")
		if p := aud.get("/audit?from=" + tomorrow); !strings.Contains(p.body, "No entries.") || strings.Contains(p.body, "data-action") {
			t.Errorf("views after today:\n%s", p.body)
		}
		if p := aud.get("/audit?to=" + yesterday); !strings.Contains(p.body, "No entries.") || strings.Contains(p.body, "data-action") {
			t.Errorf("views before today:\n%s", p.body)
		}
		must(t, aud.get("/audit?from=2026-13-01"), http.StatusBadRequest, "Not a date: write it as DD-MM-YYYY.", `aria-invalid="true"`)
		must(t, aud.get("/audit?from="+today+"&to="+yesterday), http.StatusBadRequest, "The end date is before the start date.")
	})
	t.Run("Hindi", func(t *testing.T) {
		aud.get("/lang/hi?next=/audit")
		must(t, aud.get("/audit?user=doctor"), http.StatusOK, "विभाग की कतार देखी", "3 रोगी", "Asha Rani")
		must(t, aud.get("/audit?from=nonsense"), http.StatusBadRequest, "यह तारीख नहीं है")
		aud.get("/lang/en?next=/audit")
	})
}

// TestAuditAPIWords checks the API's action_text and its date filters.
func TestAuditAPIWords(t *testing.T) {
	f := newTemplate(t).fixture(t)
	p := f.register(t, newPatient("Ramesh Kumar", "M", 40, "9876511111"))
	f.call(t, "GET", "/api/v1/patients/"+p.UHID, "doctor", nil).want(t, http.StatusOK, nil)
	var out struct {
		Entries []struct {
			Patient, Action string
			ActionText      string `json:"action_text"`
		}
	}
	today := kavach.Day(time.Now())
	f.call(t, "GET", "/api/v1/audit?patient="+p.UHID+"&from="+today+"&to="+today, "auditor", nil).want(t, http.StatusOK, &out)
	if len(out.Entries) == 0 || out.Entries[0].Action != "api.patient" || out.Entries[0].ActionText != "read the patient's record" {
		t.Fatalf("entries: %+v", out.Entries)
	}
	out.Entries = nil
	f.call(t, "GET", "/api/v1/audit?patient="+p.UHID+"&from="+kavach.Day(time.Now().AddDate(0, 0, 1)), "auditor", nil).want(t, http.StatusOK, &out)
	if len(out.Entries) != 0 {
		t.Fatalf("entries after today: %+v", out.Entries)
	}
	f.call(t, "GET", "/api/v1/audit?from=yesterday", "auditor", nil).wantError(t, http.StatusBadRequest, "invalid", "from")
	f.call(t, "GET", "/api/v1/audit?to=2026-02-30", "auditor", nil).wantError(t, http.StatusBadRequest, "invalid", "to")
	f.call(t, "GET", "/api/v1/audit?from="+today+"&to="+kavach.Day(time.Now().AddDate(0, 0, -1)), "auditor", nil).wantError(t, http.StatusBadRequest, "invalid", "to")
}
