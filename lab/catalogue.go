package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// The catalogue: analytes (what is measured, with its unit, LOINC code,
// reference ranges by sex and age band and critical limits) and tests
// (what a doctor orders: one analyte or a panel of them, on a specimen in a
// container, run by a section within a turnaround time).

// Analyte is one measured quantity.
type Analyte struct {
	Code  string `json:"code"`  // catalogue code, "HGB"
	Name  string `json:"name"`  // "Haemoglobin"
	Unit  string `json:"unit"`  // "g/dL"
	LOINC string `json:"loinc"` // "718-7"
	// Kind is "numeric" (a number, flagged against ranges) or "text"
	// ("Negative", "Not seen").
	Kind     string  `json:"kind"`
	Decimals int     `json:"decimals"` // places a numeric value shows
	Ranges   []Range `json:"ranges"`
	// Critical limits: a value below CritLow or above CritHigh is flagged
	// LL or HH and must be telephoned. Empty: none.
	CritLow  string `json:"critical_low"`
	CritHigh string `json:"critical_high"`
	// DeltaPercent: a change from the patient's previous result of more
	// than this many percent is shown for the pathologist to check; 0: no
	// delta check.
	DeltaPercent int `json:"delta_percent"`
	// Normal is the expected value of a text analyte ("Negative").
	Normal string `json:"normal"`
}

// Range is the reference interval for a sex (M, F or "" for any) and an
// age band [FromDays, ToDays) in days (ToDays 0: no upper bound).
type Range struct {
	FromDays int    `json:"from_days"`
	High     string `json:"high"`
	Low      string `json:"low"`
	Sex      string `json:"sex"`
	ToDays   int    `json:"to_days"`
}

// Text is the range as a report prints it: "13.0–17.0", "< 200", "> 40".
func (r Range) Text() string {
	switch {
	case r.Low != "" && r.High != "":
		return r.Low + "–" + r.High
	case r.High != "":
		return "< " + r.High
	case r.Low != "":
		return "> " + r.Low
	}
	return ""
}

// AnalyteDefined is the payload of lab.analyte_defined (frozen): an
// analyte, new or changed. It is its own type, not Analyte, so that a
// change to the API's JSON never changes the journal.
type AnalyteDefined struct {
	Code         string        `json:"code"`
	CritHigh     string        `json:"critical_high"`
	CritLow      string        `json:"critical_low"`
	Decimals     int           `json:"decimals"`
	DeltaPercent int           `json:"delta_percent"`
	Kind         string        `json:"kind"`
	LOINC        string        `json:"loinc"`
	Name         string        `json:"name"`
	Normal       string        `json:"normal"`
	Ranges       []RangeLimits `json:"ranges"`
	Unit         string        `json:"unit"`
}

// RangeLimits is a reference range in lab.analyte_defined.
type RangeLimits struct {
	FromDays int    `json:"from_days"`
	High     string `json:"high"`
	Low      string `json:"low"`
	Sex      string `json:"sex"`
	ToDays   int    `json:"to_days"`
}

// TestSpec is an orderable test: a single analyte or a panel.
type TestSpec struct {
	Code       string   `json:"code"`
	Name       string   `json:"name"`
	Specimen   string   `json:"specimen"`
	Container  string   `json:"container"`
	Section    string   `json:"section"`     // "HAEM", "BIOC", "IMMU", "CPATH"
	TATMinutes int      `json:"tat_minutes"` // turnaround from receipt to release
	Analytes   []string `json:"analytes"`    // analyte codes, in report order
}

// TestSpecified is the payload of lab.test_specified (frozen): a test with
// its analytes, new or changed. It supersedes lab.test_defined, whose
// tests had a range in words and no analytes.
type TestSpecified struct {
	Analytes   []string `json:"analytes"`
	Code       string   `json:"code"`
	Container  string   `json:"container"`
	Name       string   `json:"name"`
	Section    string   `json:"section"`
	Specimen   string   `json:"specimen"`
	TATMinutes int      `json:"tat_minutes"`
}

// Sections are the lab's sections, by code.
var Sections = map[string]string{
	"HAEM":  "Haematology",
	"BIOC":  "Biochemistry",
	"IMMU":  "Immunoassay",
	"CPATH": "Clinical pathology",
	"MICRO": "Microbiology",
	"SERO":  "Serology",
}

var (
	analyteRE = regexp.MustCompile(`^[A-Z0-9]{1,12}$`)
	loincRE   = regexp.MustCompile(`^[0-9]{1,7}-[0-9]$`)
)

