// Package lab is the laboratory, from the doctor's order to the verified
// report: the catalogue of tests and analytes, orders, collection with an
// accession number and label per container, receipt and rejection in the
// lab, results entered by hand or sent by analysers over HL7, flags and
// critical values, the pathologist's verification and release, and the
// report PDF whose QR code proves it against the journal.
package lab

import (
	"context"
	"database/sql"
	"embed"
	"regexp"
	"strings"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Data is the lab's part of a node: its tables and events.
func Data() node.Service {
	return node.Service{
		Name: "lab",
		Migrations: node.Migrations("lab", migrationFS, "migrations", map[string]func(context.Context, *sql.Tx) error{
			"002": node.Reapply(TestDefined, func(ctx context.Context, tx *sql.Tx, e *journal.Event, t *Definition) error {
				return setTest(ctx, tx, t, node.Stamp(e))
			}),
		}),
		// A test holds its newest definition (last writer wins by node.Stamp).
		Events: events,
	}
}

// TestDefined is the lab's event type for the catalogue: a test
// defined or changed. Its payload is a frozen contract (docs/architecture.md).
const TestDefined node.Event[Definition] = "lab.test_defined"

// Definition is the payload of lab.test_defined.
type Definition struct {
	Code      string `json:"code"`
	Container string `json:"container"`
	Name      string `json:"name"`
	RefRange  string `json:"ref_range"`
	Specimen  string `json:"specimen"`
	Unit      string `json:"unit"`
}

// Test is an entry of the first catalogue (lab.test_defined): a test with
// its range in words and no analytes, which cannot be ordered until it is
// specified again with its analytes (SpecifyTest).
type Test struct {
	Code      string `json:"code"`
	Name      string `json:"name"`
	Specimen  string `json:"specimen"`  // "Blood", "Urine", "Serum"
	Container string `json:"container"` // "EDTA (purple)", "Plain (red)"
	Unit      string `json:"unit"`
	RefRange  string `json:"ref_range"`
}

func applyTest(p *node.Projection, e *journal.Event, t *Definition) error {
	p.ForgetCached()
	stamp := node.Stamp(e)
	if err := setTest(p.Context(), p, t, stamp); err != nil {
		return err
	}
	// The newest definition is the whole test, whichever arrived first: a
	// lab.test_defined newer than every lab.test_specified leaves a test
	// without analytes, as it defines it (migration 002's Go step, which
	// also calls setTest, runs before these columns exist).
	_, err := p.Exec(`UPDATE lab_tests SET section = '', tat_minutes = 0, analytes = '' WHERE code = ? AND stamp = ?`, t.Code, stamp)
	return err
}

func setTest(ctx context.Context, db journal.DBTX, t *Definition, stamp string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO lab_tests (code, name, specimen, container, unit, ref_range, stamp) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (code) DO UPDATE SET name = excluded.name, specimen = excluded.specimen, container = excluded.container,
		unit = excluded.unit, ref_range = excluded.ref_range, stamp = excluded.stamp
		WHERE excluded.stamp > lab_tests.stamp`, t.Code, t.Name, t.Specimen, t.Container, t.Unit, t.RefRange, stamp)
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
	for field, v := range map[string]string{"name": t.Name, "specimen": t.Specimen, "container": t.Container, "unit": t.Unit, "ref_range": t.RefRange} {
		f.Text(field, v)
	}
	if err := f.Err(); err != nil {
		return err
	}
	_, err := node.Emit(tx, TestDefined, Definition{Code: t.Code, Container: t.Container, Name: t.Name,
		RefRange: t.RefRange, Specimen: t.Specimen, Unit: t.Unit})
	return err
}
