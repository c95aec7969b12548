package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"kavach/audit"
	"kavach/idcode"
	"kavach/lab"
	"kavach/opd"
)

// labEvents counts the lab's events in the node's journal: a refused form
// must add none (reads add record.viewed events, which are not the lab's).
func (s *site) labEvents(t *testing.T) int {
	t.Helper()
	var n int
	if err := s.h.Node.DB().QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM journal_events WHERE CAST(data AS TEXT) LIKE '%"type":"lab.%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// unchanged fails the test if fn writes a lab event.
func (s *site) unchanged(t *testing.T, fn func()) {
	t.Helper()
	before := s.labEvents(t)
	fn()
	if after := s.labEvents(t); after != before {
		t.Fatalf("a refused form wrote %d lab events", after-before)
	}
}

var labelsRE = regexp.MustCompile(`^/lab/labels\?a=([A-Z0-9%C,]+)&print=1$`)

// collectAll collects every order of a patient on the collection page and
// returns the accession numbers the labels show.
func (b *browser) collectAll(uhid string) []string {
	b.t.Helper()
	p := b.get("/lab/collect?uhid=" + uhid)
	m := regexp.MustCompile(`action="(/lab/orders/[A-Z0-9]+/collect)"`).FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		b.t.Fatalf("collection page: status %d: %s", p.status, p.body)
	}
	form := url.Values{}
	for _, a := range regexp.MustCompile(`name="also" value="([A-Z0-9]+)"`).FindAllStringSubmatch(p.body, -1) {
		form.Add("also", a[1])
	}
	p = b.post(m[1], form)
	lm := labelsRE.FindStringSubmatch(p.location)
	if p.status != http.StatusSeeOther || lm == nil {
		b.t.Fatalf("collect: status %d location %q: %s", p.status, p.location, p.body)
	}
	list, _ := url.QueryUnescape(lm[1])
	return strings.Split(list, ",")
}

