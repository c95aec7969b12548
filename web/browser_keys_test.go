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

// TestBrowserLangKeepsForm: Alt+L in the middle of a form switches the
// language and keeps what was typed, and the focus, both ways; a password
// typed is not kept (issue 13 item 5).
func TestBrowserLangKeepsForm(t *testing.T) {
	s := newSite(t)
	c := newChrome(t, s)
	c.login("registration")
	c.do(chromedp.Navigate(c.base+"/register"), c.focused("name"), c.keys("Geeta Rani"))
	c.eval(`(() => {
		const f = document.getElementById("reg");
		f.elements.sex.value = "F";
		f.elements.age_years.value = "33";
		f.elements.department.value = "ENT";
		f.elements.mobile.focus();
		return "";
	})()`)
	c.do(c.keys("98111"))
	want := `Geeta Rani|F|33|98111|ENT|mobile`
	state := `(() => { const f = document.getElementById("reg"); return [f.elements.name.value, f.elements.sex.value, f.elements.age_years.value,
		f.elements.mobile.value, f.elements.department.value, document.activeElement.id].join("|"); })()`
	c.do(c.loads(c.alt("l")), c.until(`document.documentElement.lang === "hi"`), c.focused("mobile"))
	if got := c.eval(state); got != want {
		t.Fatalf("after Alt+L to Hindi: %q, want %q", got, want)
	}
	c.shot("lang-kept-hi")
	c.do(c.keys("22233"), c.loads(c.alt("l")), c.until(`document.documentElement.lang === "en"`), c.focused("mobile"))
	if got := c.eval(state); got != `Geeta Rani|F|33|9811122233|ENT|mobile` {
		t.Fatalf("after Alt+L back to English: %q", got)
	}
	// On the duplicate warning, with its own forms above the registration
	// form, Alt+L keeps what was typed too.
	s.registerOnly(t, "Geeta Rani", "9811122233")
	c.eval(`(() => { const f = document.getElementById("reg");
		f.elements.guardian_name.value = "Mohan Lal"; f.elements.address.value = "8 Patel Nagar"; f.elements.mobile.focus(); return ""; })()`)
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#dups")))
	c.do(c.loads(c.alt("l")), c.until(`document.documentElement.lang === "hi"`))
	if got := c.eval(state); !strings.HasPrefix(got, `Geeta Rani|F|33|9811122233|ENT|`) {
		t.Fatalf("after Alt+L on the duplicate warning: %q", got)
	}
	c.do(c.loads(c.alt("l")), c.until(`document.documentElement.lang === "en"`))
	// The day end's cash count comes back with its totals worked out again.
	cb := newChrome(t, s)
	cb.login("billing")
	cb.do(chromedp.Navigate(cb.base+"/billing/day-end"), chromedp.WaitVisible(chromedp.CSS("#count-form")))
	cb.eval(`(() => { document.querySelector("input[data-denom='500']").focus(); return ""; })()`)
	cb.do(cb.keys("3"), cb.until(`document.getElementById("counted").textContent === "₹1,500.00"`))
	cb.do(cb.loads(cb.alt("l")), cb.until(`document.documentElement.lang === "hi"`))
	if got := cb.eval(`document.querySelector("input[data-denom='500']").value + "|" + document.getElementById("counted").textContent`); got != "3|₹1,500.00" {
		t.Errorf("the day end after Alt+L: %q", got)
	}
	// Kept once: a reload shows the form as the server sends it.
	c.do(c.loads(chromedp.Reload()))
	if got := c.eval(`document.getElementById("name").value`); got != "" {
		t.Errorf("after a reload the name is %q", got)
	}
	// A password never goes into storage.
	c.do(chromedp.Navigate(c.base+"/password"), chromedp.WaitVisible(chromedp.CSS(`input[type=password]`)))
	c.eval(`(document.querySelector("input[type=password]").value = "secret-typed-1", "")`)
	c.do(c.loads(c.alt("l")), c.until(`document.documentElement.lang === "hi"`))
	if got := c.eval(`document.querySelector("input[type=password]").value + "|" + (sessionStorage.getItem("kavach-keep") || "")`); got != "|" {
		t.Errorf("a password was kept: %q", got)
	}
}

