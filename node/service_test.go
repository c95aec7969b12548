package node_test

import (
	"context"
	"testing"

	"kavach/internal/servicetest"
)

// TestService runs the node's own events through the suite every service
// runs: a node starts (its identity and key) and is marked restored.
func TestService(t *testing.T) {
	servicetest.Run(t, "node", func(t *testing.T, n *servicetest.Node) {
		if err := n.Node.MarkRestored(context.Background(), 5, "checkpoint"); err != nil {
			t.Fatal(err)
		}
	})
}