// numberRE is a number as a lab writes it and HL7's NM type allows: an
// optional sign, digits and a decimal point. strconv.ParseFloat also takes
// exponents, hexadecimal and digit separators ("1e2", "0x1p4", "1_000"),
// which a report would print as they were typed.
var numberRE = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// parseNumber reads a numeric value as entered or sent: "13.5", "-2",
// "<0.1", "> 500" (a bound is compared by its number).
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimLeft(s, "<>=")
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 20 || !numberRE.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// DefineAnalyte journals an analyte, new or changed.
func DefineAnalyte(tx *node.Tx, a Analyte) error {
	f := kavach.Fields{}
	a.Code = strings.ToUpper(strings.TrimSpace(a.Code))
	if !analyteRE.MatchString(a.Code) {
		f.Add("code", "Analyte code must be 1 to 12 capital letters or digits")
	}
	a.Name = strings.TrimSpace(a.Name)
	if a.Name == "" {
		f.Add("name", "Analyte name is required")
	}
	if a.LOINC != "" && !loincRE.MatchString(a.LOINC) {
		f.Add("loinc", "LOINC code must look like 718-7")
	}
	switch a.Kind {
	case "":
		a.Kind = "numeric"
	case "numeric", "text":
	default:
		f.Add("kind", "Kind must be numeric or text")
	}
	if a.Decimals < 0 || a.Decimals > 4 {
		f.Add("decimals", "Decimals must be 0 to 4")
	}
	if a.DeltaPercent < 0 || a.DeltaPercent > 1000 {
		f.Add("delta_percent", "Delta must be 0 to 1000 percent")
	}
	for field, v := range map[string]string{"name": a.Name, "unit": a.Unit, "normal": a.Normal} {
		f.Text(field, v)
	}
	for field, v := range map[string]string{"critical_low": a.CritLow, "critical_high": a.CritHigh} {
		if v != "" {
			if _, ok := parseNumber(v); !ok || a.Kind == "text" {
				f.Add(field, "Critical limit must be a number")
			}
		}
	}
	for i, r := range a.Ranges {
		field := fmt.Sprintf("ranges[%d]", i)
		if r.Sex != "" && r.Sex != "M" && r.Sex != "F" && r.Sex != "O" {
			f.Add(field+".sex", "Sex must be M, F, O or empty for any")
		}
		if r.FromDays < 0 || (r.ToDays != 0 && r.ToDays <= r.FromDays) {
			f.Add(field+".to_days", "The age band must end after it begins")
		}
		if r.Low == "" && r.High == "" {
			f.Add(field+".low", "A range needs a low or a high limit")
		}
		for name, v := range map[string]string{"low": r.Low, "high": r.High} {
			if v != "" {
				if _, ok := parseNumber(v); !ok {
					f.Add(field+"."+name, "Limit must be a number")
				}
			}
		}
	}
	if a.Ranges == nil {
		a.Ranges = []Range{}
	}
	if err := f.Err(); err != nil {
		return err
	}
	d := AnalyteDefined{Code: a.Code, CritHigh: a.CritHigh, CritLow: a.CritLow, Decimals: a.Decimals, DeltaPercent: a.DeltaPercent,
		Kind: a.Kind, LOINC: a.LOINC, Name: a.Name, Normal: a.Normal, Ranges: []RangeLimits{}, Unit: a.Unit}
	for _, r := range a.Ranges {
		d.Ranges = append(d.Ranges, RangeLimits(r))
	}
	_, err := node.Emit(tx, AnalyteSet, d)
	return err
}