// TestBrowserStatusLayout: on the status page no line of the node's facts
// runs into another -- the Backups warning overlapped the line above it
// (issue 13 item 5) -- in English and Hindi.
func TestBrowserStatusLayout(t *testing.T) {
	s := newSite(t)
	c := newChrome(t, s)
	c.do(chromedp.Navigate(c.base+"/login"), c.focused("username"), c.keys("admin"), c.keys(kb.Tab), c.keys(testAdminPW),
		c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("ul.tiles")))
	for _, lang := range []string{"hi", "en"} {
		c.do(chromedp.Navigate(c.base+"/lang/"+lang+"?next=/status"), chromedp.WaitVisible(chromedp.CSS("#vaults")))
		overlaps := c.eval(`(() => {
			const els = Array.from(document.querySelectorAll("dl.kv > dt, dl.kv > dd"));
			const box = el => {
				let top = Infinity, bottom = -Infinity;
				for (const n of [el, ...el.querySelectorAll("*")]) for (const r of n.getClientRects()) {
					top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
				}
				return [top, bottom];
			};
			const bad = [];
			for (let i = 2; i + 1 < els.length; i += 2) {
				const above = Math.max(box(els[i-2])[1], box(els[i-1])[1]);
				const here = Math.min(box(els[i])[0], box(els[i+1])[0]);
				if (here < above - 0.5) bad.push(els[i].textContent + " runs into " + els[i-2].textContent + " by " + (above - here).toFixed(1) + "px");
			}
			return bad.join("; ");
		})()`)
		if overlaps != "" {
			t.Errorf("%s: %s", lang, overlaps)
		}
		want := "No vault has confirmed a backup yet"
		if lang == "hi" {
			want, _ = s.ws.Hindi(want)
		}
		if !strings.Contains(c.text("#vaults"), want) {
			t.Errorf("%s: backups: %q, want %q", lang, c.text("#vaults"), want)
		}
		c.shot("status-" + lang)
	}
}

// TestBrowserMergeByKeyboard: Enter in the merge form's reason field shows
// both records side by side instead of merging (issue 13 item 3), and a
// second Enter there cancels: the focus is on Cancel, so a clerk's double
// Enter merges no one. Confirming is a deliberate Tab to the button.
func TestBrowserMergeByKeyboard(t *testing.T) {
	s := newSite(t)
	drop := s.registerOnly(t, "Ramesh Kr", "9811100001")
	keep := s.registerOnly(t, "Ramesh Kumar", "9811100002")
	c := newChrome(t, s)
	c.login("records")
	mergedInto := func() string {
		t.Helper()
		p, err := registration.Get(context.Background(), s.h.Node.DB(), drop)
		if err != nil {
			t.Fatal(err)
		}
		return p.MergedInto
	}
	fill := func() {
		c.do(chromedp.Navigate(c.base+"/patients/"+drop), chromedp.WaitVisible(chromedp.CSS("#reason")))
		c.eval(`(document.getElementById("into").value = "` + keep + `", document.getElementById("reason").focus(), "")`)
		c.do(c.keys("same person, registered twice"), c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#merge-compare")), c.focused("merge-cancel"))
	}
	fill()
	if got := c.text("#merge-compare"); !strings.Contains(got, "Ramesh Kr") || !strings.Contains(got, "Ramesh Kumar") {
		t.Fatalf("confirmation: %q", got)
	}
	if mergedInto() != "" {
		t.Fatal("Enter in the reason field merged")
	}
	c.shot("merge-confirm")
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#reason")))
	if mergedInto() != "" {
		t.Fatal("a second Enter merged")
	}
	fill()
	c.do(chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)), c.focused("merge-ok"))
	c.do(c.loads(c.keys(kb.Enter)))
	if got := mergedInto(); got != keep {
		t.Fatalf("confirmed, merged into %q, want %q", got, keep)
	}
}
