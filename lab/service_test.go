package lab_test

import (
	"errors"
	"testing"

	"kavach/internal/servicetest"
	"kavach/lab"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// TestService runs the lab through the suite every service runs: the
// catalogue changed, an order collected, one sample rejected and collected
// again, results (one critical, told to the ward), released, amended and
// released again, and an order cancelled.
func TestService(t *testing.T) {
	servicetest.Run(t, "lab", func(t *testing.T, n *servicetest.Node) {
		n.Do(t, "admin", func(tx *node.Tx) error {
			if err := lab.DefineTest(tx, lab.Test{Code: "ESR", Name: "ESR " + n.Variant, Specimen: "Blood",
				Container: "EDTA (purple)", RefRange: "0–20 mm/h"}); err != nil {
				return err
			}
			if err := lab.DefineAnalyte(tx, lab.Analyte{Code: "ESR", Name: "ESR " + n.Variant, Unit: "mm/h", LOINC: "4537-7",
				Ranges: []lab.Range{{High: "20"}}}); err != nil {
				return err
			}
			return lab.SpecifyTest(tx, lab.TestSpec{Code: "ESR", Name: "Erythrocyte sedimentation rate " + n.Variant, Specimen: "Blood",
				Container: "EDTA (purple)", Section: "HAEM", TATMinutes: 90, Analytes: []string{"ESR"}})
		})
		// Tests specified on one node and defined the old way (no
		// analytes) on the other, in both orders of time: the newer of the
		// two is the test, whichever arrives first.
		n.Do(t, "admin", func(tx *node.Tx) error {
			specify := func(code string) error {
				return lab.SpecifyTest(tx, lab.TestSpec{Code: code, Name: "ESR " + code + " " + n.Variant, Specimen: "Blood",
					Container: "EDTA (purple)", Section: "HAEM", TATMinutes: 90, Analytes: []string{"ESR"}})
			}
			define := func(code string) error {
				return lab.DefineTest(tx, lab.Test{Code: code, Name: "ESR " + code + " " + n.Variant, Specimen: "Blood",
					Container: "EDTA (purple)", Unit: "mm/h", RefRange: "0–20 mm/h"})
			}
			if n.Variant == "A" {
				return errors.Join(specify("ESR1H"), define("ESR2H"))
			}
			return errors.Join(define("ESR1H"), specify("ESR2H"))
		})
		var uhid, visit string
		n.Do(t, "registration", func(tx *node.Tx) error {
			age := 52
			r, err := registration.Register(tx, &registration.NewPatient{Name: "Ramesh Kumar", Sex: "M", AgeYears: &age,
				Mobile: "9811100002", Address: "Lajpat Nagar", GuardianName: "Mohan Lal"})
			if err != nil {
				return err
			}
			v, err := opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "MED"})
			uhid, visit = r.Patient.UHID, v.ID
			return err
		})
		var order, cancel *lab.Order
		n.Do(t, "doctor", func(tx *node.Tx) error {
			var err error
			if order, err = lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, VisitID: visit, Tests: []string{"CBC", "GLUF", "ESR"}, Priority: "urgent"}, true); err != nil {
				return err
			}
			cancel, err = lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, Tests: []string{"LFT"}, Prescriber: "Dr. Outside " + n.Variant}, false)
			return err
		})
		n.Do(t, "doctor", func(tx *node.Tx) error {
			_, err := lab.CancelOrder(tx, cancel.ID, "Ordered twice "+n.Variant)
			return err
		})
		var first *lab.Collected
		n.Do(t, "lab", func(tx *node.Tx) error {
			var err error
			first, err = lab.Collect(tx, order.ID)
			return err
		})
		edta, fluoride := first.Samples[0].Accession, first.Samples[1].Accession
		n.Do(t, "lab", func(tx *node.Tx) error {
			if _, err := lab.Receive(tx, fluoride); err != nil {
				return err
			}
			_, err := lab.Reject(tx, edta, "haemolysed", "")
			return err
		})
		var again *lab.Collected
		n.Do(t, "lab", func(tx *node.Tx) error {
			var err error
			if again, err = lab.Collect(tx, order.ID); err != nil {
				return err
			}
			_, err = lab.Receive(tx, again.Samples[0].Accession)
			return err
		})
		edta = again.Samples[0].Accession
		n.Do(t, "lab", func(tx *node.Tx) error {
			if _, _, err := lab.AddResults(tx, edta, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "13.5"}, {Analyte: "WBC", Value: "11.8"},
				{Analyte: "PLT", Value: "140"}, {Analyte: "RBC", Value: "4.6"}, {Analyte: "HCT", Value: "41"}, {Analyte: "MCV", Value: "88"},
				{Analyte: "MCH", Value: "29"}, {Analyte: "MCHC", Value: "33"}, {Analyte: "RDW", Value: "12.5"}, {Analyte: "MPV", Value: "9.1"},
				{Analyte: "ESR", Value: "12"}}}); err != nil {
				return err
			}
			_, _, err := lab.AddResults(tx, fluoride, lab.Entry{Results: []lab.ResultIn{{Analyte: "GLU", Value: "480"}},
				Source: "analyser", Message: "XN-550|MSG" + n.Variant})
			return err
		})
		n.Do(t, "lab", func(tx *node.Tx) error {
			_, err := lab.RecordCall(tx, fluoride, lab.Call{Analyte: "GLU", CalledTo: "Dr. Mehta, MED " + n.Variant, Notes: "read back"})
			return err
		})
		n.Do(t, "pathologist", func(tx *node.Tx) error {
			if _, _, err := lab.Verify(tx, edta, "Dr. P. Path"); err != nil {
				return err
			}
			_, _, err := lab.Verify(tx, fluoride, "Dr. P. Path")
			return err
		})
		n.Do(t, "lab", func(tx *node.Tx) error {
			_, _, err := lab.AddResults(tx, edta, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "12.5"}}, Reason: "Transcription error " + n.Variant})
			return err
		})
		n.Do(t, "pathologist", func(tx *node.Tx) error {
			_, _, err := lab.Verify(tx, edta, "Dr. P. Path")
			return err
		})
	})
}
