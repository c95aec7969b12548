package lab

import (
	"net/http"
	"strconv"
	"strings"

	"kavach"

	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// samplePage is a sample: the patient, where the sample stands, its
// results with their flags and delta checks, and what the user may do:
// enter results, record a critical call, verify and release.
type samplePage struct {
	*web.View
	S         *Sample
	P         *registration.Patient
	Order     *Order
	Reports   []StoredReport
	Section   string            // the worklist the sample is on first
	F         map[string]string // as typed: analyte code → value, and "reason"
	Err       map[string]string // analyte code, "reason"
	Message   string
	Flash     string
	Focus     string // an analyte code, "reason", "verify", "back"
	CanEnter  bool
	CanVerify bool
	Calls     map[string]*callForm // refused critical calls, by analyte
	Now       string               // the call form's default time
}

// callForm is a critical-call form as typed, with its errors.
type callForm struct {
	F, Err map[string]string
	Focus  string
}

// sampleState is what a refused form brings back to the sample page.
type sampleState struct {
	f       map[string]string
	errs    map[string]string
	message string
	calls   map[string]*callForm
}

// Value is what an analyte's input shows: what was typed, or its result.
func (p *samplePage) Value(r Result) string {
	if v, ok := p.F[r.Analyte]; ok {
		return v
	}
	return r.Value
}

// Call is the critical-call form of an analyte: as typed if it was
// refused, else empty with the time now.
func (p *samplePage) Call(analyte string) *callForm {
	if c := p.Calls[analyte]; c != nil {
		return c
	}
	c := &callForm{F: map[string]string{"called_at": p.Now}}
	if p.Focus == "call-"+analyte {
		c.Focus = "called_to"
	}
	return c
}

// needsCall is the first analyte of the sample whose critical value no
// one has been told of, or "".
func needsCall(s *Sample) string {
	for _, r := range s.Results {
		if r.NeedsCall() {
			return r.Analyte
		}
	}
	return ""
}

// Delta shows a delta check's change in percent, signed.
func (p *samplePage) Delta(r Result) string {
	s := strconv.FormatFloat(r.DeltaPercent, 'f', -1, 64)
	if r.DeltaPercent > 0 {
		s = "+" + s
	}
	return s + " %"
}

// Stamp shows a journal time, short.
func (p *samplePage) Stamp(stamp string) string { return shortTime(stamp, p.Node().Now()) }

// pageSample shows a sample; ?saved, ?released and ?called say what the
// form before did.
func (h *handlers) pageSample(w http.ResponseWriter, r *http.Request, v *web.View) error {
	q := r.URL.Query()
	st := sampleState{}
	switch {
	case q.Get("saved") == "1":
		st.message = v.T("Results saved.")
	case q.Get("saved") == "0":
		st.message = v.T("Nothing changed.")
	case q.Get("released") != "":
		st.message = v.T("Report released: version") + " " + q.Get("released")
	case q.Get("called") != "":
		st.message = v.T("Call recorded.")
	}
	return h.renderSample(w, r, v, http.StatusOK, r.PathValue("accession"), st, true)
}

// renderSample shows the sample page; flash says whether st.message is
// news (a green line) rather than a refusal.
func (h *handlers) renderSample(w http.ResponseWriter, r *http.Request, v *web.View, status int, typed string, st sampleState, flash bool) error {
	ctx := r.Context()
	db := h.n.DB()
	s, err := GetSample(ctx, db, typed)
	if err != nil {
		return err
	}
	p, err := registration.Get(ctx, db, s.UHID)
	if err != nil {
		return err
	}
	o, err := GetOrder(ctx, db, s.OrderID)
	if err != nil {
		return err
	}
	rs, err := Reports(ctx, db, s.Accession)
	if err != nil {
		return err
	}
	page := &samplePage{View: v, S: s, P: p, Order: o, Reports: rs, F: st.f, Err: st.errs, Calls: st.calls,
		Now: kavach.ShowTime(h.n.Now())}
	if page.F == nil {
		page.F = map[string]string{}
	}
	if flash {
		page.Flash = st.message
	} else {
		page.Message = st.message
	}
	if len(s.Tests) > 0 {
		if t, err := GetTest(ctx, db, s.Tests[0]); err == nil {
			page.Section = t.Section
		}
	}
	// A refused call for a value that needs none (any more) has no form
	// to come back on: its message goes above the page.
	for a, c := range page.Calls {
		shown := false
		for _, res := range s.Results {
			shown = shown || (res.Analyte == a && res.NeedsCall())
		}
		if !shown && page.Message == "" {
			page.Message = firstError(c.Err, callFields)
		}
	}
	live := s.Rejected == "" && !s.Cancelled
	page.CanEnter = live && s.Received != "" && v.Can(string(EnterResults))
	page.CanVerify = live && s.Status == StatusResulted && v.Can(string(VerifyResults))
	fields := make([]string, 0, len(s.Results)+1)
	for _, res := range s.Results {
		fields = append(fields, res.Analyte)
	}
	fields = append(fields, "reason")
	switch {
	case len(page.Err) > 0:
		msg, focus := web.FormErrorFocus(v, page.Err, fields)
		if page.Message == "" {
			page.Message = msg
		}
		page.Focus = focus
	case len(page.Calls) > 0:
		page.Focus = "call"
	case v.Can(string(CallCritical)) && needsCall(s) != "":
		// A critical value is telephoned before anything else.
		page.Focus = "call-" + needsCall(s)
	case page.CanVerify && page.Message == "":
		page.Focus = "verify"
	case page.CanEnter:
		for _, res := range s.Results {
			if res.Status == "pending" {
				page.Focus = res.Analyte
				break
			}
		}
		if page.Focus == "" && page.Section != "" {
			page.Focus = "back"
		}
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.sample", s.UHID); err != nil {
		return err
	}
	v.Title = v.T("Sample") + " " + s.Accession + " · " + p.Name
	v.Focused = true
	return v.Render(w, status, "lab_sample", page)
}

// TestName is the name of a test of the sample, as the results table
// heads its rows.
func (p *samplePage) TestName(code string) string {
	for _, t := range p.Order.Tests {
		if t.Code == code && t.Name != "" {
			return t.Name
		}
	}
	return code
}

// FirstOfTest reports whether result i starts its test's rows.
func (p *samplePage) FirstOfTest(i int) bool {
	return i == 0 || p.S.Results[i-1].Test != p.S.Results[i].Test
}

// ReleasedBy names who released a version.
func (p *samplePage) ReleasedBy(r StoredReport) string { return strings.TrimSpace(r.ReleasedBy) }

// Verifier is the name the report will be signed with.
func (p *samplePage) Verifier() string { return verifierName(p.Sess) }

// NextVersion is the version a release would make.
func (p *samplePage) NextVersion() int { return p.S.Version + 1 }