// TestLabPages follows samples through the lab's pages, as the doctor, the
// phlebotomist, the technician and the pathologist use them: each form's
// refusals change nothing, and each read of results is audited.
func TestLabPages(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reg := s.loggedIn(t, "registration")
	visit := reg.register(patientForm("Suresh Yadav", "9876501234", "45"))
	uhid := s.uhidOf(t, visit)

	doc := s.loggedIn(t, "doctor")
	lb := s.loggedIn(t, "lab")
	path := s.loggedIn(t, "pathologist")
	var edta, grey, serum string

	t.Run("DoctorOrders", func(t *testing.T) {
		p := doc.get("/patients/" + uhid)
		must(t, p, http.StatusOK, "Order lab tests", `name="tests" value="CBC"`, `<option value="`+visit+`" selected>`)
		s.unchanged(t, func() {
			must(t, doc.post("/lab/orders", url.Values{"uhid": {uhid}, "visit_id": {visit}, "priority": {"urgent"}, "from": {"patient"}}),
				http.StatusBadRequest, "Choose at least one test", "Please correct the marked fields.", `id="order-tests" aria-invalid="true"`)
			must(t, doc.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"CBC"}, "priority": {"stat"}, "from": {"patient"}}),
				http.StatusBadRequest, "Priority must be routine or urgent", `value="CBC" id="order-test-CBC" checked`)
			must(t, doc.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"CBC"}, "visit_id": {"KAV000000019"}, "from": {"patient"}}),
				http.StatusBadRequest, "No such visit")
		})
		p = doc.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"CBC", "GLUF"}, "visit_id": {visit}, "priority": {"urgent"}, "from": {"patient"}})
		if p.status != http.StatusSeeOther || p.location != "/patients/"+uhid+"#lab" {
			t.Fatalf("order: status %d location %q: %s", p.status, p.location, p.body)
		}
		// A second order, cancelled with a reason.
		if p := doc.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"HBA1C"}, "from": {"patient"}}); p.status != http.StatusSeeOther {
			t.Fatalf("second order: %d %s", p.status, p.body)
		}
		os, _ := lab.PatientOrders(ctx, s.h.Node.DB(), uhid)
		if len(os) != 2 || os[1].Priority != "urgent" || os[1].VisitID != visit || os[1].Source != "doctor" {
			t.Fatalf("orders: %+v", os)
		}
		must(t, doc.get("/patients/"+uhid), http.StatusOK, os[0].ID, os[1].ID, "Cancel the order", "URGENT")
		s.unchanged(t, func() {
			must(t, doc.post("/lab/orders/"+os[0].ID+"/cancel", url.Values{"reason": {" "}}), http.StatusBadRequest,
				"Say why the order is cancelled", `id="cancel-reason"`)
		})
		if p := doc.post("/lab/orders/"+os[0].ID+"/cancel", url.Values{"reason": {"Ordered twice"}}); p.status != http.StatusSeeOther || p.location != "/patients/"+uhid+"#lab" {
			t.Fatalf("cancel: %d %q %s", p.status, p.location, p.body)
		}
		if p := doc.get("/patients/" + uhid); strings.Contains(p.body, os[0].ID) {
			t.Errorf("the cancelled order is still open on the patient page")
		}
		// A clerk sees where samples stand, with no order form.
		if p := reg.get("/patients/" + uhid); strings.Contains(p.body, "Order lab tests") || !strings.Contains(p.body, "Open orders") {
			t.Errorf("the clerk's lab panel: %s", p.body)
		}
	})

	t.Run("Collect", func(t *testing.T) {
		must(t, lb.get("/lab/collect"), http.StatusOK, `id="uhid"`, "autofocus")
		must(t, lb.get("/lab/collect?uhid=KA12"), http.StatusBadRequest, "UHID must have 10 to 12 letters and digits", `aria-invalid="true"`)
		must(t, lb.get("/lab/collect?uhid="+wrongCheck(uhid)), http.StatusBadRequest, "UHID "+wrongCheck(uhid))
		p := lb.get("/lab/collect?uhid=" + strings.ToLower(uhid))
		must(t, p, http.StatusOK, "Suresh Yadav", "45 Y", "EDTA (purple)", "Fluoride (grey)", "URGENT", `id="collect" autofocus`,
			"Outside prescription", `name="prescriber"`)
		// An outside prescription needs its prescriber.
		s.unchanged(t, func() {
			must(t, lb.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"LFT"}, "from": {"collect"}}), http.StatusBadRequest,
				"Name the doctor who wrote the outside prescription", `id="order-prescriber"`, "Collect and print labels")
		})
		p = lb.post("/lab/orders", url.Values{"uhid": {uhid}, "tests": {"LFT"}, "prescriber": {"Dr. K. Bose (private clinic)"}, "from": {"collect"}})
		if p.status != http.StatusSeeOther || p.location != "/lab/collect?uhid="+uhid {
			t.Fatalf("outside order: status %d location %q: %s", p.status, p.location, p.body)
		}
		must(t, lb.get(p.location), http.StatusOK, "Dr. K. Bose (private clinic)", "Plain (red)")
		accs := lb.collectAll(uhid)
		if len(accs) != 3 {
			t.Fatalf("collected %v, want the urgent order's two containers and the outside one's", accs)
		}
		edta, grey, serum = accs[0], accs[1], accs[2]
		p = lb.get("/lab/labels?a=" + strings.Join(accs, ",") + "&print=1")
		must(t, p, http.StatusOK, `data-autoprint="1"`, "lab-labels.css", `<img class="lbc" src="/lab/samples/`+edta+`/barcode.png"`,
			"Suresh Yadav", "EDTA (purple)", "URGENT", "CBC", "GLUF", "LFT", `href="/lab/samples/`+serum+`/label.pdf"`, `id="next" autofocus`)
		must(t, lb.get("/lab/labels?a=KAL1"), http.StatusBadRequest)
		bc := lb.get("/lab/samples/" + edta + "/barcode.png")
		if bc.status != http.StatusOK || bc.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(bc.body, "\x89PNG") {
			t.Fatalf("barcode: %d %q", bc.status, bc.header.Get("Content-Type"))
		}
		wantPDF(t, lb.get("/lab/samples/"+edta+"/label.pdf"))
		// Nothing is left to collect.
		must(t, lb.get("/lab/collect?uhid="+uhid), http.StatusOK, "No tests to collect for this patient.", `id="uhid"`)
		es, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{Patient: uhid, User: "lab"})
		if !hasAction(es, "page.collect") || !hasAction(es, "page.labels") {
			t.Errorf("collection not audited: %+v", es)
		}
	})

	t.Run("Receive", func(t *testing.T) {
		must(t, lb.get("/lab/receive"), http.StatusOK, `id="accession"`, "autofocus", "haemolysed")
		s.unchanged(t, func() {
			must(t, lb.post("/lab/receive", url.Values{"accession": {edta[:11] + "Z"}}), http.StatusBadRequest,
				"check character", `aria-invalid="true"`)
			must(t, lb.post("/lab/receive", url.Values{"accession": {idcode.Make("KAL", 99999, 8)}}), http.StatusNotFound, "No sample")
		})
		for _, acc := range []string{edta, grey, serum} {
			p := lb.post("/lab/receive", url.Values{"accession": {strings.ToLower(acc)}})
			if p.status != http.StatusSeeOther || p.location != "/lab/receive?received="+acc {
				t.Fatalf("receive %s: status %d location %q: %s", acc, p.status, p.location, p.body)
			}
		}
		must(t, lb.get("/lab/receive?received="+edta), http.StatusOK, "Received", edta, "CBC", "Suresh Yadav", `id="accession"`)
		p := lb.post("/lab/receive", url.Values{"accession": {edta}})
		if !strings.HasSuffix(p.location, "&again=1") {
			t.Fatalf("receiving twice: %q", p.location)
		}
		must(t, lb.get(p.location), http.StatusOK, "Already received")
		// Rejection: a reason from the list, a note for "other".
		s.unchanged(t, func() {
			must(t, lb.post("/lab/reject", url.Values{"reject_accession": {serum}, "reason": {""}}), http.StatusBadRequest, "Reason must be one of")
			must(t, lb.post("/lab/reject", url.Values{"reject_accession": {serum}, "reason": {"other"}}), http.StatusBadRequest,
				"Say what is wrong with the sample", `id="note"`)
		})
		p = lb.post("/lab/reject", url.Values{"reject_accession": {serum}, "reason": {"haemolysed"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("reject: %d %s", p.status, p.body)
		}
		must(t, lb.get(p.location), http.StatusOK, "Rejected", serum, "haemolysed")
		must(t, lb.get("/lab/collect?uhid="+uhid), http.StatusOK, "LFT", `id="collect" autofocus`)
	})

	t.Run("Results", func(t *testing.T) {
		must(t, lb.get("/lab/worklists"), http.StatusOK, `href="/lab/worklists/HAEM"`, "Haematology")
		p := lb.get("/lab/worklists/haem")
		must(t, p, http.StatusOK, `<b id="pending">1</b>`, `href="/lab/samples/`+edta+`" autofocus`, "Suresh Yadav", "URGENT")
		must(t, lb.get("/lab/worklists/NOPE"), http.StatusNotFound)
		must(t, lb.get("/lab/samples/"+edta), http.StatusOK, `id="v-HGB" name="v_HGB" value="" maxlength="200" autofocus`,
			"Complete blood count", "g/dL", "12.0–15.0")
		form := url.Values{"v_HGB": {"13.5"}, "v_WBC": {"eleven"}, "v_PLT": {"140"}}
		s.unchanged(t, func() {
			p := lb.post("/lab/samples/"+edta+"/results", form)
			must(t, p, http.StatusBadRequest, "WBC needs a number", `value="eleven"`, `value="13.5"`)
			if !regexp.MustCompile(`id="v-WBC"[^>]*autofocus aria-invalid="true"`).MatchString(p.body) {
				t.Errorf("the wrong value is not marked")
			}
			must(t, lb.post("/lab/samples/"+edta+"/results", url.Values{}), http.StatusBadRequest, "Enter at least one result")
		})
		form.Set("v_WBC", "11.8")
		for k, v := range map[string]string{"v_RBC": "4.9", "v_HCT": "44", "v_MCV": "90", "v_MCH": "29.5", "v_MCHC": "33", "v_RDW": "12.8", "v_MPV": "9.1"} {
			form.Set(k, v)
		}
		p = lb.post("/lab/samples/"+edta+"/results", form)
		if p.status != http.StatusSeeOther || p.location != "/lab/samples/"+edta+"?saved=1" {
			t.Fatalf("results: status %d location %q: %s", p.status, p.location, p.body)
		}
		must(t, lb.get(p.location), http.StatusOK, "Results saved.", `<td class="flag flag-abnormal" id="flag-WBC">H</td>`,
			`<td class="flag flag-abnormal" id="flag-PLT">L</td>`, `id="flag-HGB"></td>`, "awaiting verification")
		p = lb.post("/lab/samples/"+grey+"/results", url.Values{"v_GLU": {"480"}})
		must(t, lb.get(p.location), http.StatusOK, `<td class="flag flag-critical" id="flag-GLU">HH</td>`, "Record the call", `id="to-GLU"`)
		// The lab may not verify.
		must(t, lb.post("/lab/samples/"+edta+"/verify", url.Values{}), http.StatusForbidden)
	})

	t.Run("Criticals", func(t *testing.T) {
		p := lb.get("/lab/criticals")
		must(t, p, http.StatusOK, grey, "GLU 480 mg/dL (HH)", "Suresh Yadav", `id="to-`+grey+`-GLU"`)
		s.unchanged(t, func() {
			must(t, lb.post("/lab/samples/"+grey+"/calls", url.Values{"analyte": {"GLU"}, "from": {"criticals"}, "called_to": {" "}}),
				http.StatusBadRequest, "Name who was told, and where")
			must(t, lb.post("/lab/samples/"+grey+"/calls", url.Values{"analyte": {"GLU"}, "from": {"criticals"}, "called_to": {"Dr. Mehta"}, "called_at": {"2099-01-01T10:00"}}),
				http.StatusBadRequest, "The call cannot be in the future")
			must(t, lb.post("/lab/samples/"+edta+"/calls", url.Values{"analyte": {"HGB"}, "from": {"sample"}, "called_to": {"Dr. Mehta"}}),
				http.StatusBadRequest, "has no critical value of HGB")
		})
		p = lb.post("/lab/samples/"+grey+"/calls", url.Values{"analyte": {"GLU"}, "from": {"criticals"}, "called_to": {"Dr. Mehta, MED OPD"}, "notes": {"read back"}})
		if p.status != http.StatusSeeOther || p.location != "/lab/criticals" {
			t.Fatalf("call: %d %q %s", p.status, p.location, p.body)
		}
		must(t, lb.get("/lab/criticals"), http.StatusOK, "Every critical value has been told.")
		must(t, lb.get("/lab/samples/"+grey), http.StatusOK, "Critical value told to Dr. Mehta, MED OPD")
	})

	t.Run("Verify", func(t *testing.T) {
		// Both samples have every result in; the urgent first, then by receipt.
		p := path.get("/lab/verify")
		must(t, p, http.StatusOK, `href="/lab/samples/`+edta+`" autofocus`, `<b id="pending">2</b>`, grey, "first release")
		if strings.Contains(p.body, serum) {
			t.Errorf("a rejected sample awaits verification")
		}
		must(t, path.get("/lab/samples/"+edta), http.StatusOK, `id="verify" autofocus`, "Verify and release", "Demo pathologist")
		s.unchanged(t, func() {
			must(t, path.post("/lab/samples/"+serum+"/verify", url.Values{}), http.StatusConflict, "was rejected")
		})
		p = path.post("/lab/samples/"+edta+"/verify", url.Values{})
		if p.status != http.StatusSeeOther || p.location != "/lab/samples/"+edta+"?released=1" {
			t.Fatalf("verify: %d %q %s", p.status, p.location, p.body)
		}
		must(t, path.get(p.location), http.StatusOK, "Report released: version 1", `<b id="status">verified</b>`,
			`href="/lab/samples/`+edta+`/report.pdf?version=1" id="report-link"`)
		if p := path.get("/lab/verify"); strings.Contains(p.body, edta) || !strings.Contains(p.body, `<b id="pending">1</b>`) {
			t.Errorf("a released sample still awaits verification: %s", p.body)
		}
		must(t, path.post("/lab/samples/"+edta+"/verify", url.Values{}), http.StatusConflict, "already verified")
		// A change after release needs a reason, and waits for verification again.
		must(t, lb.get("/lab/samples/"+edta), http.StatusOK, `id="reason"`)
		s.unchanged(t, func() {
			must(t, lb.post("/lab/samples/"+edta+"/results", url.Values{"v_HGB": {"12.9"}}), http.StatusBadRequest,
				"The report was released; say why the result changes")
		})
		p = lb.post("/lab/samples/"+edta+"/results", url.Values{"v_HGB": {"12.9"}, "reason": {"Re-run after calibration"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("amend: %d %s", p.status, p.body)
		}
		must(t, path.get("/lab/verify"), http.StatusOK, edta, "changed after version 1")
		wantPDF(t, path.get("/lab/samples/"+edta+"/report.pdf?version=1"))
		es, _ := audit.Entries(ctx, s.h.Node.DB(), audit.Query{Patient: uhid, User: "pathologist"})
		if !hasAction(es, "page.sample") || !hasAction(es, "page.verify") {
			t.Errorf("the pathologist's reads not audited: %+v", es)
		}
	})

	t.Run("Hindi", func(t *testing.T) {
		lb.get("/lang/hi")
		defer lb.get("/lang/en")
		must(t, lb.get("/lab/collect?uhid="+uhid), http.StatusOK, "नमूना संग्रह", "बाहरी पर्चा", "नमूना लें और लेबल छापें")
		must(t, lb.get("/lab/samples/"+grey), http.StatusOK, "परिणाम", "संदर्भ सीमा")
		must(t, lb.post("/lab/receive", url.Values{"accession": {"KAL1"}}), http.StatusBadRequest, "एक्सेशन सं. में 12 अक्षर")
	})
}

// TestLabMessagesHindi checks that the lab's pages' words that code
// supplies have Hindi.
func TestLabMessagesHindi(t *testing.T) {
	s := newSite(t)
	for _, k := range append(append([]string{}, lab.RejectReasons...), "in progress", "awaiting verification", "collected", "received",
		"verified", "rejected", "cancelled", "Results saved.", "Nothing changed.", "Report released: version", "Call recorded.",
		"No patient with this UHID", "Choose at least one test", "Name the doctor who wrote the outside prescription",
		"Say why the order is cancelled", "Say what is wrong with the sample", "Enter at least one result",
		"The report was released; say why the result changes", "Name who was told, and where", "A value is required") {
		if _, ok := s.ws.Hindi(k); !ok {
			t.Errorf("no Hindi for %q", k)
		}
	}
}

func hasAction(es []audit.Entry, action string) bool {
	for _, e := range es {
		if e.Action == action {
			return true
		}
	}
	return false
}

// wantPDF fails unless p is a PDF.
func wantPDF(t *testing.T, p page) {
	t.Helper()
	if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/pdf" || !strings.HasPrefix(p.body, "%PDF") {
		t.Fatalf("status %d, type %q, not a PDF: %.200s", p.status, p.header.Get("Content-Type"), p.body)
	}
}

// TestLabCataloguePages: the administrator edits an analyte's ranges and a
// test's analytes; a mistake is shown on the form and writes nothing; the
// change is journaled and flags the next result by the new range.
func TestLabCataloguePages(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	admin := s.loggedIn(t, "admin")
	must(t, admin.get("/lab/catalogue"), http.StatusOK, "CBC", "Complete blood count", "718-7", "13.0–17.0")
	p := admin.get("/lab/catalogue/analytes/HGB")
	must(t, p, http.StatusOK, `value="718-7"`, `value="12y"`)
	form := url.Values{"code": {"HGB"}, "name": {"Haemoglobin"}, "unit": {"g/dL"}, "loinc": {"718-7"}, "kind": {"numeric"},
		"decimals": {"1"}, "critical_low": {"7"}, "critical_high": {"20"}, "delta_percent": {"20"},
		"r0_sex": {"M"}, "r0_from": {"12y"}, "r0_low": {"14.0"}, "r0_high": {"18.0"},
		"r1_sex": {""}, "r1_from": {""}, "r1_low": {"12.0"}, "r1_high": {"17.0"}}
	s.unchanged(t, func() {
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad.Set("loinc", "718")
		bad.Set("r1_to", "soon")
		must(t, admin.post("/lab/catalogue/analytes", bad), http.StatusBadRequest, "30d, 6m or 12y")
		bad.Set("r1_to", "")
		must(t, admin.post("/lab/catalogue/analytes", bad), http.StatusBadRequest, "LOINC code must look like 718-7")
		must(t, admin.post("/lab/catalogue/tests", url.Values{"code": {"NEW1"}, "name": {"New"}, "specimen": {"Blood"},
			"container": {"EDTA (purple)"}, "section": {"HAEM"}, "analytes": {"HGB NOPE"}}), http.StatusBadRequest, "Unknown analyte NOPE")
	})
	p = admin.post("/lab/catalogue/analytes", form)
	if p.status != http.StatusSeeOther || p.location != "/lab/catalogue?saved=HGB" {
		t.Fatalf("save: %d %q %s", p.status, p.location, p.body)
	}
	a, err := lab.GetAnalyte(ctx, s.h.Node.DB(), "HGB")
	if err != nil || len(a.Ranges) != 2 || a.Ranges[0].Low != "14.0" || a.Ranges[0].FromDays != 12*365 {
		t.Fatalf("HGB after the save: %+v %v", a, err)
	}
	if f, rng := a.Flag("13.5", "M", 40*365); f != "L" || rng != "14.0–18.0" {
		t.Fatalf("a man's 13.5 by the new range: %q %q", f, rng)
	}
	p = admin.post("/lab/catalogue/tests", url.Values{"code": {"HB2"}, "name": {"Haemoglobin and platelets"}, "specimen": {"Blood"},
		"container": {"EDTA (purple)"}, "section": {"HAEM"}, "tat_minutes": {"60"}, "analytes": {"HGB, PLT"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("new test: %d %s", p.status, p.body)
	}
	if tc, err := lab.GetTest(ctx, s.h.Node.DB(), "HB2"); err != nil || len(tc.Analytes) != 2 || tc.TATMinutes != 60 {
		t.Fatalf("HB2: %+v %v", tc, err)
	}
	// Only the administrator edits the catalogue.
	lb := s.loggedIn(t, "lab")
	if p := lb.get("/lab/catalogue"); p.status != http.StatusForbidden {
		t.Fatalf("the lab opens the catalogue: %d", p.status)
	}
}

// TestRepeatVisitPage: a second visit to the same department the same day
// from the patient page shows the visit the patient has, with its slip to
// reprint marked Duplicate; a new token is given only with a reason.
func TestRepeatVisitPage(t *testing.T) {
	s := newSite(t)
	ctx := context.Background()
	reg := s.loggedIn(t, "registration")
	first := reg.register(patientForm("Lalita Bai", "9876501299", "50"))
	v, err := opd.GetVisit(ctx, s.h.Node.DB(), first)
	if err != nil {
		t.Fatal(err)
	}
	reg.get("/patients/" + v.UHID)
	before := s.h.Node.Status().Events
	p := reg.post("/visits", url.Values{"uhid": {v.UHID}, "department": {"MED"}})
	must(t, p, http.StatusConflict, "already has a visit to this department today", first, "/visits/"+first+"/slip?print=1&duplicate=1")
	p = reg.post("/visits", url.Values{"uhid": {v.UHID}, "department": {"MED"}, "new_token": {"1"}})
	must(t, p, http.StatusConflict, "Say why a new token is needed")
	if after := s.h.Node.Status().Events; after > before+2 { // the two pages' audited reads only
		t.Fatalf("refused second visits wrote %d events", after-before)
	}
	must(t, reg.get("/visits/"+first+"/slip?duplicate=1"), http.StatusOK, "DUPLICATE")
	p = reg.post("/visits", url.Values{"uhid": {v.UHID}, "department": {"MED"}, "new_token": {"1"}, "reason": {"Lost the first slip"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.location, "/slip?print=1") || strings.Contains(p.location, first) {
		t.Fatalf("a new token with a reason: %d %q", p.status, p.location)
	}
}
