package lab

import (
	"encoding/hex"
	"fmt"

	"kavach/billing"
	"kavach/idcode"
	"kavach/journal"
	"kavach/node"
)

// The lab's event types. Their payloads are frozen contracts
// (docs/architecture.md): a change is a new type, never an edit.
const (
	AnalyteSet     node.Event[AnalyteDefined] = "lab.analyte_defined"
	TestSet        node.Event[TestSpecified]  = "lab.test_specified"
	OrderPlaced    node.Event[Ordered]        = "lab.ordered"
	OrderCancelled node.Event[Cancelled]      = "lab.order_cancelled"
	SampleTaken    node.Event[Collected]      = "lab.collected"
	SampleReceived node.Event[Received]       = "lab.received"
	SampleRejected node.Event[Rejected]       = "lab.rejected"
	ResultsEntered node.Event[Resulted]       = "lab.resulted"
	ReportReleased node.Event[Released]       = "lab.released"
	CriticalCalled node.Event[Called]         = "lab.critical_called"
)

// Ordered is the payload of lab.ordered: tests ordered for a patient, by a
// doctor for a visit or from an outside prescription.
type Ordered struct {
	// Fees are the tests' prices for the patient's category when ordered,
	// in paise, one per test: what billing charges for them.
	Fees       []int64  `json:"fees_paise"`
	ID         string   `json:"order_id"`
	Notes      string   `json:"notes"`
	Prescriber string   `json:"prescriber"` // outside prescriptions: who wrote it
	Priority   string   `json:"priority"`   // routine | urgent
	Source     string   `json:"source"`     // doctor | outside
	Tests      []string `json:"tests"`
	UHID       string   `json:"uhid"`
	VisitID    string   `json:"visit_id"`
}

// Cancelled is the payload of lab.order_cancelled.
type Cancelled struct {
	ID     string `json:"order_id"`
	Reason string `json:"reason"`
}

// Collected is the payload of lab.collected: containers collected for an
// order, each with its accession number. The patient's sex and age at
// collection are in it, since a result's flags depend on them.
type Collected struct {
	AgeDays  int               `json:"age_days"`
	AgeText  string            `json:"age"`
	OrderID  string            `json:"order_id"`
	Priority string            `json:"priority"`
	Samples  []CollectedSample `json:"samples"`
	Sex      string            `json:"sex"`
	UHID     string            `json:"uhid"`
}

// CollectedSample is one container of a collection.
type CollectedSample struct {
	Accession string   `json:"accession"`
	Container string   `json:"container"`
	Sections  []string `json:"sections"`
	Specimen  string   `json:"specimen"`
	Tests     []string `json:"tests"`
}

// Received is the payload of lab.received: the lab scanned the sample in.
type Received struct {
	Accession string `json:"accession"`
}

// Rejected is the payload of lab.rejected: the sample cannot be run and
// its tests must be collected again.
type Rejected struct {
	Accession string `json:"accession"`
	Note      string `json:"note"`
	Reason    string `json:"reason"` // one of RejectReasons
}

// Resulted is the payload of lab.resulted: values entered by hand or sent
// by an analyser, each with the flag and range that applied to the patient
// at collection.
type Resulted struct {
	Accession string        `json:"accession"`
	Message   string        `json:"message"` // an analyser's "sender|control id"
	Reason    string        `json:"reason"`  // why, when the sample's report was released
	Results   []ResultValue `json:"results"`
	Source    string        `json:"source"` // manual | analyser
}

// ResultValue is one analyte's value in lab.resulted.
type ResultValue struct {
	Analyte string `json:"analyte"`
	Flag    string `json:"flag"`
	Range   string `json:"range"`
	Test    string `json:"test"`
	Unit    string `json:"unit"`
	Value   string `json:"value"`
}

// Released is the payload of lab.released: a pathologist verified the
// sample's results and released this version of its report. The report
// is whole in it, so that the PDF can be rendered again from the journal
// alone and proven (kavach verify-report).
type Released struct {
	Accession string        `json:"accession"`
	Reason    string        `json:"reason"` // why it replaces the version before
	Report    ReportContent `json:"report"`
	Version   int           `json:"version"`
}

