package web_test

import (
	"net/http"
	"strings"
	"testing"
)

// labOrder and labSample are the lab's answers as a client reads them.
type labOrder struct {
	OrderID string `json:"order_id"`
	UHID    string `json:"uhid"`
	Source  string `json:"source"`
	Tests   []struct {
		Code, Status, Accession string
	} `json:"tests"`
}

type labSample struct {
	Accession string   `json:"accession"`
	UHID      string   `json:"uhid"`
	Status    string   `json:"status"`
	Container string   `json:"container"`
	Tests     []string `json:"tests"`
	Version   int      `json:"version"`
	Results   []struct {
		Analyte, Value, Unit, Range, Flag, Status string
		Previous                                  string  `json:"previous"`
		DeltaPercent                              float64 `json:"delta_percent"`
		DeltaExceeded                             bool    `json:"delta_exceeded"`
	} `json:"results"`
}

func (s labSample) result(t *testing.T, analyte string) (value, flag, status string) {
	t.Helper()
	for _, r := range s.Results {
		if r.Analyte == analyte {
			return r.Value, r.Flag, r.Status
		}
	}
	t.Fatalf("sample %s has no result line for %s: %+v", s.Accession, analyte, s.Results)
	return
}

type collected struct {
	Samples []struct {
		Accession, Container string
		Tests                []string
	} `json:"samples"`
}

// order orders tests for a new patient as the doctor and collects them as
// the lab: the samples by container.
func (f *fixture) labPatient(t *testing.T, name, sex string, age int, tests ...string) (patient, labOrder, map[string]string) {
	t.Helper()
	p := f.register(t, newPatient(name, sex, age, "98"+strings.Repeat("7", 8)))
	var o labOrder
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": tests, "priority": "urgent"}).want(t, http.StatusCreated, &o)
	var c collected
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "lab", map[string]any{}).want(t, http.StatusCreated, &c)
	byContainer := map[string]string{}
	for _, s := range c.Samples {
		byContainer[s.Container] = s.Accession
	}
	return p, o, byContainer
}

func results(kv ...string) map[string]any {
	var rs []map[string]string
	for i := 0; i < len(kv); i += 2 {
		rs = append(rs, map[string]string{"analyte": kv[i], "value": kv[i+1]})
	}
	return map[string]any{"results": rs}
}

func (f *fixture) sample(t *testing.T, acc, user string) labSample {
	t.Helper()
	var s labSample
	f.call(t, "GET", "/api/v1/samples/"+acc, user, nil).want(t, http.StatusOK, &s)
	return s
}

const cbcEDTA = "EDTA (purple)"

