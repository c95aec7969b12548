package node_test

import (
	"context"
	"testing"

	"kavach/internal/servicetest"
	"kavach/vault"
)

// TestService runs the node's own events through the suite every service
// runs: a node starts (its identity and key), is marked restored and
// repaired (with nothing to repair), and a vault registered and removed.
func TestService(t *testing.T) {
	servicetest.Run(t, "node", func(t *testing.T, n *servicetest.Node) {
		if err := n.Node.MarkRestored(context.Background(), 5, "checkpoint"); err != nil {
			t.Fatal(err)
		}
		if err := n.Node.Repair(context.Background(), "admin", "a look at a clean node", nil); err != nil {
			t.Fatal(err)
		}
		_, key, err := vault.GenerateKey("vault-" + n.Variant)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Node.RegisterVault(context.Background(), "admin", "vault-"+n.Variant, key); err != nil {
			t.Fatal(err)
		}
		if err := n.Node.RemoveVault(context.Background(), "admin", "vault-"+n.Variant); err != nil {
			t.Fatal(err)
		}
	})
}
