package lab

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"kavach"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// RejectReasons are why the lab rejects a sample.
var RejectReasons = []string{"haemolysed", "clotted", "insufficient", "mislabelled", "leaked", "other"}

// Sample is a collected container, with where it stands and its results.
type Sample struct {
	Accession    string   `json:"accession"`
	OrderID      string   `json:"order_id"`
	UHID         string   `json:"uhid"`
	Container    string   `json:"container"`
	Specimen     string   `json:"specimen"`
	Priority     string   `json:"priority"`
	Sex          string   `json:"sex"`
	Age          string   `json:"age"`
	AgeDays      int      `json:"-"`
	Tests        []string `json:"tests"`
	Status       string   `json:"status"`
	Collected    string   `json:"collected_at"`
	CollectedBy  string   `json:"collected_by"`
	Received     string   `json:"received_at,omitempty"`
	ReceivedBy   string   `json:"received_by,omitempty"`
	Rejected     string   `json:"rejected_at,omitempty"`
	RejectedBy   string   `json:"rejected_by,omitempty"`
	RejectReason string   `json:"reject_reason,omitempty"`
	RejectNote   string   `json:"reject_note,omitempty"`
	Version      int      `json:"version"` // the newest released report's version; 0: none
	Cancelled    bool     `json:"cancelled,omitempty"`
	Results      []Result `json:"results"`

	resultStamp, releaseStamp string
}

// Result is an analyte's newest value on a sample.
type Result struct {
	Analyte   string `json:"analyte"`
	Name      string `json:"name"`
	Test      string `json:"test"`
	Value     string `json:"value"`
	Unit      string `json:"unit"`
	Range     string `json:"range"`
	Flag      string `json:"flag"`
	Status    string `json:"status"` // pending | entered | verified
	Entered   string `json:"entered_at,omitempty"`
	EnteredBy string `json:"entered_by,omitempty"`
	Source    string `json:"source,omitempty"`
	// Previous is the patient's previous value of this analyte (from an
	// earlier sample) and Delta the change, for the delta check.
	Previous      string  `json:"previous,omitempty"`
	PreviousAt    string  `json:"previous_at,omitempty"`
	DeltaPercent  float64 `json:"delta_percent,omitempty"`
	DeltaExceeded bool    `json:"delta_exceeded,omitempty"`
	CalledTo      string  `json:"called_to,omitempty"`
	CalledAt      string  `json:"called_at,omitempty"`

	stamp, callStamp           string
	releasedKey, releasedValue string // the value the newest release reported
}

// Sample statuses.
const (
	StatusCollected = "collected"
	StatusReceived  = "received"
	StatusPartial   = "in_progress" // some results
	StatusResulted  = "resulted"    // every result, awaiting verification
	StatusVerified  = "verified"    // released, nothing newer
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
)

// ParseAccession normalizes a typed or scanned accession number and checks
// its check character.
func ParseAccession(s string) (string, error) {
	a := idcode.Normalize(s)
	bad := func(msg string) error {
		return &kavach.Error{Code: kavach.EINVALID, Message: msg, Fields: map[string]string{"accession": msg}}
	}
	if len(a) != 12 {
		return "", bad("An accession number has 12 letters and digits, like KAL000000127")
	}
	if _, _, err := idcode.Parse(a, 3); err != nil {
		if errors.Is(err, idcode.ErrCheck) {
			return "", bad("Accession " + a + ": " + idcode.ErrCheck.Error())
		}
		return "", bad("That is not an accession number")
	}
	return a, nil
}

const sampleCols = `s.accession, s.order_id, s.uhid, s.container, s.specimen, s.priority, s.sex, s.age, s.age_days, s.collected, s.collected_by,
	s.received, s.received_by, s.rejected, s.rejected_by, s.reject_reason, s.reject_note, s.version, s.result_stamp, s.release_stamp, o.cancel_stamp`

func scanSample(row interface{ Scan(...any) error }) (*Sample, error) {
	var s Sample
	var cancel string
	err := row.Scan(&s.Accession, &s.OrderID, &s.UHID, &s.Container, &s.Specimen, &s.Priority, &s.Sex, &s.Age, &s.AgeDays,
		&s.Collected, &s.CollectedBy, &s.Received, &s.ReceivedBy, &s.Rejected, &s.RejectedBy, &s.RejectReason, &s.RejectNote,
		&s.Version, &s.resultStamp, &s.releaseStamp, &cancel)
	s.Cancelled = cancel != ""
	return &s, err
}

