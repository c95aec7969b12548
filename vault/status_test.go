package vault_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kavach/vault"
)

func TestStatusAt(t *testing.T) {
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	running := vault.Status{SourceReachable: true, StartedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-20 * time.Second)}
	with := func(change func(s *vault.Status)) vault.Status {
		s := running
		change(&s)
		return s
	}
	fork := vault.Alert{Kind: vault.AlertForkDetected, Message: "rolled back"}
	for _, tc := range []struct {
		name    string
		s       vault.Status
		state   string
		lag     float64
		running bool
	}{
		{"OK", with(func(s *vault.Status) { s.CaughtUp, s.CaughtUpAt = true, now.Add(-20*time.Second) }), vault.StateOK, 0, true},
		{"BehindALittle", with(func(s *vault.Status) { s.CaughtUpAt = now.Add(-3 * time.Second) }), vault.StateOK, 3, true},
		{"Lagging", with(func(s *vault.Status) { s.CaughtUpAt = now.Add(-8 * time.Second) }), vault.StateLagging, 8, true},
		{"NeverCaughtUp", with(func(s *vault.Status) {}), vault.StateLagging, 3600, true},
		{"Unreachable", with(func(s *vault.Status) { s.SourceReachable, s.CaughtUpAt = false, now.Add(-40*time.Second) }), vault.StateSourceUnreachable, 40, true},
		{"NotRunning", with(func(s *vault.Status) {
			s.CaughtUp, s.CaughtUpAt, s.UpdatedAt = true, now.Add(-3*time.Minute), now.Add(-3*time.Minute)
		}), vault.StateSourceUnreachable, 180, false},
		{"Stopped", with(func(s *vault.Status) { s.CaughtUp, s.Stopped, s.UpdatedAt = true, true, now.Add(-time.Second) }), vault.StateSourceUnreachable, 1, false},
		{"NeverRan", vault.Status{}, vault.StateSourceUnreachable, 0, false},
		{"Fork", with(func(s *vault.Status) { s.CaughtUp, s.AlertDetails = true, []vault.Alert{fork} }), vault.StateForkDetected, 0, true},
		{"ForkNotRunning", with(func(s *vault.Status) { s.Stopped, s.AlertDetails = true, []vault.Alert{fork} }), vault.StateForkDetected, 3600, false},
		{"KeyChanged", with(func(s *vault.Status) { s.AlertDetails = []vault.Alert{{Kind: vault.AlertKeyChanged}} }), vault.StateForkDetected, 3600, true},
		{"Damaged", with(func(s *vault.Status) { s.CaughtUp, s.AlertDetails = true, []vault.Alert{{Kind: vault.AlertDamaged}} }), vault.StateDamaged, 0, true},
		{"StoreError", with(func(s *vault.Status) { s.CaughtUp, s.AlertDetails = true, []vault.Alert{{Kind: vault.AlertStoreError}} }), vault.StateOK, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.At(now)
			if got.State != tc.state || got.VaultRunning != tc.running || got.LagSeconds < tc.lag-0.001 || got.LagSeconds > tc.lag+0.001 {
				t.Fatalf("state %s lag %.1f running %v, want %s %.1f %v", got.State, got.LagSeconds, got.VaultRunning, tc.state, tc.lag, tc.running)
			}
			if len(got.Alerts) != len(got.AlertDetails) {
				t.Fatalf("alerts %v, details %v", got.Alerts, got.AlertDetails)
			}
			notRunning := strings.Contains(strings.Join(got.Alerts, "\n"), vault.AlertNotRunning)
			if notRunning == tc.running {
				t.Fatalf("alerts %v for a vault running=%v", got.Alerts, tc.running)
			}
			if again := got.At(now); len(again.Alerts) != len(got.Alerts) {
				t.Fatalf("At twice: %v, then %v", got.Alerts, again.Alerts)
			}
		})
	}
}

func TestStatusFile(t *testing.T) {
	dir := t.TempDir()
	if _, err := vault.ReadStatus(dir); !os.IsNotExist(err) && !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("no status.json: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "status.json"), []byte("{not json"), 0o600)
	if _, err := vault.ReadStatus(dir); err == nil {
		t.Fatal("read a broken status.json")
	}
}
