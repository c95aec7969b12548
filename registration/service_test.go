package registration_test

import (
	"context"
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
		// A clerk asks, a second confirms; a records officer merges alone,
		// and undoes it.
		merge := func(user string, from, into int, direct bool) {
			n.Do(t, user, func(tx *node.Tx) error {
				_, err := registration.MergeInto(tx, registration.Merge{From: uhids[from], Into: uhids[into], Reason: "the same man"}, direct)
				return err
			})
		}
		merge("registration", 2, 1, false)
		merge("registration2", 2, 1, false)
		merge("records", 1, 0, true)
		n.Do(t, "records", func(tx *node.Tx) error {
			_, err := registration.Unmerge(tx, uhids[1], "not the same man after all")
			return err
		})
		// A site, cut off, registers a man the node registers too, and
		// changes a mobile number the node changes as well: both go on
		// the reconciliation list, and a clerk resolves them.
		n.Do(t, "registration", func(tx *node.Tx) error {
			_, err := registration.ReserveKit(tx, 10)
			return err
		})
		site := servicetest.Enrol(t, n.Hospital, "KS", "Counter "+n.Variant)
		servicetest.Exchange(t, n.Hospital, site.Hospital)
		for i, at := range []*servicetest.Node{n, site} {
			at.Do(t, "registration", func(tx *node.Tx) error {
				age := 52
				if _, err := registration.Register(tx, &registration.NewPatient{Name: "Gopal Das", Sex: "M", AgeYears: &age,
					Mobile: "9812300000", Address: "Lane " + n.Variant, GuardianName: "Hari Das"}); err != nil {
					return err
				}
				_, err := registration.Amend(tx, registration.Amendment{UHID: uhids[0], Changes: map[string]string{"mobile": "981230000" + string(rune('5'+i))}, Reason: "new phone"})
				return err
			})
		}
		servicetest.Exchange(t, n.Hospital, site.Hospital)
		items, err := registration.Worklist(context.Background(), n.Node.DB())
		if err != nil || len(items) != 2 {
			t.Fatalf("worklist: %+v %v", items, err)
		}
		for _, it := range items {
			n.Do(t, "registration", func(tx *node.Tx) error { return registration.Reconcile(tx, it.ID, "checked with the patient") })
		}
	})
}