func testLab(t *testing.T, f *fixture) {
	// The demo catalogue has what INTERFACE.md names.
	var cat struct {
		Tests []struct {
			Code        string
			AnalyteDefs []struct{ Code, Unit, LOINC string } `json:"analyte_defs"`
		} `json:"tests"`
	}
	f.call(t, "GET", "/api/v1/lab-tests", "doctor", nil).want(t, http.StatusOK, &cat)
	want := map[string]string{"CBC/HGB": "g/dL 718-7", "CBC/WBC": "10^9/L 6690-2", "CBC/PLT": "10^9/L 777-3", "GLUF/GLU": "mg/dL 1558-6"}
	for _, tc := range cat.Tests {
		for _, a := range tc.AnalyteDefs {
			if w, ok := want[tc.Code+"/"+a.Code]; ok && w == a.Unit+" "+a.LOINC {
				delete(want, tc.Code+"/"+a.Code)
			}
		}
	}
	if len(want) > 0 {
		t.Fatalf("the catalogue lacks %v", want)
	}

	p := f.register(t, newPatient("Suresh Yadav", "M", 45, "9876501234"))
	// Orders: a doctor orders; the counter enters an outside prescription
	// with its prescriber; a registration clerk may not order.
	var o labOrder
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"CBC", "GLUF"}, "priority": "urgent"}).want(t, http.StatusCreated, &o)
	if o.UHID != p.UHID || len(o.Tests) != 2 || o.Tests[0].Code != "CBC" || o.Tests[0].Status != "ordered" || o.Source != "doctor" {
		t.Fatalf("order: %+v", o)
	}
	before := f.events()
	f.call(t, "POST", "/api/v1/lab-orders", "registration", map[string]any{"uhid": p.UHID, "tests": []string{"CBC"}}).wantError(t, http.StatusForbidden, "forbidden", "")
	f.call(t, "POST", "/api/v1/lab-orders", "lab", map[string]any{"uhid": p.UHID, "tests": []string{"CBC"}}).wantError(t, http.StatusBadRequest, "invalid", "prescriber")
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"XYZ"}}).wantError(t, http.StatusBadRequest, "invalid", "tests")
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"CBC"}, "priority": "stat"}).wantError(t, http.StatusBadRequest, "invalid", "priority")
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": wrongCheck(p.UHID), "tests": []string{"CBC"}}).wantError(t, http.StatusBadRequest, "invalid", "uhid")
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"CBC"}, "visit_id": "KAV000000019"}).wantError(t, http.StatusBadRequest, "invalid", "visit_id")
	if f.events() != before {
		t.Fatalf("refused orders wrote %d events", f.events()-before)
	}
	var outside labOrder
	f.call(t, "POST", "/api/v1/lab-orders", "lab", map[string]any{"uhid": p.UHID, "tests": []string{"LFT"}, "prescriber": "Dr. K. Bose (private clinic)"}).want(t, http.StatusCreated, &outside)
	if outside.Source != "outside" {
		t.Fatalf("outside prescription: %+v", outside)
	}

	// Collection: one container per kind, each with an accession number.
	var c collected
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "lab", map[string]any{}).want(t, http.StatusCreated, &c)
	if len(c.Samples) != 2 || c.Samples[0].Container != cbcEDTA || c.Samples[0].Tests[0] != "CBC" || c.Samples[1].Tests[0] != "GLUF" {
		t.Fatalf("collected: %+v", c)
	}
	edta, grey := c.Samples[0].Accession, c.Samples[1].Accession
	if len(edta) != 12 || !strings.HasPrefix(edta, "KAL") {
		t.Fatalf("accession %q", edta)
	}
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "lab", map[string]any{}).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "registration", map[string]any{}).wantError(t, http.StatusForbidden, "forbidden", "")
	if s := f.sample(t, edta, "lab"); s.Status != "collected" || s.UHID != p.UHID || len(s.Results) != 10 {
		t.Fatalf("collected sample: %+v", s)
	}

	// Results need the sample received; bad input changes nothing.
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("HGB", "13.5")).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/receive", "lab", map[string]any{}).want(t, http.StatusOK, nil)
	f.call(t, "POST", "/api/v1/samples/"+grey+"/receive", "lab", map[string]any{}).want(t, http.StatusOK, nil)
	var wl struct {
		Pending int `json:"pending"`
		Samples []struct{ Accession, Name string }
	}
	f.call(t, "GET", "/api/v1/worklists/HAEM", "lab", nil).want(t, http.StatusOK, &wl)
	if wl.Pending != 1 || len(wl.Samples) != 1 || wl.Samples[0].Accession != edta || wl.Samples[0].Name != "Suresh Yadav" {
		t.Fatalf("haematology worklist: %+v", wl)
	}
	f.call(t, "GET", "/api/v1/worklists/BIOC", "lab", nil).want(t, http.StatusOK, &wl)
	if wl.Pending != 1 || wl.Samples[0].Accession != grey {
		t.Fatalf("biochemistry worklist: %+v", wl)
	}
	before = f.events()
	f.call(t, "GET", "/api/v1/samples/KAL000009999", "lab", nil).wantError(t, http.StatusBadRequest, "invalid", "accession")
	f.call(t, "POST", "/api/v1/samples/"+edta[:11]+"Z/results", "lab", results("HGB", "13.5")).wantError(t, http.StatusBadRequest, "invalid", "accession")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("HGB", "13.5", "GLU", "90")).wantError(t, http.StatusBadRequest, "invalid", "results[1].analyte")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("HGB", "thirteen")).wantError(t, http.StatusBadRequest, "invalid", "results[0].value")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("HGB", "")).wantError(t, http.StatusBadRequest, "invalid", "results[0].value")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "registration", results("HGB", "13.5")).wantError(t, http.StatusForbidden, "forbidden", "")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", `{"results":[{"analyte":"HGB","value":true}]}`).wantError(t, http.StatusBadRequest, "invalid", "results.value")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", `{"results":[{"analyte":"HGB","value":"13.5","unit":"g/dL"}]}`).wantError(t, http.StatusBadRequest, "invalid", "")
	if f.events() != before {
		t.Fatalf("refused results wrote %d events", f.events()-before)
	}

	// Flags by the patient's sex and age; a critical value is listed
	// until someone records the call.
	var s labSample
	// A value may come as JSON text or a number, an analyte by its code or
	// its LOINC code.
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", `{"results":[{"analyte":"718-7","value":13.5},{"analyte":"WBC","value":"11.8"},{"analyte":"PLT","value":140}]}`).want(t, http.StatusOK, &s)
	if v, flag, st := s.result(t, "HGB"); v != "13.5" || flag != "" || st != "entered" {
		t.Fatalf("HGB: %q %q %q", v, flag, st)
	}
	if _, flag, _ := s.result(t, "WBC"); flag != "H" {
		t.Fatalf("WBC 11.8 flag %q, want H", flag)
	}
	if _, flag, _ := s.result(t, "PLT"); flag != "L" {
		t.Fatalf("PLT 140 flag %q, want L", flag)
	}
	if s.Status != "in_progress" {
		t.Fatalf("status %q with three of ten results", s.Status)
	}
	f.call(t, "POST", "/api/v1/samples/"+grey+"/results", "lab", results("GLU", "480")).want(t, http.StatusOK, &s)
	if _, flag, _ := s.result(t, "GLU"); flag != "HH" {
		t.Fatalf("GLU 480 flag %q, want HH", flag)
	}
	var crit struct {
		Critical []struct{ Accession, Analyte, Flag string } `json:"critical_values"`
	}
	f.call(t, "GET", "/api/v1/critical-values", "lab", nil).want(t, http.StatusOK, &crit)
	if len(crit.Critical) != 1 || crit.Critical[0].Accession != grey || crit.Critical[0].Analyte != "GLU" {
		t.Fatalf("critical values: %+v", crit)
	}
	f.call(t, "POST", "/api/v1/samples/"+grey+"/critical-calls", "lab", map[string]any{"analyte": "GLU"}).wantError(t, http.StatusBadRequest, "invalid", "called_to")
	f.call(t, "POST", "/api/v1/samples/"+grey+"/critical-calls", "lab", map[string]any{"analyte": "HGB", "called_to": "Dr. Mehta"}).wantError(t, http.StatusBadRequest, "invalid", "analyte")
	f.call(t, "POST", "/api/v1/samples/"+grey+"/critical-calls", "lab", map[string]any{"analyte": "GLU", "called_to": "Dr. Mehta, MED OPD", "notes": "read back"}).want(t, http.StatusOK, nil)
	f.call(t, "GET", "/api/v1/critical-values", "lab", nil).want(t, http.StatusOK, &crit)
	if len(crit.Critical) != 0 {
		t.Fatalf("critical values after the call: %+v", crit)
	}

	// A registration clerk sees where the sample stands, not its results.
	if s := f.sample(t, edta, "registration"); s.Status != "in_progress" || len(s.Results) != 0 {
		t.Fatalf("registration sees %+v", s)
	}

	// Verification: every result in, by a pathologist, once.
	f.call(t, "POST", "/api/v1/samples/"+edta+"/verify", "pathologist", map[string]any{}).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("RBC", "4.9", "HCT", "44", "MCV", "90", "MCH", "29", "MCHC", "33", "RDW", "12.5", "MPV", "9.1")).want(t, http.StatusOK, &s)
	if s.Status != "resulted" {
		t.Fatalf("status %q with every result", s.Status)
	}
	f.call(t, "POST", "/api/v1/samples/"+edta+"/verify", "lab", map[string]any{}).wantError(t, http.StatusForbidden, "forbidden", "")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/verify", "pathologist", map[string]any{}).want(t, http.StatusOK, &s)
	if s.Status != "verified" || s.Version != 1 {
		t.Fatalf("verified: %+v", s)
	}
	before = f.events()
	f.call(t, "POST", "/api/v1/samples/"+edta+"/verify", "pathologist", map[string]any{}).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "POST", "/api/v1/samples/"+edta+"/reject", "lab", map[string]any{"reason": "clotted"}).wantError(t, http.StatusConflict, "conflict", "")
	// A change after release needs a reason, and a new version.
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", results("HGB", "12.9")).wantError(t, http.StatusBadRequest, "invalid", "reason")
	if f.events() != before {
		t.Fatalf("refused changes wrote %d events", f.events()-before)
	}
	amend := results("HGB", "12.9")
	amend["reason"] = "Re-run after calibration"
	f.call(t, "POST", "/api/v1/samples/"+edta+"/results", "lab", amend).want(t, http.StatusOK, &s)
	if s.Status != "resulted" || s.Version != 1 {
		t.Fatalf("amended: %+v", s)
	}
	f.call(t, "POST", "/api/v1/samples/"+edta+"/verify", "pathologist", map[string]any{}).want(t, http.StatusOK, &s)
	if s.Version != 2 {
		t.Fatalf("second release: version %d", s.Version)
	}
	var reps struct {
		Reports []struct {
			Version int
			Current bool
			Reason  string
		} `json:"reports"`
	}
	f.call(t, "GET", "/api/v1/samples/"+edta+"/reports", "doctor", nil).want(t, http.StatusOK, &reps)
	if len(reps.Reports) != 2 || reps.Reports[0].Current || !reps.Reports[1].Current || reps.Reports[1].Reason != "Re-run after calibration" {
		t.Fatalf("reports: %+v", reps)
	}

	// Rejection: the tests go back to be collected; nothing more can be
	// entered on the rejected sample.
	f.call(t, "POST", "/api/v1/samples/"+grey+"/reject", "lab", map[string]any{"reason": "smelly"}).wantError(t, http.StatusBadRequest, "invalid", "reason")
	f.call(t, "POST", "/api/v1/samples/"+grey+"/reject", "lab", map[string]any{"reason": "haemolysed"}).want(t, http.StatusOK, &s)
	if s.Status != "rejected" {
		t.Fatalf("rejected: %+v", s)
	}
	f.call(t, "POST", "/api/v1/samples/"+grey+"/results", "lab", results("GLU", "95")).wantError(t, http.StatusConflict, "conflict", "")
	f.call(t, "GET", "/api/v1/lab-orders/"+o.OrderID, "lab", nil).want(t, http.StatusOK, &o)
	if o.Tests[1].Code != "GLUF" || o.Tests[1].Status != "ordered" || o.Tests[0].Status != "collected" {
		t.Fatalf("order after the rejection: %+v", o)
	}
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "nurse", map[string]any{}).want(t, http.StatusCreated, &c)
	if len(c.Samples) != 1 || c.Samples[0].Tests[0] != "GLUF" || c.Samples[0].Accession == grey {
		t.Fatalf("collected again: %+v", c)
	}

	// Cancelling needs a reason, and an order with results cannot be.
	f.call(t, "POST", "/api/v1/lab-orders/"+outside.OrderID+"/cancel", "doctor", map[string]any{"reason": " "}).wantError(t, http.StatusBadRequest, "invalid", "reason")
	f.call(t, "POST", "/api/v1/lab-orders/"+outside.OrderID+"/cancel", "doctor", map[string]any{"reason": "Patient declined"}).want(t, http.StatusOK, &o)
	if o.Tests[0].Status != "cancelled" {
		t.Fatalf("cancelled order: %+v", o)
	}
	f.call(t, "POST", "/api/v1/lab-orders/"+outside.OrderID+"/collect", "lab", map[string]any{}).wantError(t, http.StatusConflict, "conflict", "")

	// Worklists: received samples not yet released, urgent first.
	f.call(t, "GET", "/api/v1/worklists/HAEM", "lab", nil).want(t, http.StatusOK, &wl)
	if wl.Pending != 0 {
		t.Fatalf("haematology worklist after release: %+v", wl)
	}
	f.call(t, "GET", "/api/v1/worklists/NOPE", "lab", nil).wantError(t, http.StatusNotFound, "not_found", "")

	// Every read of results is audited.
	var audit struct {
		Entries []struct{ User, Action string } `json:"entries"`
	}
	f.call(t, "GET", "/api/v1/audit?patient="+p.UHID, "auditor", nil).want(t, http.StatusOK, &audit)
	seen := map[string]bool{}
	for _, e := range audit.Entries {
		seen[e.User+" "+e.Action] = true
	}
	for _, w := range []string{"lab api.sample", "pathologist api.sample", "lab api.criticals", "doctor api.reports"} {
		if !seen[w] {
			t.Errorf("the audit trail has no %q: %+v", w, audit.Entries)
		}
	}
	if seen["registration api.sample"] {
		t.Errorf("a status-only read was audited as a read of results")
	}
}

