package audit_test

import (
	"context"
	"testing"

	"kavach/audit"
	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/registration"
)

// TestService runs the audit trail through the suite every service runs:
// a record seen by a doctor, several by a search.
func TestService(t *testing.T) {
	servicetest.Run(t, "audit", func(t *testing.T, n *servicetest.Node) {
		var uhids []string
		for _, mobile := range []string{"9810000001", "9810000002"} {
			n.Do(t, "registration", func(tx *node.Tx) error {
				age := 50
				r, err := registration.Register(tx, &registration.NewPatient{Name: "Ram Kumar", Sex: "M", AgeYears: &age,
					Mobile: mobile, Address: "Rohini", GuardianName: "Kishan"})
				if err == nil {
					uhids = append(uhids, r.Patient.UHID)
				}
				return err
			})
		}
		ctx := context.Background()
		if err := audit.Viewed(ctx, n.Node, "doctor", "api.patient", uhids[0]); err != nil {
			t.Fatal(err)
		}
		if err := audit.Viewed(ctx, n.Node, "registration", "page.search", uhids...); err != nil {
			t.Fatal(err)
		}
	})
}
