package node_test

import (
	"context"
	"testing"
	"time"

	"kavach/vault"
)

// Unbacked tells what a vault has not confirmed: nothing once it cosigned
// the last checkpoint, however long ago; the events since, and the time of
// the oldest of them, once more are written.
func TestUnbacked(t *testing.T) {
	ctx := context.Background()
	h := openHospital(t, t.TempDir())
	defer h.Close()
	register(t, h, "Amit Verma", "9810000001")
	skey, vkey, err := vault.GenerateKey("vault-test")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Node.RegisterVault(ctx, "admin", "vault-test", vkey); err != nil {
		t.Fatal(err)
	}
	cp, err := h.Node.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := vault.Cosign(skey, cp.Note)
	if err != nil {
		t.Fatal(err)
	}
	changed := h.Node.Changed()
	v, err := h.Node.RecordCosignature(ctx, "vault-test", cosigned)
	if err != nil {
		t.Fatal(err)
	}
	// What a vault confirmed is what a central passes on to its sites:
	// their long polls wake.
	select {
	case <-changed:
	default:
		t.Fatal("a vault's cosignature woke no long poll")
	}
	if n, since, err := h.Node.Unbacked(ctx, *v); err != nil || n != 0 || !since.IsZero() {
		t.Fatalf("all backed up: %d events since %v, %v", n, since, err)
	}
	before := time.Now()
	register(t, h, "Neha Gupta", "9810000003")
	n, since, err := h.Node.Unbacked(ctx, *v)
	if err != nil || n == 0 || since.Before(before.Add(-time.Second)) || since.After(time.Now()) {
		t.Fatalf("after a registration: %d events since %v, %v", n, since, err)
	}
}
