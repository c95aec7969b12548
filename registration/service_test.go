package registration_test

import (
	"testing"

	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/registration"
)

// TestService runs registration through the suite every service runs:
// patients registered, one amended twice, one merged into another.
func TestService(t *testing.T) {
	servicetest.Run(t, "registration", func(t *testing.T, n *servicetest.Node) {
		var uhids []string
		for i, name := range []string{"Ramesh Kumar", "Suresh Kumar", "Mahesh Kumar"} {
			n.Do(t, "registration", func(tx *node.Tx) error {
				age := 30 + i
				r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "M", AgeYears: &age,
					Mobile: "987650000" + string(rune('1'+i)), Address: "House " + n.Variant, GuardianName: "Kishan Lal"})
				if err == nil {
					uhids = append(uhids, r.Patient.UHID)
				}
				return err
			})
		}
		for _, a := range []registration.Amendment{
			{UHID: uhids[0], Changes: map[string]string{"mobile": "9876511111", "address": "New house " + n.Variant}, Reason: "moved"},
			{UHID: uhids[0], Changes: map[string]string{"name": "Ramesh Kumar Sharma", "date_of_birth": "1980-02-02"}, Reason: "card"},
		} {
			n.Do(t, "registration", func(tx *node.Tx) error {
				_, err := registration.Amend(tx, a)
				return err
			})
		}
		n.Do(t, "registration", func(tx *node.Tx) error {
			return registration.MergeInto(tx, registration.Merge{From: uhids[2], Into: uhids[1], Reason: "the same man"})
		})
	})
}