// testLabDelta: a second sample's result shows the patient's previous one
// and whether it changed more than the analyte allows.
func testLabDelta(t *testing.T, f *fixture) {
	p, _, s1 := f.labPatient(t, "Geeta Rani", "F", 30, "HB")
	f.call(t, "POST", "/api/v1/samples/"+s1[cbcEDTA]+"/receive", "lab", map[string]any{}).want(t, http.StatusOK, nil)
	f.call(t, "POST", "/api/v1/samples/"+s1[cbcEDTA]+"/results", "lab", results("HGB", "12.0")).want(t, http.StatusOK, nil)
	var o labOrder
	f.call(t, "POST", "/api/v1/lab-orders", "doctor", map[string]any{"uhid": p.UHID, "tests": []string{"HB"}}).want(t, http.StatusCreated, &o)
	var c collected
	f.call(t, "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", "lab", map[string]any{}).want(t, http.StatusCreated, &c)
	acc := c.Samples[0].Accession
	f.call(t, "POST", "/api/v1/samples/"+acc+"/receive", "lab", map[string]any{}).want(t, http.StatusOK, nil)
	var s labSample
	f.call(t, "POST", "/api/v1/samples/"+acc+"/results", "lab", results("HGB", "8.4")).want(t, http.StatusOK, &s)
	r := s.Results[0]
	if r.Previous != "12.0" || r.DeltaPercent != -30 || !r.DeltaExceeded || r.Flag != "L" {
		t.Fatalf("delta: %+v", r)
	}
	// A woman's 12.5 is in range; a man's is low.
	m, _, s2 := f.labPatient(t, "Ajay Singh", "M", 30, "HB")
	f.call(t, "POST", "/api/v1/samples/"+s2[cbcEDTA]+"/receive", "lab", map[string]any{}).want(t, http.StatusOK, nil)
	f.call(t, "POST", "/api/v1/samples/"+s2[cbcEDTA]+"/results", "lab", results("HGB", "12.5")).want(t, http.StatusOK, &s)
	if s.UHID != m.UHID || s.Results[0].Flag != "L" || s.Results[0].Range != "13.0–17.0" {
		t.Fatalf("man's HGB 12.5: %+v", s.Results[0])
	}
}