// GetSample returns a sample with its tests and results (every analyte of
// its tests, pending ones too), their delta checks and its status.
func GetSample(ctx context.Context, db journal.DBTX, typed string) (*Sample, error) {
	acc, err := ParseAccession(typed)
	if err != nil {
		return nil, err
	}
	s, err := scanSample(db.QueryRowContext(ctx, `SELECT `+sampleCols+` FROM lab_samples s JOIN lab_orders o ON o.id = s.order_id WHERE s.accession = ?`, acc))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kavach.Error{Code: kavach.ENOTFOUND, Message: "No sample " + acc + "."}
	}
	if err != nil {
		return nil, fmt.Errorf("lab: sample %s: %w", acc, err)
	}
	if err := s.load(ctx, db); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Sample) load(ctx context.Context, db journal.DBTX) error {
	rows, err := db.QueryContext(ctx, `SELECT test FROM lab_sample_tests WHERE accession = ? ORDER BY position`, s.Accession)
	if err != nil {
		return fmt.Errorf("lab: sample %s: %w", s.Accession, err)
	}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return err
		}
		s.Tests = append(s.Tests, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	entered := map[string]Result{}
	rows, err = db.QueryContext(ctx, `SELECT analyte, test, value, unit, range_text, flag, entered, entered_by, source, stamp, called_to, called_at, call_stamp, released_key, released_value
		FROM lab_results WHERE accession = ?`, s.Accession)
	if err != nil {
		return fmt.Errorf("lab: results of %s: %w", s.Accession, err)
	}
	for rows.Next() {
		var r Result
		if err := rows.Scan(&r.Analyte, &r.Test, &r.Value, &r.Unit, &r.Range, &r.Flag, &r.Entered, &r.EnteredBy, &r.Source, &r.stamp, &r.CalledTo, &r.CalledAt, &r.callStamp, &r.releasedKey, &r.releasedValue); err != nil {
			rows.Close()
			return err
		}
		entered[r.Analyte] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	s.Results = []Result{}
	missing, verified := 0, 0
	for _, code := range s.Tests {
		t, err := GetTest(ctx, db, code)
		if err != nil {
			continue
		}
		for _, a := range t.AnalyteDefs {
			r, ok := entered[a.Code]
			if !ok {
				_, rng := a.Flag("", s.Sex, s.AgeDays)
				r = Result{Analyte: a.Code, Test: t.Code, Unit: a.Unit, Range: rng, Status: "pending"}
				missing++
			} else if r.releasedKey != "" && r.Value == r.releasedValue {
				r.Status = "verified"
				verified++
			} else {
				r.Status = "entered"
			}
			r.Name = a.Name
			if ok && a.Kind == "numeric" {
				if err := r.delta(ctx, db, s, a); err != nil {
					return err
				}
			}
			s.Results = append(s.Results, r)
			delete(entered, a.Code)
		}
	}
	s.Status = s.status(missing, verified == len(s.Results))
	return nil
}

func (s *Sample) status(missing int, allVerified bool) string {
	switch {
	case s.Rejected != "":
		return StatusRejected
	case s.Cancelled:
		return StatusCancelled
	case s.releaseStamp != "" && allVerified:
		return StatusVerified
	case s.resultStamp != "" && missing == 0:
		return StatusResulted
	case s.resultStamp != "":
		return StatusPartial
	case s.Received != "":
		return StatusReceived
	}
	return StatusCollected
}

// delta finds the patient's previous value of the analyte, from the newest
// earlier sample with one, and how much this value differs from it.
func (r *Result) delta(ctx context.Context, db journal.DBTX, s *Sample, a Analyte) error {
	var prev, at string
	err := db.QueryRowContext(ctx, `SELECT r.value, s.collected FROM lab_samples s JOIN lab_results r ON r.accession = s.accession
		WHERE s.uhid = ? AND r.analyte = ? AND (s.collected < ? OR (s.collected = ? AND s.accession < ?)) AND s.rejected_stamp = ''
		ORDER BY s.collected DESC, s.accession DESC LIMIT 1`, s.UHID, a.Code, s.Collected, s.Collected, s.Accession).Scan(&prev, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("lab: delta %s %s: %w", s.Accession, a.Code, err)
	}
	r.Previous, r.PreviousAt = prev, at
	v, ok1 := parseNumber(r.Value)
	p, ok2 := parseNumber(prev)
	if ok1 && ok2 && p != 0 {
		r.DeltaPercent = math.Round((v-p)/math.Abs(p)*1000) / 10
		r.DeltaExceeded = a.DeltaPercent > 0 && math.Abs(r.DeltaPercent) > float64(a.DeltaPercent)
	}
	return nil
}

// sampleForChange loads a sample a command changes, refusing a rejected or
// cancelled one.
func sampleForChange(tx *node.Tx, typed string) (*Sample, error) {
	s, err := GetSample(tx.Context(), tx, typed)
	if err != nil {
		return nil, err
	}
	switch {
	case s.Rejected != "":
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sample " + s.Accession + " was rejected (" + s.RejectReason + "); collect it again."}
	case s.Cancelled:
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sample " + s.Accession + "'s order was cancelled."}
	}
	return s, nil
}

// Receive records that the lab has the sample. Receiving it twice changes
// nothing.
func Receive(tx *node.Tx, typed string) (*Sample, error) {
	s, err := sampleForChange(tx, typed)
	if err != nil {
		return nil, err
	}
	if s.Received != "" {
		return s, nil
	}
	if _, err := node.Emit(tx, SampleReceived, Received{Accession: s.Accession}); err != nil {
		return nil, err
	}
	return GetSample(tx.Context(), tx, s.Accession)
}

// Reject rejects a sample for a reason; its tests are to be collected again.
func Reject(tx *node.Tx, typed, reason, note string) (*Sample, error) {
	reason = strings.ToLower(strings.TrimSpace(reason))
	note = strings.TrimSpace(note)
	f := kavach.Fields{}
	if !slices.Contains(RejectReasons, reason) {
		f.Add("reason", "Reason must be one of "+strings.Join(RejectReasons, ", "))
	}
	if reason == "other" && note == "" {
		f.Add("note", "Say what is wrong with the sample")
	}
	f.Note("note", note, 500)
	if err := f.Err(); err != nil {
		return nil, err
	}
	s, err := sampleForChange(tx, typed)
	if err != nil {
		return nil, err
	}
	if s.releaseStamp != "" {
		return nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sample " + s.Accession + " has a released report; it cannot be rejected."}
	}
	if _, err := node.Emit(tx, SampleRejected, Rejected{Accession: s.Accession, Note: note, Reason: reason}); err != nil {
		return nil, err
	}
	return GetSample(tx.Context(), tx, s.Accession)
}

// ResultIn is a value to enter for an analyte, named by its catalogue
// code or its LOINC code.
type ResultIn struct {
	Analyte string `json:"analyte"`
	Value   Value  `json:"value"`
}

// Value is a result as a client sends it: JSON text ("13.5", "Negative")
// or a JSON number (13.5), kept as the number was written (without an
// exponent).
type Value string

// UnmarshalJSON takes a string or a number.
func (v *Value) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = Value(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		// No Field: the decoder names the field ("results.value").
		return &json.UnmarshalTypeError{Value: string(b), Type: reflect.TypeFor[string]()}
	}
	*v = Value(n.String())
	// An encoder writes a small number with an exponent (Python's 1e-05):
	// it is kept as a lab writes it, 0.00001.
	if strings.ContainsAny(string(*v), "eE") {
		if f, err := n.Float64(); err == nil {
			*v = Value(strconv.FormatFloat(f, 'f', -1, 64))
		}
	}
	return nil
}

