package bench

import (
	"context"
	"math"
	"testing"
	"time"
)

// A short run: the vault must take every event written, with no alert, and
// each as it comes, not when its long poll runs out.
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
	const wait = 10 * time.Second // the vault's long poll
	res, err := VaultLag(ctx, h, VaultLagConfig{Rate: 200, Duration: time.Second, Warmup: 200 * time.Millisecond, Wait: wait, Log: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	extra, ok := res.Extra.(map[string]any)
	if !ok {
		t.Fatalf("no extra figures: %v", res)
	}
	figure := func(key string) float64 {
		t.Helper()
		switch v := extra[key].(type) {
		case int:
			return float64(v)
		case int64:
			return float64(v)
		case uint64:
			return float64(v)
		case float64:
			return v
		}
		t.Fatalf("no figure %s in %v", key, extra)
		return 0
	}
	finite := func(xs ...float64) bool {
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	switch {
	case res.Errors > 0 || res.FirstError != "":
		t.Fatalf("errors: %d, %s", res.Errors, res.FirstError)
	case res.Ops < 100:
		t.Fatalf("only %d events measured at 200/s for 1 s", res.Ops)
	case figure("unstored_events") != 0:
		t.Fatalf("%v events never reached the vault", extra["unstored_events"])
	case figure("vault_events") != figure("node_events"):
		t.Fatalf("the vault holds %v events, the node %v", extra["vault_events"], extra["node_events"])
	case figure("pulls") == 0 || figure("polls") < figure("pulls"):
		t.Fatalf("pulls %v of %v polls: %v", extra["pulls"], extra["polls"], res)
	case !finite(res.PerSecond, res.P50Millis, res.P99Millis, res.MaxMillis) || res.PerSecond <= 0:
		t.Fatalf("figures not finite: %v", res)
	case res.P50Millis <= 0 || res.P99Millis < res.P50Millis || res.MaxMillis < res.P99Millis:
		t.Fatalf("implausible lags: %v", res)
	case res.P50Millis >= float64(wait.Milliseconds())/2:
		// A long poll that the node does not answer when events come ends
		// at its timeout: the events written meanwhile lag by about wait.
		t.Fatalf("the events reached the vault at its long poll's timeout (%v), not as they came: %v", wait, res)
	}
	t.Log(res)
}
