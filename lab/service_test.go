package lab_test

import (
	"testing"

	"kavach/internal/servicetest"
	"kavach/lab"
	"kavach/node"
)

// TestService runs the lab's catalogue through the suite every service
// runs: a test defined on each node, differently.
func TestService(t *testing.T) {
	servicetest.Run(t, "lab", func(t *testing.T, n *servicetest.Node) {
		n.Do(t, "admin", func(tx *node.Tx) error {
			return lab.DefineTest(tx, lab.Test{Code: "CBC", Name: "Complete blood count " + n.Variant, Specimen: "Blood",
				Container: "EDTA (purple)", RefRange: "see report"})
		})
	})
}
