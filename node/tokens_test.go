package node_test

import (
	"context"
	"testing"
	"time"

	"kavach/node"
)

// A replication token opens the replication endpoints until it is revoked
// or expires; list shows each by name without the token.
func TestReplicationTokens(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := openHospital(t, dir)
	defer h.Close()
	vaultTok, err := node.NewReplicationToken(ctx, dir, "vault at DR site", 0)
	if err != nil {
		t.Fatal(err)
	}
	brief, err := node.NewReplicationToken(ctx, dir, "drill", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.NewReplicationToken(ctx, dir, "", 0); err == nil {
		t.Error("a token without a name was made")
	}
	if err := h.Node.CheckReplicationToken(ctx, vaultTok); err != nil {
		t.Fatalf("a new token: %v", err)
	}
	time.Sleep(5 * time.Millisecond) // the drill's token lives 1 ms
	if err := h.Node.CheckReplicationToken(ctx, brief); err == nil {
		t.Error("an expired token still opens replication")
	}
	ts, err := node.ReplicationTokens(ctx, h.Node.DB())
	if err != nil || len(ts) != 2 {
		t.Fatalf("tokens: %+v %v", ts, err)
	}
	for _, tk := range ts {
		if tk.Name == "drill" && tk.Live(time.Now()) || tk.Name == "vault at DR site" && !tk.Live(time.Now()) {
			t.Errorf("token %+v", tk)
		}
	}
	if _, err := node.RevokeToken(ctx, dir, "vault at DR site"); err != nil {
		t.Fatal(err)
	}
	if err := h.Node.CheckReplicationToken(ctx, vaultTok); err == nil {
		t.Error("a revoked token still opens replication")
	}
	if _, err := node.RevokeToken(ctx, dir, "no-such-token"); err == nil {
		t.Error("revoking an unknown token succeeded")
	}
}
