package opd_test

import (
	"testing"
	"time"

	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// TestService runs the OPD through the suite every service runs: a
// department changed, visits opened, one seen, undone and seen again.
func TestService(t *testing.T) {
	servicetest.Run(t, "opd", func(t *testing.T, n *servicetest.Node) {
		n.Do(t, "admin", func(tx *node.Tx) error {
			return opd.AddDepartment(tx, opd.Department{Code: "MED", Name: "General Medicine " + n.Variant, Room: "10" + n.Variant,
				Days: "Mon–Sat", Unit: "Unit I", Doctor: "Dr. A. Sharma"})
		})
		var visit *opd.Visit
		n.Do(t, "registration", func(tx *node.Tx) error {
			age := 40
			r, err := registration.Register(tx, &registration.NewPatient{Name: "Kamla Devi", Sex: "F", AgeYears: &age,
				Mobile: "9811100000", Address: "Dwarka", GuardianName: "Shyam Lal"})
			if err != nil {
				return err
			}
			if _, err := opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "MED"}); err != nil {
				return err
			}
			visit, err = opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "ENT"})
			if err != nil {
				return err
			}
			// A second MED token the same day, on purpose.
			_, err = opd.Open(tx, opd.NewVisit{UHID: r.Patient.UHID, Department: "MED", NewToken: true, Reason: "Lost the first slip " + n.Variant})
			return err
		})
		n.Do(t, "doctor", func(tx *node.Tx) error {
			_, err := opd.MarkSeen(tx, visit.ID)
			return err
		})
		// Seen by mistake, undone, and seen again.
		n.Do(t, "doctor", func(tx *node.Tx) error {
			if _, err := opd.MarkUnseen(tx, visit.ID); err != nil {
				return err
			}
			_, err := opd.MarkSeen(tx, visit.ID)
			return err
		})
		// A downtime sheet, filled in on paper an hour ago, entered.
		n.Do(t, "registration", func(tx *node.Tx) error {
			k, err := registration.ReserveKit(tx, 2)
			if err != nil {
				return err
			}
			age := 61
			p, err := (&registration.NewPatient{Name: "Bhola Nath", Sex: "M", AgeYears: &age, Mobile: "9811100001",
				Address: "Paper Lane", GuardianName: "Ram Nath"}).Validate(tx.Now)
			if err != nil {
				return err
			}
			_, err = opd.EnterSheet(tx, p, opd.Sheet{UHID: k.First, Department: "MED", SeenAt: tx.Now.Add(-time.Hour), PaperToken: "14"})
			return err
		})
	})
}
