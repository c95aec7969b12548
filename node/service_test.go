package node_test

import (
	"context"
	"testing"

	"kavach/internal/servicetest"
	"kavach/journal"
	"kavach/vault"
)

// TestService runs the node's own events through the suite every service
// runs: a node starts (its identity and key), is marked restored and
// repaired (with nothing to repair), a vault registered and removed, a site
// added and enrolled, journals exchanged with it (the node's next event
// after the site's is a causal marker), a new key of the site's approved,
// and an enrolment with a forged token refused (an alert).
func TestService(t *testing.T) {
	servicetest.Run(t, "node", func(t *testing.T, n *servicetest.Node) {
		ctx := context.Background()
		site := servicetest.Enrol(t, n.Hospital, "KS", "Counter "+n.Variant)
		servicetest.Exchange(t, n.Hospital, site.Hospital)
		_, key, err := journal.GenerateKey("kavach/KVH/KS")
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Node.ApproveKey(ctx, "admin", "KS", key, "the site was restored"); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Node.Enrol(ctx, "kve_KVH.KT.forgedforgedforgedforgedforgedforgedforged00", key, "192.0.2.1"); err == nil {
			t.Fatal("a forged enrolment token was taken")
		}
		if err := n.Node.MarkRestored(context.Background(), 5, "checkpoint"); err != nil {
			t.Fatal(err)
		}
		if err := n.Node.Repair(context.Background(), "admin", "a look at a clean node", nil); err != nil {
			t.Fatal(err)
		}
		_, vkey, err := vault.GenerateKey("vault-" + n.Variant)
		if err != nil {
			t.Fatal(err)
		}
		if err := n.Node.RegisterVault(context.Background(), "admin", "vault-"+n.Variant, vkey); err != nil {
			t.Fatal(err)
		}
		if err := n.Node.RemoveVault(context.Background(), "admin", "vault-"+n.Variant); err != nil {
			t.Fatal(err)
		}
	})
}