// Entry is a request to enter results. Message names an analyser's message
// ("sender|control id") so that it is stored once; Reason is required when
// the sample's report was already released.
type Entry struct {
	Results []ResultIn `json:"results"`
	Reason  string     `json:"reason"`
	Source  string     `json:"-"` // manual | analyser
	Message string     `json:"-"`
}

// AddResults enters values on a received sample: each is checked against
// its analyte (a number where one is expected) and flagged for the patient's
// sex and age at collection. A value equal to the current one is not
// entered again. It returns the sample and whether anything was entered.
func AddResults(tx *node.Tx, typed string, in Entry) (*Sample, bool, error) {
	s, err := sampleForChange(tx, typed)
	if err != nil {
		return nil, false, err
	}
	if s.Received == "" {
		return nil, false, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sample " + s.Accession + " has not been received in the lab; scan it in first."}
	}
	f := kavach.Fields{}
	if len(in.Results) == 0 {
		f.Add("results", "Enter at least one result")
	}
	if len(in.Results) > 200 {
		f.Add("results", "At most 200 results at once")
	}
	in.Reason = strings.TrimSpace(in.Reason)
	f.Note("reason", in.Reason, 500)
	current := map[string]*Result{}
	loinc := map[string]string{}
	for i := range s.Results {
		current[s.Results[i].Analyte] = &s.Results[i]
		if a, err := analyteCached(tx, s.Results[i].Analyte); err == nil && a.LOINC != "" {
			loinc[a.LOINC] = a.Code
		}
	}
	var out []ResultValue
	seen := map[string]bool{}
	for i, r := range in.Results {
		field := fmt.Sprintf("results[%d]", i)
		code := strings.ToUpper(strings.TrimSpace(r.Analyte))
		if c, ok := loinc[code]; ok {
			code = c
		}
		cur, ok := current[code]
		if !ok {
			f.Add(field+".analyte", code+" was not ordered on sample "+s.Accession)
			continue
		}
		if seen[code] {
			f.Add(field+".analyte", code+" is given twice")
			continue
		}
		seen[code] = true
		a, err := analyteCached(tx, code)
		if err != nil {
			return nil, false, err
		}
		value := strings.TrimSpace(string(r.Value))
		if msg := a.checkValue(value); msg != "" {
			f.Add(field+".value", msg)
			continue
		}
		if cur.Status != "pending" && cur.Value == value {
			continue
		}
		flag, rng := a.Flag(value, s.Sex, s.AgeDays)
		out = append(out, ResultValue{Analyte: code, Flag: flag, Range: rng, Test: cur.Test, Unit: a.Unit, Value: value})
	}
	if s.releaseStamp != "" && len(out) > 0 && in.Reason == "" {
		f.Add("reason", "The report was released; say why the result changes")
	}
	if err := f.Err(); err != nil {
		return nil, false, err
	}
	if len(out) == 0 {
		return s, false, nil
	}
	if in.Source == "" {
		in.Source = "manual"
	}
	if _, err := node.Emit(tx, ResultsEntered, Resulted{Accession: s.Accession, Message: in.Message, Reason: in.Reason, Results: out, Source: in.Source}); err != nil {
		return nil, false, err
	}
	s, err = GetSample(tx.Context(), tx, s.Accession)
	return s, true, err
}

