package lab

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// The administrator's catalogue: the tests with their analytes, and each
// analyte's unit, LOINC code, ranges by sex and age band, critical limits
// and delta check. Every save is a journaled lab.test_specified or
// lab.analyte_defined; results already entered keep the range and flag
// they were given.

// cataloguePage lists the tests and analytes.
type cataloguePage struct {
	*web.View
	Tests    []CatalogueTest
	Analytes []Analyte
	Saved    string
}

func (h *handlers) pageCatalogue(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ts, err := Catalogue(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	as, err := Analytes(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	v.Title = v.T("Lab catalogue")
	return v.Render(w, http.StatusOK, "lab_catalogue", &cataloguePage{View: v, Tests: ts, Analytes: as, Saved: r.URL.Query().Get("saved")})
}

// testForm is the form of one test.
type testForm struct {
	*web.View
	New      bool
	F        map[string]string
	Err      map[string]string
	Message  string
	Focus    string
	Sections []string
}

func (h *handlers) pageCatalogueTest(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p := &testForm{View: v, New: r.PathValue("code") == "new", F: map[string]string{}, Focus: "code"}
	if !p.New {
		t, err := GetTest(r.Context(), h.n.DB(), strings.ToUpper(r.PathValue("code")))
		if err != nil {
			return err
		}
		p.F = map[string]string{"code": t.Code, "name": t.Name, "specimen": t.Specimen, "container": t.Container,
			"section": t.Section, "tat_minutes": strconv.Itoa(t.TATMinutes), "analytes": strings.Join(t.Analytes, " ")}
		p.Focus = "name"
	}
	return h.renderTestForm(w, v, http.StatusOK, p)
}

func (h *handlers) renderTestForm(w http.ResponseWriter, v *web.View, status int, p *testForm) error {
	p.Sections = sectionCodes()
	v.Title = v.T("Lab test")
	return v.Render(w, status, "lab_catalogue_test", p)
}

func (h *handlers) pageCatalogueTestSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"code", "name", "specimen", "container", "section", "tat_minutes", "analytes"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	t := TestSpec{Code: f["code"], Name: f["name"], Specimen: f["specimen"], Container: f["container"], Section: f["section"],
		Analytes: strings.FieldsFunc(strings.ToUpper(f["analytes"]), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })}
	tat, convErr := strconv.Atoi(f["tat_minutes"])
	t.TATMinutes = tat
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		if convErr != nil && f["tat_minutes"] != "" {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Turnaround must be a whole number of minutes.", Fields: map[string]string{"tat_minutes": "Turnaround must be a whole number of minutes"}}
		}
		return SpecifyTest(tx, t)
	})
	if err != nil {
		errs := web.FieldErrors(v, err)
		if errs == nil || !wantUser(err) {
			return err
		}
		p := &testForm{View: v, New: r.PostFormValue("new") == "1", F: f, Err: errs}
		p.Message, p.Focus = web.FormErrorFocus(v, errs, []string{"code", "name", "specimen", "container", "section", "tat_minutes", "analytes"})
		return h.renderTestForm(w, v, errStatus(err), p)
	}
	return web.Redirect(w, r, "/lab/catalogue?saved="+strings.ToUpper(t.Code))
}

// rangeRows is how many reference ranges the analyte form offers.
const rangeRows = 8

// analyteForm is the form of one analyte.
type analyteForm struct {
	*web.View
	New     bool
	F       map[string]string
	Ranges  []map[string]string // sex, from, to, low, high
	Err     map[string]string
	Message string
	Focus   string
}

// ageText shows an age band's bound in days as the form takes it: "12y",
// "6m", "30d"; "" for none.
func ageText(days int) string {
	switch {
	case days == 0:
		return ""
	case days%365 == 0:
		return strconv.Itoa(days/365) + "y"
	case days%30 == 0:
		return strconv.Itoa(days/30) + "m"
	}
	return strconv.Itoa(days) + "d"
}

