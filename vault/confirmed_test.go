package vault_test

import (
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"kavach/replicate"
	"kavach/vault"
)

// copyVault copies a stopped vault's directory, modes and all, so that each
// case attacks its own.
func copyVault(t *testing.T, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "vault")
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(dst, info.Mode().Perm())
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// TestPullConfirmed: the vault records the largest history it confirmed to
// the node, and a store that holds less, whatever was deleted, is damaged at
// the next start: the vault says what is missing and appends nothing more.
func TestPullConfirmed(t *testing.T) {
	l := newLog(t, 6)
	node, srv := newFakeNode(t, l)
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	v := startVault(t, dir, srv.URL, id)
	v.waitFor("6 events", synced(6))
	node.do(func(f *fakeNode) { f.log.grow(4) })
	v.waitFor("10 events", synced(10))
	var c vault.Confirmed
	for deadline := time.Now().Add(10 * time.Second); c.Events != 10; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("confirmed.json never got to 10 events: %+v\n%s", c, v.logs)
		}
		c, _ = vault.ReadConfirmed(dir)
	}
	if c.Segments != 2 || !strings.Contains(c.Checkpoint, "\n10\n") {
		t.Fatalf("confirmed.json: %+v", c)
	}
	v.waitFor("status to show 10 events confirmed", func(st vault.Status) bool { return st.ConfirmedEvents == 10 })
	v.stop()
	if fi, err := os.Stat(filepath.Join(dir, "confirmed.json")); err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("confirmed.json: %v %v", fi, err)
	}

	newest := func(t *testing.T, d string) {
		t.Helper()
		s, err := vault.OpenSnapshot(vault.StoreDir(d))
		if err != nil {
			t.Fatal(err)
		}
		g := s.Segments()[1]
		for _, name := range []string{g.Manifest(), strings.TrimSuffix(g.Manifest(), ".json") + ".cosigned", g.File()} {
			if err := os.Remove(filepath.Join(vault.StoreDir(d), name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		name   string
		attack func(t *testing.T, d string)
		events uint64   // what the store holds after the attack
		want   []string // in the damaged alert; none: ok
	}{
		{"OK", func(*testing.T, string) {}, 10, nil},
		{"ErrNewestDeleted", newest, 6, []string{"the store holds 6 events, but the vault confirmed 10", "events 6..9 are missing (4 events, 1 segment from manifests/00000000000000000006.json on"}},
		{"ErrStoreDeleted", func(t *testing.T, d string) {
			if err := os.RemoveAll(vault.StoreDir(d)); err != nil {
				t.Fatal(err)
			}
		}, 0, []string{"events 0..9 are missing (10 events, 2 segments"}},
		{"ErrConfirmedDeleted", func(t *testing.T, d string) {
			if err := os.Remove(filepath.Join(d, "confirmed.json")); err != nil {
				t.Fatal(err)
			}
		}, 10, []string{"confirmed.json is missing, but status.json records that the vault confirmed 10 events"}},
		{"ErrConfirmedAndNewestDeleted", func(t *testing.T, d string) {
			newest(t, d)
			if err := os.Remove(filepath.Join(d, "confirmed.json")); err != nil {
				t.Fatal(err)
			}
		}, 6, []string{"confirmed.json is missing", "events 6..9 are missing"}},
		{"ErrConfirmedGarbled", func(t *testing.T, d string) {
			os.Chmod(filepath.Join(d, "confirmed.json"), 0o600)
			if err := os.WriteFile(filepath.Join(d, "confirmed.json"), []byte(`{"events":`), 0o400); err != nil {
				t.Fatal(err)
			}
		}, 10, []string{"confirmed.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := copyVault(t, dir)
			tc.attack(t, d)
			node.do(func(f *fakeNode) {}) // the node still has all 10
			v := startVault(t, d, srv.URL, id)
			if tc.want == nil {
				v.waitFor("10 events", synced(10))
				return
			}
			st := v.waitFor("damaged", func(st vault.Status) bool { return st.State == vault.StateDamaged && !st.LastContact.IsZero() })
			a, _ := alertOf(st, vault.AlertDamaged)
			for _, w := range tc.want {
				if !strings.Contains(a.Message, w) {
					t.Errorf("no %q in the alert: %s", w, a.Message)
				}
			}
			// It has heard that the node has 10, and appends nothing: the
			// vault host may be compromised; an operator looks first.
			time.Sleep(300 * time.Millisecond)
			st = v.waitFor("damaged", func(st vault.Status) bool { return st.State == vault.StateDamaged })
			if st.Events != tc.events || st.SourceEvents != 10 || st.ConfirmedEvents < 10 {
				t.Fatalf("a damaged vault: %+v", st)
			}
			v.stop()
			// The next start says the same: the record is not lowered.
			v = startVault(t, d, srv.URL, id)
			st = v.waitFor("damaged again", func(st vault.Status) bool { return st.State == vault.StateDamaged && st.VaultRunning })
			if a2, _ := alertOf(st, vault.AlertDamaged); a2.Message != a.Message {
				t.Fatalf("after a restart: %q, was %q", a2.Message, a.Message)
			}
		})
	}
}

// TestPullConfirmedDeletedWhileRunning: the running vault's own scrub
// notices that confirmed.json went, or went back.
func TestPullConfirmedDeletedWhileRunning(t *testing.T) {
	l := newLog(t, 5)
	_, srv := newFakeNode(t, l)
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	logs := &syncLog{}
	p := &vault.Puller{Dir: dir, Source: &replicate.Client{URL: srv.URL, Token: "kvr_test"},
		Recipients: []age.Recipient{id.Recipient()}, Wait: 200 * time.Millisecond, ScrubEvery: 50 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(logs, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	v := &runningVault{t: t, dir: dir, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- p.Run(ctx) }()
	t.Cleanup(func() { v.stop() })
	v.waitFor("5 events confirmed", func(st vault.Status) bool { return synced(5)(st) && st.ConfirmedEvents == 5 })
	if err := os.Remove(filepath.Join(dir, "confirmed.json")); err != nil {
		t.Fatal(err)
	}
	st := v.waitFor("damaged", func(st vault.Status) bool { return st.State == vault.StateDamaged })
	if a, _ := alertOf(st, vault.AlertDamaged); a.Cause != "scrub" || !strings.Contains(a.Message, "confirmed.json") {
		t.Fatalf("after confirmed.json was deleted: %+v", st.AlertDetails)
	}
}
