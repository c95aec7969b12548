// Package lab is the laboratory. For now it holds the test catalogue: what
// can be ordered, on which specimen, with its unit and reference range.
// Sample collection, accessioning, results and verification build on it.
package lab

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// Service is the lab's part of a node.
func Service() node.Service {
	return node.Service{
		Migrations: []node.Migration{{Name: "lab/001", SQL: `
CREATE TABLE lab_tests (
	code      TEXT PRIMARY KEY,
	name      TEXT NOT NULL,
	specimen  TEXT NOT NULL,
	container TEXT NOT NULL,
	unit      TEXT NOT NULL,
	ref_range TEXT NOT NULL
) WITHOUT ROWID;
`}},
		Projectors: map[string]node.Projector{"lab.test_defined": applyTest},
	}
}

// Test is one orderable test.
type Test struct {
	Code      string `json:"code"`
	Container string `json:"container"` // "EDTA (purple)", "Plain (red)"
	Name      string `json:"name"`
	RefRange  string `json:"ref_range"`
	Specimen  string `json:"specimen"` // "Blood", "Urine", "Serum"
	Unit      string `json:"unit"`
}

func applyTest(tx *node.Tx, e *journal.Event) error {
	var t Test
	if err := journal.Unmarshal(e, &t); err != nil {
		return err
	}
	_, err := tx.Exec(`INSERT INTO lab_tests (code, name, specimen, container, unit, ref_range) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, specimen = excluded.specimen, container = excluded.container,
		unit = excluded.unit, ref_range = excluded.ref_range`, t.Code, t.Name, t.Specimen, t.Container, t.Unit, t.RefRange)
	return err
}

var codeRE = regexp.MustCompile(`^[A-Z0-9]{2,12}$`)

// DefineTest journals a catalogue entry.
func DefineTest(tx *node.Tx, t Test) error {
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
	if err := f.Err(); err != nil {
		return err
	}
	_, err := tx.Emit("lab.test_defined", t)
	return err
}

// Tests lists the catalogue.
func Tests(ctx context.Context, db journal.DBTX) ([]Test, error) {
	rows, err := db.QueryContext(ctx, `SELECT code, name, specimen, container, unit, ref_range FROM lab_tests ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("lab: tests: %w", err)
	}
	defer rows.Close()
	var ts []Test
	for rows.Next() {
		var t Test
		if err := rows.Scan(&t.Code, &t.Name, &t.Specimen, &t.Container, &t.Unit, &t.RefRange); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}