// ReportContent is a released report as it is printed.
type ReportContent struct {
	AgeSex     string         `json:"age_sex"`
	Collected  string         `json:"collected"` // journal times (UTC)
	Container  string         `json:"container"`
	Hospital   string         `json:"hospital"`
	Name       string         `json:"name"`
	NameHi     string         `json:"name_hi"` // the name in Devanagari, if the record has it
	OrderedBy  string         `json:"ordered_by"`
	Priority   string         `json:"priority"`
	Received   string         `json:"received"`
	Released   string         `json:"released"`
	Specimen   string         `json:"specimen"`
	Tests      []ReportedTest `json:"tests"`
	UHID       string         `json:"uhid"`
	VerifiedBy string         `json:"verified_by"`
}

// ReportedTest is a test on a report.
type ReportedTest struct {
	Code    string           `json:"code"`
	Name    string           `json:"name"`
	Results []ReportedResult `json:"results"`
}

// ReportedResult is an analyte's line on a report.
type ReportedResult struct {
	Code  string `json:"code"`
	Flag  string `json:"flag"`
	Name  string `json:"name"`
	Range string `json:"range"`
	Unit  string `json:"unit"`
	Value string `json:"value"`
}

// Called is the payload of lab.critical_called: who was told of a critical
// value, when, by telephone or in person.
type Called struct {
	Accession string `json:"accession"`
	Analyte   string `json:"analyte"`
	CalledAt  string `json:"called_at"` // journal time
	CalledTo  string `json:"called_to"` // "Dr Mehta, ward 4"
	Notes     string `json:"notes"`
	Value     string `json:"value"` // the value told
}

// events are the lab's projectors. Each is a function of the set of
// events, whatever order events of several origins arrive in.
var events = []node.Handler{
	node.On(TestDefined, applyTest),
	node.On(AnalyteSet, applyAnalyte),
	node.On(TestSet, applyTestSpec),
	node.Issuing(node.On(OrderPlaced, applyOrdered), issuesOrder),
	node.On(OrderCancelled, applyCancelled),
	node.Issuing(node.On(SampleTaken, applyCollected), issuesSamples),
	node.On(SampleReceived, applyReceived),
	node.On(SampleRejected, applyRejected),
	node.On(ResultsEntered, applyResulted),
	node.On(ReportReleased, applyReleased),
	node.On(CriticalCalled, applyCalled),
}

const (
	orderCounter  = "lab.order"
	sampleCounter = "lab.sample"
)

// Identifiers: an order is XXR…, a sample's accession XXL…, both from the
// node's namespace with a check character.
func orderID(code string, serial int64) string { return idcode.Make(code+"R", serial, 8) }
func accession(code string, serial int64) string {
	return idcode.Make(code+"L", serial, 8)
}

func issuesOrder(ns node.Namespace, e *journal.Event, o *Ordered) error {
	if prefix, _, err := idcode.Parse(o.ID, 3); err != nil || prefix != ns.Code+"R" {
		return fmt.Errorf("lab order %s", o.ID)
	}
	return nil
}

func issuesSamples(ns node.Namespace, e *journal.Event, c *Collected) error {
	for _, s := range c.Samples {
		if prefix, _, err := idcode.Parse(s.Accession, 3); err != nil || prefix != ns.Code+"L" {
			return fmt.Errorf("accession %s", s.Accession)
		}
	}
	return nil
}

