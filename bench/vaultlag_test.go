package bench

import (
	"context"
	"testing"
	"time"
)

// A short run: the vault must take every event written, with no alert.
func TestVaultLag(t *testing.T) {
	if testing.Short() {
		t.Skip("writes for a few seconds")
	}
	ctx := context.Background()
	h, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	res, err := VaultLag(ctx, h, VaultLagConfig{Rate: 200, Duration: time.Second, Warmup: 200 * time.Millisecond, Log: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	extra := res.Extra.(map[string]any)
	switch {
	case res.Errors > 0 || res.FirstError != "":
		t.Fatalf("errors: %d, %s", res.Errors, res.FirstError)
	case res.Ops < 100:
		t.Fatalf("only %d events measured at 200/s for 1 s", res.Ops)
	case extra["unstored_events"].(int) != 0:
		t.Fatalf("%v events never reached the vault", extra["unstored_events"])
	case extra["vault_events"].(uint64) != extra["node_events"].(uint64):
		t.Fatalf("the vault holds %v events, the node %v", extra["vault_events"], extra["node_events"])
	case extra["pulls"].(int) == 0 || res.P50Millis <= 0 || res.MaxMillis < res.P99Millis:
		t.Fatalf("implausible: %v", res)
	}
}
