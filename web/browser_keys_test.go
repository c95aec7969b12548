package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"kavach/node"
	"kavach/opd"
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

// TestBrowserQueue: Enter on the queue page's load marks nobody seen; a
// visit opened while the page is open appears without a reload, the focus
// staying where it was; Alt+M marks the first waiting patient seen, and
// Undo puts them back (issue 13 item 7).
func TestBrowserQueue(t *testing.T) {
	s := newSite(t)
	first := s.registerOnly(t, "Asha Rani", "9810000001")
	second := s.registerOnly(t, "Bimla Devi", "9810000002")
	s.openVisit(t, first)
	c := newChrome(t, s)
	c.login("doctor")
	c.do(chromedp.Navigate(c.base+"/queue/MED"), chromedp.WaitVisible(chromedp.CSS("#queue")))
	// The page loaded marks itself, so a reload shows in window.__loaded.
	c.eval(`(window.__loaded = "queue", "")`)
	c.do(c.keys(kb.Enter), chromedp.Sleep(300*time.Millisecond))
	if w := c.text("#waiting"); w != "1" || c.eval(`window.__loaded || "reloaded"`) != "queue" {
		t.Fatalf("Enter on load: %s waiting, page %s", w, c.eval(`window.__loaded || "reloaded"`))
	}
	if n := c.eval(`String(document.querySelectorAll("#queue tr.seen").length)`); n != "0" {
		t.Fatalf("Enter on load marked %s seen", n)
	}

	// A new visit, opened elsewhere, appears with the next poll; the focus
	// stays on the first patient's button.
	c.eval(`(document.querySelector("#queue button").focus(), "")`)
	focusID := c.eval(`document.activeElement.id`)
	s.openVisit(t, second)
	c.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](`document.querySelectorAll("#queue tbody tr").length === 2 && document.getElementById("waiting").textContent === "2"`,
			chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(25*time.Second))(ctx, tg)
		return err
	}))
	if c.eval(`window.__loaded || "reloaded"`) != "queue" {
		t.Error("the queue reloaded to show the new visit")
	}
	if q := c.text("#queue"); !strings.Contains(q, "Bimla Devi") {
		t.Errorf("queue after the poll: %q", q)
	}
	if id := c.eval(`document.activeElement.id`); id != focusID {
		t.Errorf("focus after the poll: %q, want %q", id, focusID)
	}
	c.shot("queue-polled")

	// Alt+M marks the first waiting patient seen; Undo brings them back.
	c.do(c.loads(c.alt("m")), c.until(`document.getElementById("waiting").textContent === "1" && document.querySelector("#queue tbody tr").className === "seen"`))
	c.do(c.loads(chromedp.Click(chromedp.CSS(`#queue button[id^="unseen-"]`))),
		c.until(`document.getElementById("waiting").textContent === "2" && !document.querySelector("#queue tr.seen")`))
}

// openVisit opens a MED visit for a patient through the commands.
func (s *site) openVisit(t *testing.T, uhid string) {
	t.Helper()
	err := s.h.Node.Do(context.Background(), "registration", func(tx *node.Tx) error {
		_, err := opd.Open(tx, opd.NewVisit{UHID: uhid, Department: "MED"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