func applyOrdered(p *node.Projection, e *journal.Event, o *Ordered) error {
	_, err := p.Exec(`INSERT INTO lab_orders (id, uhid, visit_id, priority, source, prescriber, notes, ordered, ordered_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.UHID, o.VisitID, o.Priority, o.Source, o.Prescriber, o.Notes, e.Time.Format(journal.TimeFormat), e.Actor)
	if err != nil {
		return err
	}
	for i, t := range o.Tests {
		if _, err := p.Exec(`INSERT INTO lab_order_tests (order_id, position, test) VALUES (?, ?, ?)`, o.ID, i, t); err != nil {
			return err
		}
		// Each test is a charge on the patient's account at its price
		// when ordered, posted by the order itself.
		var fee int64
		if i < len(o.Fees) {
			fee = o.Fees[i]
		}
		if err := billing.Post(p, e, i, billing.Charge{UHID: o.UHID, Code: "lab." + t, Paise: fee, Source: "lab", SourceID: o.ID}); err != nil {
			return err
		}
	}
	if prefix, serial, err := idcode.Parse(o.ID, 3); err == nil && prefix == e.Origin+"R" {
		return p.RaiseCounter(e.Origin, orderCounter, serial)
	}
	return nil
}

func applyCancelled(p *node.Projection, e *journal.Event, c *Cancelled) error {
	// The order's charges go with it, paid or not: what was paid is credit
	// on the account, for the counter to refund.
	if err := billing.CancelSource(p, e, "lab", c.ID, "Lab order cancelled: "+c.Reason); err != nil {
		return err
	}
	stamp := node.Stamp(e)
	// The first cancellation is the one shown.
	if _, err := p.Exec(`UPDATE lab_orders SET cancelled = ?, cancelled_by = ?, cancel_reason = ?, cancel_stamp = ?
		WHERE id = ? AND (cancel_stamp = '' OR cancel_stamp > ?)`,
		e.Time.Format(journal.TimeFormat), e.Actor, c.Reason, stamp, c.ID, stamp); err != nil {
		return err
	}
	rows, err := p.Query(`SELECT accession FROM lab_samples WHERE order_id = ?`, c.ID)
	if err != nil {
		return err
	}
	var accs []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return err
		}
		accs = append(accs, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, a := range accs {
		if err := refresh(p, a); err != nil {
			return err
		}
	}
	return nil
}

func applyCollected(p *node.Projection, e *journal.Event, c *Collected) error {
	at := e.Time.Format(journal.TimeFormat)
	rank := 1
	if c.Priority == "urgent" {
		rank = 0
	}
	for _, s := range c.Samples {
		if _, err := p.Exec(`INSERT INTO lab_samples (accession, order_id, uhid, container, specimen, priority, sex, age_days, age, collected, collected_by)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.Accession, c.OrderID, c.UHID, s.Container, s.Specimen, c.Priority, c.Sex, c.AgeDays, c.AgeText, at, e.Actor); err != nil {
			return err
		}
		for i, t := range s.Tests {
			if _, err := p.Exec(`INSERT INTO lab_sample_tests (accession, position, test) VALUES (?, ?, ?)`, s.Accession, i, t); err != nil {
				return err
			}
		}
		for _, sec := range s.Sections {
			if _, err := p.Exec(`INSERT INTO lab_worklist (accession, section, rank, received, pending) VALUES (?, ?, ?, '', 0)`, s.Accession, sec, rank); err != nil {
				return err
			}
		}
		if prefix, serial, err := idcode.Parse(s.Accession, 3); err == nil && prefix == e.Origin+"L" {
			if err := p.RaiseCounter(e.Origin, sampleCounter, serial); err != nil {
				return err
			}
		}
	}
	return nil
}

// refresh sets a sample's place on the worklists from its columns, and
// the sections' counts by as much as it changed.
func refresh(p *node.Projection, acc string) error {
	before, err := pendingBySection(p, acc)
	if err != nil {
		return err
	}
	if _, err := p.Exec(`UPDATE lab_worklist SET
		received = (SELECT s.received FROM lab_samples s WHERE s.accession = lab_worklist.accession),
		pending = (SELECT CASE WHEN s.received_stamp <> '' AND s.rejected_stamp = ''
			AND (s.release_stamp = '' OR EXISTS (SELECT 1 FROM lab_results r WHERE r.accession = s.accession AND r.value <> r.released_value))
			AND o.cancel_stamp = '' THEN 1 ELSE 0 END
			FROM lab_samples s JOIN lab_orders o ON o.id = s.order_id WHERE s.accession = lab_worklist.accession)
		WHERE accession = ?`, acc); err != nil {
		return err
	}
	after, err := pendingBySection(p, acc)
	if err != nil {
		return err
	}
	for sec, n := range after {
		if d := n - before[sec]; d != 0 {
			if _, err := p.Exec(`INSERT INTO lab_worklist_counts (section, pending) VALUES (?, ?)
				ON CONFLICT (section) DO UPDATE SET pending = lab_worklist_counts.pending + excluded.pending`, sec, d); err != nil {
				return err
			}
		}
	}
	return nil
}

func pendingBySection(p *node.Projection, acc string) (map[string]int, error) {
	rows, err := p.Query(`SELECT section, pending FROM lab_worklist WHERE accession = ?`, acc)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var sec string
		var n int
		if err := rows.Scan(&sec, &n); err != nil {
			return nil, err
		}
		out[sec] = n
	}
	return out, rows.Err()
}