// parseAge reads "12y", "6m", "30d" (or a bare number of years) as days.
func parseAge(s string) (int, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, true
	}
	unit := 365
	switch {
	case strings.HasSuffix(s, "y"):
		s = strings.TrimSuffix(s, "y")
	case strings.HasSuffix(s, "m"):
		unit, s = 30, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "d"):
		unit, s = 1, strings.TrimSuffix(s, "d")
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 150*365 {
		return 0, false
	}
	return n * unit, true
}

func (h *handlers) pageCatalogueAnalyte(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p := &analyteForm{View: v, New: r.PathValue("code") == "new", F: map[string]string{"kind": "numeric", "decimals": "1"}, Focus: "code"}
	if !p.New {
		a, err := GetAnalyte(r.Context(), h.n.DB(), strings.ToUpper(r.PathValue("code")))
		if err != nil {
			return err
		}
		p.F = map[string]string{"code": a.Code, "name": a.Name, "unit": a.Unit, "loinc": a.LOINC, "kind": a.Kind,
			"decimals": strconv.Itoa(a.Decimals), "critical_low": a.CritLow, "critical_high": a.CritHigh,
			"delta_percent": strconv.Itoa(a.DeltaPercent), "normal": a.Normal}
		for _, rg := range a.Ranges {
			p.Ranges = append(p.Ranges, map[string]string{"sex": rg.Sex, "from": ageText(rg.FromDays), "to": ageText(rg.ToDays), "low": rg.Low, "high": rg.High})
		}
		p.Focus = "name"
	}
	return h.renderAnalyteForm(w, v, http.StatusOK, p)
}

func (h *handlers) renderAnalyteForm(w http.ResponseWriter, v *web.View, status int, p *analyteForm) error {
	for len(p.Ranges) < rangeRows {
		p.Ranges = append(p.Ranges, map[string]string{})
	}
	v.Title = v.T("Lab analyte")
	return v.Render(w, status, "lab_catalogue_analyte", p)
}

func (h *handlers) pageCatalogueAnalyteSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"code", "name", "unit", "loinc", "kind", "decimals", "critical_low", "critical_high", "delta_percent", "normal"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	errs := map[string]string{}
	num := func(k string) int {
		if f[k] == "" {
			return 0
		}
		n, err := strconv.Atoi(f[k])
		if err != nil {
			errs[k] = v.T("Must be a whole number")
		}
		return n
	}
	a := Analyte{Code: f["code"], Name: f["name"], Unit: f["unit"], LOINC: f["loinc"], Kind: f["kind"], Decimals: num("decimals"),
		CritLow: f["critical_low"], CritHigh: f["critical_high"], DeltaPercent: num("delta_percent"), Normal: f["normal"], Ranges: []Range{}}
	var rows []map[string]string
	for i := range rangeRows {
		row := map[string]string{}
		for _, k := range []string{"sex", "from", "to", "low", "high"} {
			row[k] = strings.TrimSpace(r.PostFormValue(fmt.Sprintf("r%d_%s", i, k)))
		}
		rows = append(rows, row)
		if row["low"] == "" && row["high"] == "" && row["from"] == "" && row["to"] == "" {
			continue
		}
		from, ok1 := parseAge(row["from"])
		to, ok2 := parseAge(row["to"])
		if !ok1 || !ok2 {
			errs[fmt.Sprintf("ranges[%d].to_days", len(a.Ranges))] = v.T("An age is like 30d, 6m or 12y")
		}
		a.Ranges = append(a.Ranges, Range{Sex: row["sex"], FromDays: from, ToDays: to, Low: row["low"], High: row["high"]})
	}
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		if len(errs) > 0 {
			return &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: errs}
		}
		return DefineAnalyte(tx, a)
	})
	if err != nil {
		fe := web.FieldErrors(v, err)
		if fe == nil || !wantUser(err) {
			return err
		}
		p := &analyteForm{View: v, New: r.PostFormValue("new") == "1", F: f, Ranges: rows, Err: fe}
		p.Message, p.Focus = web.FormErrorFocus(v, fe, []string{"code", "name", "unit", "loinc", "kind", "decimals", "critical_low", "critical_high", "delta_percent", "normal"})
		return h.renderAnalyteForm(w, v, errStatus(err), p)
	}
	return web.Redirect(w, r, "/lab/catalogue?saved="+strings.ToUpper(a.Code))
}
