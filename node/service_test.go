package node_test

import (
	"context"
	"testing"

	"kavach/internal/servicetest"
)

// TestService runs the node's own events through the suite every service
// runs: a node starts (its identity and key), is marked restored and
// repaired (with nothing to repair).
func TestService(t *testing.T) {
	servicetest.Run(t, "node", func(t *testing.T, n *servicetest.Node) {
		if err := n.Node.MarkRestored(context.Background(), 5, "checkpoint"); err != nil {
			t.Fatal(err)
		}
		if err := n.Node.Repair(context.Background(), "admin", "a look at a clean node", nil); err != nil {
			t.Fatal(err)
		}
	})
}
