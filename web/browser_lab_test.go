package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"kavach/lab"
	"kavach/node"
	"kavach/registration"
)

// chrome is a headless Chromium driven by the keyboard, as TestBrowser
// drives it, for the lab's browser tests.
type chrome struct {
	t    *testing.T
	ctx  context.Context
	base string
}

// newChrome starts Chromium for a test against s (skipped outside CI
// without Chromium), with window.print stubbed to count its calls in
// window.__printed, since a headless print dialog proves nothing.
func newChrome(t *testing.T, s *site) *chrome {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Chromium at %s: %v", chromiumPath, err)
		}
		t.Fatalf("CI needs Chromium at %s: %v", chromiumPath, err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1366, 900),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() {
		cancel()
		cancelTab()
		cancelAlloc()
	})
	if _, err := chromedp.Call(ctx, cdppage.AddScriptToEvaluateOnNewDocument, cdppage.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.__printed = 0; window.print = function () { window.__printed++; };`,
	}); err != nil {
		t.Fatal(err)
	}
	return &chrome{t: t, ctx: ctx, base: s.srv.URL}
}

func (c *chrome) do(steps ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	if err := chromedp.Do(c.ctx, steps...); err != nil {
		c.t.Fatal(err)
	}
}

func (c *chrome) text(sel string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		c.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (c *chrome) eval(js string) string {
	c.t.Helper()
	v, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		c.t.Fatalf("%s: %v", js, err)
	}
	return v
}

// until waits for a JavaScript condition.
func (c *chrome) until(js string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](js, chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))(ctx, tg)
		return err
	})
}

// focused waits for the focus to be on the element with id.
func (c *chrome) focused(id string) chromedp.Action[chromedp.Void] {
	return c.until(`document.activeElement && document.activeElement.id === "` + id + `"`)
}

// focusedLink waits for the focus to be on a link to href.
func (c *chrome) focusedLink(href string) chromedp.Action[chromedp.Void] {
	return c.until(`document.activeElement && document.activeElement.getAttribute("href") === "` + href + `"`)
}

func (c *chrome) keys(k string) chromedp.Action[chromedp.Void] { return chromedp.KeyEvent(k) }

// alt presses an access key, with the text Chromium matches against
// accesskey attributes (see TestBrowser).
func (c *chrome) alt(k string) chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(k, chromedp.KeyModifiers(chromedp.ModifierAlt), func(p *input.DispatchKeyEventParams) {
		if p.Type == input.DispatchKeyEventTypeKeyDown {
			p.Text, p.UnmodifiedText = k, k
		}
	})
}

// loads runs an action that leaves the page and waits for the next load.
func (c *chrome) loads(trigger chromedp.Action[chromedp.Void]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.WaitEvent(cdppage.LoadEventFired, nil, trigger)(ctx, tg)
		return err
	})
}

func (c *chrome) login(user string) {
	c.t.Helper()
	c.do(chromedp.Navigate(c.base+"/login"), c.focused("username"),
		c.keys(user), c.keys(kb.Tab), c.keys(testDemoPW), c.loads(c.keys(kb.Enter)),
		chromedp.WaitVisible(chromedp.CSS("ul.tiles")))
}

// shot keeps a screenshot in KAVACH_SHOTS, when set.
func (c *chrome) shot(name string) {
	c.t.Helper()
	dir := os.Getenv("KAVACH_SHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(c.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		c.t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		c.t.Fatal(err)
	}
}

// labOrder registers a patient and orders tests as the doctor, urgent,
// through the commands: the browser tests start where the pages take over.
func (s *site) labOrder(t *testing.T, name string, tests ...string) (uhid, order string) {
	t.Helper()
	err := s.h.Node.Do(context.Background(), "doctor", func(tx *node.Tx) error {
		age := 52
		r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "M", AgeYears: &age, Mobile: "9812345678",
			Address: "7 Lodhi Colony", GuardianName: "Hari Ram", GuardianRelation: "father"})
		if err != nil {
			return err
		}
		o, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: r.Patient.UHID, Tests: tests, Priority: "urgent"}, true)
		if err != nil {
			return err
		}
		uhid, order = r.Patient.UHID, o.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uhid, order
}

// labCollect collects an order as the lab and returns the accession
// numbers, in container order.
func (s *site) labCollect(t *testing.T, order string) []string {
	t.Helper()
	var accs []string
	err := s.h.Node.Do(context.Background(), "lab", func(tx *node.Tx) error {
		c, err := lab.Collect(tx, order)
		if err != nil {
			return err
		}
		for _, smp := range c.Samples {
			accs = append(accs, smp.Accession)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return accs
}

// TestBrowserLabCollect: the phlebotomist types the UHID, Enter; Enter on
// "Collect and print labels" opens the labels, which print themselves; the
// label PDF downloads; Enter goes back to the UHID box for the next patient.
func TestBrowserLabCollect(t *testing.T) {
	s := newSite(t)
	c := newChrome(t, s)
	uhid, _ := s.labOrder(t, "Mohan Lal", "CBC", "GLUF")

	c.login("lab")
	c.do(c.loads(c.alt("c")), c.focused("uhid"), c.keys(uhid), c.loads(c.keys(kb.Enter)), c.focused("collect"))
	if p := c.text("#patient"); !strings.Contains(p, "Mohan Lal") || !strings.Contains(p, "52 Y") {
		t.Errorf("patient on the collection page: %q", p)
	}
	if o := c.text("#collect-form"); !strings.Contains(o, "EDTA (purple)") || !strings.Contains(o, "Fluoride (grey)") {
		t.Errorf("orders by container: %q", o)
	}
	c.shot("lab-collect")
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("article.label")), c.until(`window.__printed === 1`), c.focused("next"))
	ss, _ := lab.PatientSamples(context.Background(), s.h.Node.DB(), uhid)
	if len(ss) != 2 {
		t.Fatalf("collected %d samples, want 2", len(ss))
	}
	labels := c.text(".labels")
	for _, smp := range ss {
		if !strings.Contains(labels, smp.Accession) {
			t.Errorf("no label for %s: %q", smp.Accession, labels)
		}
	}
	for _, want := range []string{"Mohan Lal", "URGENT", "CBC", "GLUF"} {
		if !strings.Contains(labels, want) {
			t.Errorf("labels lack %q: %q", want, labels)
		}
	}
	if ok := c.eval(`String(Array.from(document.querySelectorAll("img.lbc")).every(i => i.complete && i.naturalWidth === 660))`); ok != "true" {
		t.Errorf("the barcodes did not load")
	}
	if loc := c.eval(`location.search`); strings.Contains(loc, "print=1") {
		t.Errorf("the labels' address still prints on reload: %s", loc)
	}
	c.shot("lab-labels")
	if ct := c.eval(`fetch(document.querySelector("a.pdf").href).then(r => r.headers.get("content-type"))`); ct != "application/pdf" {
		t.Errorf("label.pdf: content type %q", ct)
	}
	// Enter: the next patient, the cursor in the UHID box.
	c.do(c.loads(c.keys(kb.Enter)), c.focused("uhid"))
}

// TestBrowserLabResults: the technician receives two samples by scanning
// (typing the accession and Enter), opens one from its worklist, types
// the values with Tab and saves with Enter; the flags show, and the
// critical glucose is on the list of critical values.
func TestBrowserLabResults(t *testing.T) {
	s := newSite(t)
	c := newChrome(t, s)
	_, order := s.labOrder(t, "Ramesh Chand", "CBC", "GLUF")
	accs := s.labCollect(t, order)
	edta, grey := accs[0], accs[1]

	c.login("lab")
	c.do(chromedp.Navigate(c.base+"/lab/receive"), c.focused("accession"))
	for _, acc := range []string{edta, grey} {
		c.do(c.keys(acc), c.loads(c.keys(kb.Enter)), c.focused("accession"))
		if f := c.text("#flash"); !strings.Contains(f, "Received") || !strings.Contains(f, acc) || !strings.Contains(f, "Ramesh Chand") {
			t.Errorf("after scanning %s: %q", acc, f)
		}
	}
	c.shot("lab-receive")

	c.do(chromedp.Navigate(c.base+"/lab/worklists/HAEM"), c.focusedLink("/lab/samples/"+edta), c.loads(c.keys(kb.Enter)), c.focused("v-HGB"))
	for i, v := range []string{"13.5", "11.8", "140", "4.9", "44", "90", "29.5", "33", "12.8", "9.1"} {
		if i > 0 {
			c.do(c.keys(kb.Tab))
		}
		c.do(c.keys(v))
	}
	c.do(c.focused("v-MPV"), c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#flash")), c.focused("back"))
	if st := c.text("#status"); st != "awaiting verification" {
		t.Errorf("status with every result in: %q", st)
	}
	for a, want := range map[string]string{"HGB": "", "WBC": "H", "PLT": "L", "MCV": "", "MPV": ""} {
		if got := strings.TrimSpace(c.text("#flag-" + a)); got != want {
			t.Errorf("%s flag %q, want %q", a, got, want)
		}
	}
	c.shot("lab-results")

	c.do(chromedp.Navigate(c.base+"/lab/worklists/BIOC"), c.focusedLink("/lab/samples/"+grey), c.loads(c.keys(kb.Enter)), c.focused("v-GLU"),
		c.keys("480"), c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#flash")), c.focused("to-GLU"))
	if got := strings.TrimSpace(c.text("#flag-GLU")); got != "HH" {
		t.Errorf("GLU 480 flag %q, want HH", got)
	}
	if red := c.eval(`getComputedStyle(document.getElementById("flag-GLU")).color`); red != "rgb(179, 0, 27)" {
		t.Errorf("a critical flag is drawn in %s, not red", red)
	}
	c.shot("lab-critical")
	c.do(c.loads(c.alt("k")), c.focused("to-"+grey+"-GLU"))
	if l := c.text("main"); !strings.Contains(l, grey) || !strings.Contains(l, "GLU 480 mg/dL (HH)") {
		t.Errorf("critical values: %q", l)
	}
}

// TestBrowserLabRelease: the pathologist opens the verification list,
// Enter opens the first sample, Enter verifies it; it shows as verified
// with its report.
func TestBrowserLabRelease(t *testing.T) {
	s := newSite(t)
	c := newChrome(t, s)
	_, order := s.labOrder(t, "Kishan Pal", "HB")
	acc := s.labCollect(t, order)[0]
	err := s.h.Node.Do(context.Background(), "lab", func(tx *node.Tx) error {
		if _, err := lab.Receive(tx, acc); err != nil {
			return err
		}
		_, _, err := lab.AddResults(tx, acc, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "14.2"}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	c.login("pathologist")
	c.do(c.loads(c.alt("v")), c.focusedLink("/lab/samples/"+acc), c.loads(c.keys(kb.Enter)), c.focused("verify"))
	c.shot("lab-verify")
	c.do(c.loads(c.keys(kb.Enter)), chromedp.WaitVisible(chromedp.CSS("#report-link")))
	if st := c.text("#status"); st != "verified" {
		t.Errorf("status after release %q", st)
	}
	if href := c.eval(`document.getElementById("report-link").getAttribute("href")`); href != "/lab/samples/"+acc+"/report.pdf?version=1" {
		t.Errorf("report link %q", href)
	}
	if ct := c.eval(`fetch(document.getElementById("report-link").href).then(r => r.headers.get("content-type"))`); ct != "application/pdf" {
		t.Errorf("report.pdf: content type %q", ct)
	}
	if f := c.text("#flash"); !strings.Contains(f, "Report released: version 1") {
		t.Errorf("flash %q", f)
	}
	c.shot("lab-released")
}
