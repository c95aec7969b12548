package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromiumPath is Debian's Chromium, the browser the counters run.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the counter in a real headless Chromium with the
// keyboard alone: a clerk logs in, registers a patient and lands on the
// slip, is warned about a similar patient and registers her anyway, finds
// both by mobile and by name; a doctor works the queue; the lab is refused
// the registration page. Set KAVACH_SHOTS to a directory to keep its
// screenshots.
func TestBrowser(t *testing.T) {
	s := newSite(t)
	base := s.srv.URL
	c := newChrome(t, s)
	ctx := c.ctx
	do, text, until, focused, keys, alt, loads, login, shot := c.do, c.text, c.until, c.focused, c.keys, c.alt, c.loads, c.login, c.shot

	// The registration clerk, keyboard only.
	login("registration")
	// Alt+R opens the registration page with the cursor in the name; Tab
	// walks the form in order (the Hindi name is optional, so two Tabs;
	// the Department after the Mobile starts on MED, so Tab past it), and a
	// letter picks an option of a select.
	do(loads(alt("r")), focused("name"))
	// Enter on the empty form: every missing field is named next to it,
	// and the cursor goes back to the first.
	do(loads(keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#formerr")), focused("name"))
	if form := text("#reg"); !strings.Contains(form, "Name is required") || !strings.Contains(form, "Mobile number is required") {
		t.Errorf("field errors: %q", form)
	}
	shot("register-errors")
	do(keys("Lakshmi Devi"), keys(kb.Tab), keys(kb.Tab),
		keys("f"), keys(kb.Tab), keys("45"), keys(kb.Tab), keys(kb.Tab), keys(kb.Tab),
		keys("9876543210"), keys(kb.Tab), keys(kb.Tab), keys("h"), keys(kb.Tab), keys("Ram Prasad"), keys(kb.Tab),
		keys("12 Gandhi Nagar, Sangam Vihar"), keys(kb.Tab), keys("New Delhi"), keys(kb.Tab), keys("South Delhi"),
		keys(kb.Tab), keys("delhi"), keys(kb.Tab), keys("110080"), focused("pin"))
	if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[sex.value, guardian_relation.value, state.value, department.value].join("|")`)); err != nil || got != "F|husband|Delhi|MED" {
		t.Fatalf("selects typed by keyboard: %q, %v", got, err)
	}
	// A state's code chooses it as in the API: UP, then DL.
	for _, c := range [][2]string{{"up", "Uttar Pradesh"}, {"dl", "Delhi"}} {
		do(chromedp.Focus(chromedp.CSS("#state")), chromedp.Sleep(1100*time.Millisecond), keys(c[0]), chromedp.Sleep(100*time.Millisecond))
		if got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`state.value`)); err != nil || got != c[1] {
			t.Fatalf("state code %s typed: %q, %v", c[0], got, err)
		}
	}
	do(chromedp.Focus(chromedp.CSS("#pin")))
	shot("register")
	do(loads(keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#token")), focused("next"))
	if tok := strings.TrimSpace(text("#token b")); tok != "1" {
		t.Errorf("token %q, want 1", tok)
	}
	if u := text("#uhid"); !strings.HasPrefix(u, "KA-") {
		t.Errorf("UHID on the slip: %q", u)
	}
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`barcode.complete && barcode.naturalWidth === 660`)); err != nil || !ok {
		t.Errorf("the barcode image did not load: %v", err)
	}
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); strings.Contains(loc, "print=1") || !strings.Contains(loc, "/slip") {
		t.Errorf("slip address after printing: %s", loc)
	}
	slipText := text("article.slip")
	for _, want := range []string{"Lakshmi Devi", "W/O Ram Prasad", "रोगी का नाम", "Name", "General Medicine (MED)", "Dr. A. Sharma"} {
		if !strings.Contains(slipText, want) {
			t.Errorf("slip lacks %q", want)
		}
	}
	shot("slip")

	// Enter on the slip goes to the next registration: a similar name,
	// the same age, another mobile.
	do(loads(keys(kb.Enter)), focused("name"))
	do(keys("Laxmi Devi"), keys(kb.Tab), keys(kb.Tab), keys("f"), keys(kb.Tab), keys("45"), keys(kb.Tab), keys(kb.Tab), keys(kb.Tab),
		keys("9123456780"), keys(kb.Tab), keys(kb.Tab), keys("h"), keys(kb.Tab), keys("Mohan Lal"), keys(kb.Tab), keys("4 Ambedkar Colony"),
		loads(keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#dups")), focused("dups"))
	if w := text("#dups"); !strings.Contains(w, "Lakshmi Devi") || !strings.Contains(w, "similar name and age") {
		t.Fatalf("duplicate warning: %q", w)
	}
	shot("duplicates")
	do(loads(alt("n")), chromedp.WaitVisible(chromedp.CSS("#token")))
	if tok := strings.TrimSpace(text("#token b")); tok != "2" {
		t.Errorf("second token %q, want 2", tok)
	}
	if name := text("tr.name td"); !strings.Contains(name, "Laxmi Devi") {
		t.Errorf("second slip is for %q", name)
	}

	// Search by mobile, then by part of the name.
	do(loads(alt("s")), focused("q"), keys("9876543210"), loads(keys(kb.Enter)),
		until(`location.search.includes("q=9876543210") && document.querySelectorAll("table.results tbody tr").length === 1`))
	if r := text("table.results"); !strings.Contains(r, "Lakshmi Devi") {
		t.Errorf("search by mobile: %q", r)
	}
	// On the results, Alt+S puts the cursor back in the search box.
	do(alt("s"), focused("q"), chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl)), keys("devi"), loads(keys(kb.Enter)),
		until(`location.search.includes("q=devi") && document.querySelectorAll("table.results tbody tr").length === 2`))
	if r := text("table.results"); !strings.Contains(r, "Lakshmi Devi") || !strings.Contains(r, "Laxmi Devi") {
		t.Errorf("search by name: %q", r)
	}

	// The doctor's queue, in token order; Alt+M marks the first waiting
	// patient seen.
	login("doctor")
	do(chromedp.Navigate(base+"/queue/MED"), chromedp.WaitVisible(chromedp.CSS("#queue")))
	names, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`Array.from(document.querySelectorAll("#queue tbody tr")).map(r => r.cells[0].textContent + " " + r.cells[2].textContent).join(", ")`))
	if err != nil || names != "1 Lakshmi Devi, 2 Laxmi Devi" {
		t.Fatalf("queue: %q, %v", names, err)
	}
	do(loads(alt("m")),
		until(`document.getElementById("waiting").textContent === "1" && document.querySelector("#queue tbody tr").className === "seen"`))

	// The lab may not register patients.
	login("lab")
	do(chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#errmsg")))
	if msg := text("#errmsg"); !strings.Contains(msg, "Your role (lab) may not see this page") {
		t.Errorf("lab on /register: %q", msg)
	}
}