func analyteCached(tx *node.Tx, code string) (*Analyte, error) {
	v, err := tx.Cached("lab.analyte:"+code, func() (any, error) { return GetAnalyte(tx.Context(), tx, code) })
	if err != nil {
		return nil, err
	}
	return v.(*Analyte), nil
}

func splitMessage(m string) (sender, id string, ok bool) {
	sender, id, ok = strings.Cut(m, "|")
	return sender, id, ok && id != ""
}

// Verify releases the sample's report: every result must be in. verifier
// is the pathologist's full name, as the report prints it. A sample whose
// current results are released already is a conflict.
func Verify(tx *node.Tx, typed, verifier string) (*Sample, *Released, error) {
	ctx := tx.Context()
	s, err := sampleForChange(tx, typed)
	if err != nil {
		return nil, nil, err
	}
	switch s.Status {
	case StatusVerified:
		return nil, nil, &kavach.Error{Code: kavach.ECONFLICT, Message: fmt.Sprintf("Sample %s is already verified (report version %d).", s.Accession, s.Version)}
	case StatusResulted:
	default:
		var missing []string
		for _, r := range s.Results {
			if r.Status == "pending" {
				missing = append(missing, r.Analyte)
			}
		}
		return nil, nil, &kavach.Error{Code: kavach.ECONFLICT, Message: "Sample " + s.Accession + " has no result yet for " + strings.Join(missing, ", ") + "."}
	}
	p, err := registration.Get(ctx, tx, s.UHID)
	if err != nil {
		return nil, nil, err
	}
	o, err := GetOrder(ctx, tx, s.OrderID)
	if err != nil {
		return nil, nil, err
	}
	rel := Released{Accession: s.Accession, Version: s.Version + 1}
	if rel.Version > 1 {
		// The reason is that of the newest change after the last release.
		if err := tx.QueryRow(`SELECT reason FROM lab_results WHERE accession = ? ORDER BY stamp DESC LIMIT 1`, s.Accession).Scan(&rel.Reason); err != nil {
			return nil, nil, err
		}
		if rel.Reason == "" {
			rel.Reason = "Results changed after release"
		}
	}
	orderedBy := o.OrderedBy
	if o.Source == "outside" {
		orderedBy = "Outside prescription: " + o.Prescriber
	}
	c := ReportContent{AgeSex: s.Age + " / " + s.Sex, Collected: s.Collected, Container: s.Container,
		Hospital: tx.Node().Info().HospitalName, Name: p.Name, NameHi: p.NameHi, OrderedBy: orderedBy, Priority: s.Priority,
		Received: s.Received, Released: tx.Now.UTC().Format(journal.TimeFormat), Specimen: s.Specimen,
		UHID: s.UHID, VerifiedBy: verifier}
	for _, code := range s.Tests {
		t, err := testCached(tx, code)
		if err != nil {
			return nil, nil, err
		}
		rt := ReportedTest{Code: t.Code, Name: t.Name}
		for _, r := range s.Results {
			if r.Test == code {
				rt.Results = append(rt.Results, ReportedResult{Code: r.Analyte, Flag: r.Flag, Name: r.Name, Range: r.Range, Unit: r.Unit, Value: r.Value})
			}
		}
		c.Tests = append(c.Tests, rt)
	}
	rel.Report = c
	if _, err := node.Emit(tx, ReportReleased, rel); err != nil {
		return nil, nil, err
	}
	s, err = GetSample(ctx, tx, s.Accession)
	return s, &rel, err
}