// SpecifyTest journals a test with its analytes, new or changed.
func SpecifyTest(tx *node.Tx, t TestSpec) error {
	f := kavach.Fields{}
	t.Code = strings.ToUpper(strings.TrimSpace(t.Code))
	if !codeRE.MatchString(t.Code) {
		f.Add("code", "Test code must be 2 to 12 capital letters or digits")
	}
	if strings.TrimSpace(t.Name) == "" {
		f.Add("name", "Test name is required")
	}
	if strings.TrimSpace(t.Specimen) == "" {
		f.Add("specimen", "Specimen is required")
	}
	if strings.TrimSpace(t.Container) == "" {
		f.Add("container", "Container is required")
	}
	t.Section = strings.ToUpper(strings.TrimSpace(t.Section))
	if _, ok := Sections[t.Section]; !ok {
		f.Add("section", "Section must be one of "+strings.Join(sectionCodes(), ", "))
	}
	if t.TATMinutes < 0 || t.TATMinutes > 60*24*30 {
		f.Add("tat_minutes", "Turnaround must be 0 to 43200 minutes")
	}
	for field, v := range map[string]string{"name": t.Name, "specimen": t.Specimen, "container": t.Container} {
		f.Text(field, v)
	}
	if len(t.Analytes) == 0 {
		f.Add("analytes", "A test needs at least one analyte")
	}
	seen := map[string]bool{}
	for i, code := range t.Analytes {
		code = strings.ToUpper(strings.TrimSpace(code))
		t.Analytes[i] = code
		if seen[code] {
			f.Add("analytes", "Analyte "+code+" is listed twice")
			continue
		}
		seen[code] = true
		if _, err := GetAnalyte(tx.Context(), tx, code); err != nil {
			f.Add("analytes", "Unknown analyte "+code)
		}
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := node.Emit(tx, TestSet, TestSpecified{Analytes: t.Analytes, Code: t.Code, Container: t.Container, Name: t.Name,
		Section: t.Section, Specimen: t.Specimen, TATMinutes: t.TATMinutes})
	return err
}

func sectionCodes() []string {
	var cs []string
	for c := range Sections {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

func applyAnalyte(p *node.Projection, e *journal.Event, a *AnalyteDefined) error {
	p.ForgetCached() // commands cache the catalogue (testCached, analyteCached)
	rs := make([]Range, 0, len(a.Ranges))
	for _, r := range a.Ranges {
		rs = append(rs, Range(r))
	}
	ranges, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	_, err = p.Exec(`INSERT INTO lab_analytes (code, name, unit, loinc, kind, decimals, ranges, critical_low, critical_high, delta_percent, normal, stamp)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, unit = excluded.unit, loinc = excluded.loinc, kind = excluded.kind,
		decimals = excluded.decimals, ranges = excluded.ranges, critical_low = excluded.critical_low, critical_high = excluded.critical_high,
		delta_percent = excluded.delta_percent, normal = excluded.normal, stamp = excluded.stamp
		WHERE excluded.stamp > lab_analytes.stamp`,
		a.Code, a.Name, a.Unit, a.LOINC, a.Kind, a.Decimals, string(ranges), a.CritLow, a.CritHigh, a.DeltaPercent, a.Normal, node.Stamp(e))
	return err
}

func applyTestSpec(p *node.Projection, e *journal.Event, t *TestSpecified) error {
	p.ForgetCached()
	analytes, err := json.Marshal(t.Analytes)
	if err != nil {
		return err
	}
	// The newer of a lab.test_defined and a lab.test_specified is the
	// whole test, by stamp, whichever arrived first: a test_specified
	// has no unit or range in words, a test_defined no analytes
	// (applyTest).
	_, err = p.Exec(`INSERT INTO lab_tests (code, name, specimen, container, unit, ref_range, stamp, section, tat_minutes, analytes)
		VALUES (?, ?, ?, ?, '', '', ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, specimen = excluded.specimen, container = excluded.container,
		unit = excluded.unit, ref_range = excluded.ref_range,
		stamp = excluded.stamp, section = excluded.section, tat_minutes = excluded.tat_minutes, analytes = excluded.analytes
		WHERE excluded.stamp > lab_tests.stamp`,
		t.Code, t.Name, t.Specimen, t.Container, node.Stamp(e), t.Section, t.TATMinutes, string(analytes))
	return err
}

// GetAnalyte returns an analyte of the catalogue.
func GetAnalyte(ctx context.Context, db journal.DBTX, code string) (*Analyte, error) {
	as, err := analytes(ctx, db, `WHERE code = ?`, code)
	if err != nil {
		return nil, err
	}
	if len(as) == 0 {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No analyte " + code + "."}
	}
	return &as[0], nil
}

// Analytes lists the catalogue's analytes by code.
func Analytes(ctx context.Context, db journal.DBTX) ([]Analyte, error) {
	return analytes(ctx, db, `ORDER BY code`)
}

func analytes(ctx context.Context, db journal.DBTX, where string, args ...any) ([]Analyte, error) {
	rows, err := db.QueryContext(ctx, `SELECT code, name, unit, loinc, kind, decimals, ranges, critical_low, critical_high, delta_percent, normal FROM lab_analytes `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("lab: analytes: %w", err)
	}
	defer rows.Close()
	out := []Analyte{}
	for rows.Next() {
		var a Analyte
		var ranges string
		if err := rows.Scan(&a.Code, &a.Name, &a.Unit, &a.LOINC, &a.Kind, &a.Decimals, &ranges, &a.CritLow, &a.CritHigh, &a.DeltaPercent, &a.Normal); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(ranges), &a.Ranges); err != nil {
			return nil, fmt.Errorf("lab: analyte %s ranges: %w", a.Code, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// CatalogueTest is a test of the catalogue with its analytes.
type CatalogueTest struct {
	TestSpec
	AnalyteDefs []Analyte `json:"analyte_defs"`
}

// Catalogue lists the orderable tests (those with analytes) and their
// analytes.
func Catalogue(ctx context.Context, db journal.DBTX) ([]CatalogueTest, error) {
	rows, err := db.QueryContext(ctx, `SELECT code, name, specimen, container, section, tat_minutes, analytes FROM lab_tests WHERE analytes <> '' ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("lab: catalogue: %w", err)
	}
	var ts []CatalogueTest
	for rows.Next() {
		var t CatalogueTest
		var as string
		if err := rows.Scan(&t.Code, &t.Name, &t.Specimen, &t.Container, &t.Section, &t.TATMinutes, &as); err != nil {
			rows.Close()
			return nil, err
		}
		if err := json.Unmarshal([]byte(as), &t.Analytes); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lab: test %s analytes: %w", t.Code, err)
		}
		ts = append(ts, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	all, err := Analytes(ctx, db)
	if err != nil {
		return nil, err
	}
	byCode := map[string]Analyte{}
	for _, a := range all {
		byCode[a.Code] = a
	}
	for i := range ts {
		for _, c := range ts[i].Analytes {
			if a, ok := byCode[c]; ok {
				ts[i].AnalyteDefs = append(ts[i].AnalyteDefs, a)
			}
		}
	}
	return ts, nil
}

// GetTest returns an orderable test with its analytes.
func GetTest(ctx context.Context, db journal.DBTX, code string) (*CatalogueTest, error) {
	var t CatalogueTest
	var as string
	err := db.QueryRowContext(ctx, `SELECT code, name, specimen, container, section, tat_minutes, analytes FROM lab_tests WHERE code = ? AND analytes <> ''`, code).
		Scan(&t.Code, &t.Name, &t.Specimen, &t.Container, &t.Section, &t.TATMinutes, &as)
	if err != nil {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No test " + code + " in the catalogue."}
	}
	if err := json.Unmarshal([]byte(as), &t.Analytes); err != nil {
		return nil, fmt.Errorf("lab: test %s analytes: %w", code, err)
	}
	for _, c := range t.Analytes {
		a, err := GetAnalyte(ctx, db, c)
		if err != nil {
			return nil, err
		}
		t.AnalyteDefs = append(t.AnalyteDefs, *a)
	}
	return &t, nil
}

// RangeFor returns the reference range for a patient of sex and age in
// days: the first range whose sex matches (a range for the sex before one
// for any) and whose age band holds the age.
func (a *Analyte) RangeFor(sex string, ageDays int) (Range, bool) {
	for _, pass := range []bool{true, false} {
		for _, r := range a.Ranges {
			if (pass && r.Sex != sex) || (!pass && r.Sex != "") {
				continue
			}
			if ageDays >= r.FromDays && (r.ToDays == 0 || ageDays < r.ToDays) {
				return r, true
			}
		}
	}
	return Range{}, false
}

// Flag evaluates a value for a patient: "HH" or "LL" beyond a critical
// limit, "H" or "L" outside the reference range, "" otherwise (and for
// text values). The second result is the range text that applied.
func (a *Analyte) Flag(value, sex string, ageDays int) (flag, rangeText string) {
	r, ok := a.RangeFor(sex, ageDays)
	if ok {
		rangeText = r.Text()
	} else if a.Kind == "text" {
		rangeText = a.Normal
	}
	if a.Kind != "numeric" {
		return "", rangeText
	}
	v, num := parseNumber(value)
	if !num {
		return "", rangeText
	}
	if lim, ok := parseNumber(a.CritLow); ok && a.CritLow != "" && v < lim {
		return "LL", rangeText
	}
	if lim, ok := parseNumber(a.CritHigh); ok && a.CritHigh != "" && v > lim {
		return "HH", rangeText
	}
	if ok {
		if lim, num := parseNumber(r.Low); num && r.Low != "" && v < lim {
			return "L", rangeText
		}
		if lim, num := parseNumber(r.High); num && r.High != "" && v > lim {
			return "H", rangeText
		}
	}
	return "", rangeText
}

// checkValue says what is wrong with a value for the analyte, or "".
func (a *Analyte) checkValue(value string) string {
	if strings.TrimSpace(value) == "" {
		return "A value is required"
	}
	if len(value) > 200 {
		return "A value has at most 200 characters"
	}
	if p := kavach.TextProblem(value); p != "" {
		return p
	}
	if a.Kind == "numeric" {
		if _, ok := parseNumber(value); !ok {
			return a.Code + " needs a number, such as 13.5"
		}
	}
	return ""
}