func applyReceived(p *node.Projection, e *journal.Event, r *Received) error {
	stamp := node.Stamp(e)
	if _, err := p.Exec(`UPDATE lab_samples SET received = ?, received_by = ?, received_stamp = ? WHERE accession = ? AND (received_stamp = '' OR received_stamp > ?)`,
		e.Time.Format(journal.TimeFormat), e.Actor, stamp, r.Accession, stamp); err != nil {
		return err
	}
	return refresh(p, r.Accession)
}

func applyRejected(p *node.Projection, e *journal.Event, r *Rejected) error {
	stamp := node.Stamp(e)
	if _, err := p.Exec(`UPDATE lab_samples SET rejected = ?, rejected_by = ?, reject_reason = ?, reject_note = ?, rejected_stamp = ?
		WHERE accession = ? AND (rejected_stamp = '' OR rejected_stamp > ?)`,
		e.Time.Format(journal.TimeFormat), e.Actor, r.Reason, r.Note, stamp, r.Accession, stamp); err != nil {
		return err
	}
	return refresh(p, r.Accession)
}

func applyResulted(p *node.Projection, e *journal.Event, r *Resulted) error {
	stamp, at := node.Stamp(e), e.Time.Format(journal.TimeFormat)
	for _, v := range r.Results {
		// The newest value of an analyte is its result (last writer wins).
		if _, err := p.Exec(`INSERT INTO lab_results (accession, analyte, test, value, unit, range_text, flag, entered, entered_by, source, reason, stamp)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (accession, analyte) DO UPDATE SET test = excluded.test, value = excluded.value, unit = excluded.unit,
			range_text = excluded.range_text, flag = excluded.flag, entered = excluded.entered, entered_by = excluded.entered_by,
			source = excluded.source, reason = excluded.reason, stamp = excluded.stamp
			WHERE excluded.stamp > lab_results.stamp`,
			r.Accession, v.Analyte, v.Test, v.Value, v.Unit, v.Range, v.Flag, at, e.Actor, r.Source, r.Reason, stamp); err != nil {
			return err
		}
	}
	if _, err := p.Exec(`UPDATE lab_samples SET result_stamp = ? WHERE accession = ? AND result_stamp < ?`, stamp, r.Accession, stamp); err != nil {
		return err
	}
	if sender, id, ok := splitMessage(r.Message); ok {
		if _, err := p.Exec(`INSERT INTO lab_hl7_messages (sender, control_id, accession) VALUES (?, ?, ?) ON CONFLICT (sender, control_id) DO NOTHING`,
			sender, id, r.Accession); err != nil {
			return err
		}
	}
	return refresh(p, r.Accession)
}

func applyReleased(p *node.Projection, e *journal.Event, r *Released) error {
	stamp := node.Stamp(e)
	leaf := hex.EncodeToString(journal.LeafHash(e.Encode()))
	if _, err := p.Exec(`INSERT INTO lab_reports (accession, origin, seq, version, released, released_by, reason, leaf) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Accession, e.Origin, e.Seq, r.Version, e.Time.Format(journal.TimeFormat), e.Actor, r.Reason, leaf); err != nil {
		return err
	}
	if _, err := p.Exec(`UPDATE lab_samples SET release_stamp = ? WHERE accession = ? AND release_stamp < ?`, stamp, r.Accession, stamp); err != nil {
		return err
	}
	// Each result holds the value the newest release reported.
	key := fmt.Sprintf("%06d|%s", r.Version, stamp)
	for _, t := range r.Report.Tests {
		for _, v := range t.Results {
			if _, err := p.Exec(`UPDATE lab_results SET released_value = ?, released_key = ? WHERE accession = ? AND analyte = ? AND released_key < ?`,
				v.Value, key, r.Accession, v.Code, key); err != nil {
				return err
			}
		}
	}
	if _, err := p.Exec(`UPDATE lab_samples SET version = ? WHERE accession = ? AND version < ?`, r.Version, r.Accession, r.Version); err != nil {
		return err
	}
	return refresh(p, r.Accession)
}

func applyCalled(p *node.Projection, e *journal.Event, c *Called) error {
	stamp := node.Stamp(e)
	_, err := p.Exec(`UPDATE lab_results SET called_to = ?, called_at = ?, called_by = ?, call_notes = ?, call_stamp = ?
		WHERE accession = ? AND analyte = ? AND call_stamp < ?`,
		c.CalledTo, c.CalledAt, e.Actor, c.Notes, stamp, c.Accession, c.Analyte, stamp)
	return err
}