// Call records who was told of a critical value.
type Call struct {
	Analyte  string `json:"analyte"`
	CalledTo string `json:"called_to"`
	CalledAt string `json:"called_at"` // "04-12-2026 10:15" or "2026-12-04T10:15", hospital time; empty: now
	Notes    string `json:"notes"`
}

// RecordCall records that a critical value was told to someone.
func RecordCall(tx *node.Tx, typed string, c Call) (*Sample, error) {
	s, err := GetSample(tx.Context(), tx, typed)
	if err != nil {
		return nil, err
	}
	f := kavach.Fields{}
	c.CalledTo = strings.Join(strings.Fields(c.CalledTo), " ")
	if c.CalledTo == "" {
		f.Add("called_to", "Name who was told, and where")
	}
	f.Note("called_to", c.CalledTo, 120)
	f.Note("notes", c.Notes, 500)
	at := tx.Now
	if strings.TrimSpace(c.CalledAt) != "" {
		t, ok := kavach.ParseTime(c.CalledAt)
		if !ok {
			f.Add("called_at", "Time must be like 04-12-2026 10:15")
		} else if t.After(tx.Now.Add(time.Minute)) {
			f.Add("called_at", "The call cannot be in the future")
		} else {
			at = t
		}
	}
	code := strings.ToUpper(strings.TrimSpace(c.Analyte))
	var r *Result
	for i := range s.Results {
		if s.Results[i].Analyte == code {
			r = &s.Results[i]
		}
	}
	if r == nil || (r.Flag != "HH" && r.Flag != "LL") {
		f.Add("analyte", "Sample "+s.Accession+" has no critical value of "+code)
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if _, err := node.Emit(tx, CriticalCalled, Called{Accession: s.Accession, Analyte: code, CalledAt: at.UTC().Format(journal.TimeFormat),
		CalledTo: c.CalledTo, Notes: strings.TrimSpace(c.Notes), Value: r.Value}); err != nil {
		return nil, err
	}
	return GetSample(tx.Context(), tx, s.Accession)
}

// WorkItem is a sample on a section's worklist.
type WorkItem struct {
	Accession string   `json:"accession"`
	UHID      string   `json:"uhid"`
	Name      string   `json:"name"`
	AgeSex    string   `json:"age_sex"`
	Priority  string   `json:"priority"`
	Received  string   `json:"received_at"`
	Tests     []string `json:"tests"`
}

// Worklist lists a section's pending samples, urgent first, then by time of
// receipt, at most limit of them, and how many are pending in all.
func Worklist(ctx context.Context, db journal.DBTX, section string, limit int) ([]WorkItem, int, error) {
	var total int
	err := db.QueryRowContext(ctx, `SELECT pending FROM lab_worklist_counts WHERE section = ?`, section).Scan(&total)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("lab: worklist %s: %w", section, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT w.accession, s.uhid, s.age, s.sex, s.priority, w.received FROM lab_worklist w
		JOIN lab_samples s ON s.accession = w.accession
		WHERE w.section = ? AND w.pending = 1 ORDER BY w.rank, w.received, w.accession LIMIT ?`, section, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("lab: worklist %s: %w", section, err)
	}
	items := []WorkItem{}
	var uhids []string
	for rows.Next() {
		var w WorkItem
		var age, sex string
		if err := rows.Scan(&w.Accession, &w.UHID, &age, &sex, &w.Priority, &w.Received); err != nil {
			rows.Close()
			return nil, 0, err
		}
		w.AgeSex = age + " / " + sex
		items = append(items, w)
		uhids = append(uhids, w.UHID)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	ps, err := registration.GetMany(ctx, db, uhids)
	if err != nil {
		return nil, 0, err
	}
	for i := range items {
		if p := ps[items[i].UHID]; p != nil {
			items[i].Name = p.Name
		}
		if items[i].Tests, err = sampleTests(ctx, db, items[i].Accession, section); err != nil {
			return nil, 0, err
		}
	}
	return items, total, nil
}

func sampleTests(ctx context.Context, db journal.DBTX, acc, section string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT st.test FROM lab_sample_tests st JOIN lab_tests t ON t.code = st.test
		WHERE st.accession = ? AND (t.section = ? OR ? = '') ORDER BY st.position`, acc, section, section)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// Critical is a critical value not yet told to anyone.
type Critical struct {
	Accession string `json:"accession"`
	UHID      string `json:"uhid"`
	Analyte   string `json:"analyte"`
	Value     string `json:"value"`
	Unit      string `json:"unit"`
	Flag      string `json:"flag"`
	Entered   string `json:"entered_at"`
}

// Criticals lists critical values that no one has recorded a call for.
func Criticals(ctx context.Context, db journal.DBTX) ([]Critical, error) {
	rows, err := db.QueryContext(ctx, `SELECT r.accession, s.uhid, r.analyte, r.value, r.unit, r.flag, r.entered FROM lab_results r
		JOIN lab_samples s ON s.accession = r.accession
		WHERE r.flag IN ('HH', 'LL') AND r.call_stamp < r.stamp AND s.rejected_stamp = '' ORDER BY r.entered LIMIT 500`)
	if err != nil {
		return nil, fmt.Errorf("lab: criticals: %w", err)
	}
	defer rows.Close()
	out := []Critical{}
	for rows.Next() {
		var c Critical
		if err := rows.Scan(&c.Accession, &c.UHID, &c.Analyte, &c.Value, &c.Unit, &c.Flag, &c.Entered); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// PatientSamples lists the samples of the given records, newest first,
// with results: one patient's, or a surviving record's family
// (registration.Family); each sample names its own UHID.
func PatientSamples(ctx context.Context, db journal.DBTX, uhids ...string) ([]Sample, error) {
	if len(uhids) == 0 {
		return nil, nil
	}
	in, args := inList(uhids)
	rows, err := db.QueryContext(ctx, `SELECT `+sampleCols+` FROM lab_samples s JOIN lab_orders o ON o.id = s.order_id
		WHERE s.uhid IN `+in+` ORDER BY s.collected DESC, s.accession DESC LIMIT 100`, args...)
	if err != nil {
		return nil, fmt.Errorf("lab: samples of %s: %w", uhids[0], err)
	}
	var ss []Sample
	for rows.Next() {
		s, err := scanSample(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		ss = append(ss, *s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range ss {
		if err := ss[i].load(ctx, db); err != nil {
			return nil, err
		}
	}
	return ss, nil
}
