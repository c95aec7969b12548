package lab

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"kavach/journal"
	"kavach/registration"
)

// The reads the lab's pages need beyond the API's.

// AwaitingItem is a sample whose every result is in and waits for a
// pathologist to verify it.
type AwaitingItem struct {
	Accession string
	UHID      string
	Name      string
	AgeSex    string
	Priority  string
	Received  string
	Tests     []string
	Version   int // the released version it would replace; 0: a first release
}

// awaitingScan bounds the samples AwaitingVerification reads to find the
// resulted ones: a lab's backlog of received samples with some results.
const awaitingScan = 5000

// AwaitingVerification lists samples awaiting verification: received,
// every result in, and never released or changed since release; urgent
// first, then by time of receipt, at most limit of them, and how many
// await in all.
func AwaitingVerification(ctx context.Context, db journal.DBTX, limit int) ([]AwaitingItem, int, error) {
	secs := slices.Sorted(maps.Keys(Sections))
	args := make([]any, 0, len(secs)+1)
	for _, s := range secs {
		args = append(args, s)
	}
	args = append(args, awaitingScan)
	// The worklist's pending rows are the samples received and not
	// released (or changed since); its index leads by section.
	rows, err := db.QueryContext(ctx, `SELECT s.accession, s.uhid, s.age, s.sex, s.priority, s.received, s.version FROM lab_samples s
		WHERE s.accession IN (SELECT w.accession FROM lab_worklist w WHERE w.section IN (?`+strings.Repeat(", ?", len(secs)-1)+`) AND w.pending = 1)
		AND s.result_stamp <> '' AND s.rejected_stamp = ''
		ORDER BY CASE WHEN s.priority = 'urgent' THEN 0 ELSE 1 END, s.received, s.accession LIMIT ?`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("lab: awaiting verification: %w", err)
	}
	var cands []AwaitingItem
	for rows.Next() {
		var a AwaitingItem
		var age, sex string
		if err := rows.Scan(&a.Accession, &a.UHID, &age, &sex, &a.Priority, &a.Received, &a.Version); err != nil {
			rows.Close()
			return nil, 0, err
		}
		a.AgeSex = age + " / " + sex
		cands = append(cands, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	tests := map[string][]string{} // test → its analytes
	items := []AwaitingItem{}
	total := 0
	for _, a := range cands {
		ok, ts, err := allResulted(ctx, db, a.Accession, tests)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue
		}
		total++
		if len(items) < limit {
			a.Tests = ts
			items = append(items, a)
		}
	}
	uhids := make([]string, len(items))
	for i := range items {
		uhids[i] = items[i].UHID
	}
	ps, err := registration.GetMany(ctx, db, uhids)
	if err != nil {
		return nil, 0, err
	}
	for i := range items {
		if p := ps[items[i].UHID]; p != nil {
			items[i].Name = p.Name
		}
	}
	return items, total, nil
}

// allResulted reports whether every analyte of the sample's tests has a
// result, as GetSample's status counts them, and returns the tests.
// analytes caches each test's analytes across calls.
func allResulted(ctx context.Context, db journal.DBTX, acc string, analytes map[string][]string) (bool, []string, error) {
	ts, err := sampleTests(ctx, db, acc, "")
	if err != nil {
		return false, nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT analyte FROM lab_results WHERE accession = ?`, acc)
	if err != nil {
		return false, nil, fmt.Errorf("lab: results of %s: %w", acc, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			rows.Close()
			return false, nil, err
		}
		have[a] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, nil, err
	}
	for _, code := range ts {
		as, ok := analytes[code]
		if !ok {
			if t, err := GetTest(ctx, db, code); err == nil {
				as = t.Analytes
			}
			analytes[code] = as
		}
		for _, a := range as {
			if !have[a] {
				return false, ts, nil
			}
		}
	}
	return true, ts, nil
}

// NeedsCall reports whether a result is a critical value that no one has
// been told of since it was entered.
func (r Result) NeedsCall() bool {
	return (r.Flag == "HH" || r.Flag == "LL") && r.callStamp < r.stamp
}

// Critical reports whether a result is beyond a critical limit.
func (r Result) Critical() bool { return r.Flag == "HH" || r.Flag == "LL" }

// OrderHasResults reports whether any of an order's samples (not
// rejected) has results: such an order can no longer be cancelled.
func OrderHasResults(ctx context.Context, db journal.DBTX, id string) (bool, error) {
	var resulted bool
	err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM lab_samples WHERE order_id = ? AND result_stamp <> '' AND rejected_stamp = '')`, id).Scan(&resulted)
	if err != nil {
		return false, fmt.Errorf("lab: order %s results: %w", id, err)
	}
	return resulted, nil
}

// SectionPending is each section's count of pending samples, as the
// worklist keeps it (lab_worklist_counts).
func SectionPending(ctx context.Context, db journal.DBTX) (map[string]int, error) {
	rows, err := db.QueryContext(ctx, `SELECT section, pending FROM lab_worklist_counts`)
	if err != nil {
		return nil, fmt.Errorf("lab: worklist counts: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// StatusText is a sample's status as the pages say it (and the key of its
// Hindi).
func (s Sample) StatusText() string {
	switch s.Status {
	case StatusPartial:
		return "in progress"
	case StatusResulted:
		return "awaiting verification"
	}
	return s.Status
}
