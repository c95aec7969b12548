package vault_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"kavach/journal"
	"kavach/replicate"
	"kavach/vault"
)

// fakeNode serves a testLog on the replication endpoints, as a node does.
type fakeNode struct {
	t        *testing.T
	mu       sync.Mutex
	log      *testLog
	size     int    // the node's synced size; -1 means all of log
	name     string // verifier the node names, if not the log's own
	cosigned [][]byte
	// origins are other nodes' journals the node holds (as a central
	// holds its sites'), and how many events of each it holds (all if
	// not set).
	origins     map[string]*testLog
	originSizes map[string]int
	originPulls map[string]int // pulls of each origin's events
}

func newFakeNode(t *testing.T, l *testLog) (*fakeNode, *httptest.Server) {
	f := &fakeNode{t: t, log: l, size: -1}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// do changes the node's journal while it serves.
func (f *fakeNode) do(change func(f *fakeNode)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeNode) synced() int {
	if f.size >= 0 {
		return f.size
	}
	return len(f.log.events)
}

func (f *fakeNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer kvr_test" {
		http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
		return
	}
	switch r.URL.Path {
	case "/api/v1/replicate/origins":
		if f.origins == nil {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		list := []map[string]any{}
		for code, l := range f.origins {
			list = append(list, map[string]any{"origin": code, "log": l.origin, "size": f.originSize(code), "verifier": l.vkey})
		}
		json.NewEncoder(w).Encode(map[string]any{"node": "KA", "origins": list})
	case "/api/v1/replicate/events":
		if code := r.URL.Query().Get("origin"); code != "" {
			f.originEvents(w, r, code)
			return
		}
		from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
		wait, _ := strconv.ParseFloat(r.URL.Query().Get("wait"), 64)
		for end := time.Now().Add(time.Duration(wait * float64(time.Second))); time.Now().Before(end); {
			f.mu.Lock()
			more := uint64(f.synced()) > from
			f.mu.Unlock()
			if more {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		size := f.synced()
		verifier := f.log.vkey
		if f.name != "" {
			verifier = f.name
		}
		type event struct {
			Index uint64 `json:"index"`
			Data  []byte `json:"data"`
		}
		out := map[string]any{"origin": f.log.origin, "verifier": verifier, "size": size, "events": []event{}}
		if int(from) < size {
			var evs []event
			for i := int(from); i < size; i++ {
				evs = append(evs, event{uint64(i), f.log.events[i]})
			}
			out["events"] = evs
			out["checkpoint"] = string(f.log.checkpoint(size))
		}
		json.NewEncoder(w).Encode(out)
	case "/api/v1/replicate/cosignature":
		var in struct{ Vault, Checkpoint string }
		json.NewDecoder(r.Body).Decode(&in)
		f.mu.Lock()
		f.cosigned = append(f.cosigned, []byte(in.Checkpoint))
		f.mu.Unlock()
		w.Write([]byte("{}"))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeNode) originSize(code string) int {
	if n, ok := f.originSizes[code]; ok {
		return n
	}
	return len(f.origins[code].events)
}

// originEvents answers a pull of another node's journal the node holds, at
// once, with the origin's own checkpoint.
func (f *fakeNode) originEvents(w http.ResponseWriter, r *http.Request, code string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.originPulls == nil {
		f.originPulls = map[string]int{}
	}
	f.originPulls[code]++
	l := f.origins[code]
	if l == nil {
		http.NotFound(w, r)
		return
	}
	from, _ := strconv.ParseUint(r.URL.Query().Get("from"), 10, 64)
	size := f.originSize(code)
	type event struct {
		Index uint64 `json:"index"`
		Data  []byte `json:"data"`
	}
	out := map[string]any{"origin": l.origin, "verifier": l.vkey, "size": size, "events": []event{}}
	if int(from) < size {
		var evs []event
		for i := int(from); i < size; i++ {
			evs = append(evs, event{uint64(i), l.events[i]})
		}
		out["events"] = evs
		out["checkpoint"] = string(l.checkpoint(size))
	}
	json.NewEncoder(w).Encode(out)
}

// syncLog is a log handler safe to read while the vault writes to it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type runningVault struct {
	t      *testing.T
	dir    string
	logs   *syncLog
	cancel context.CancelFunc
	done   chan error
}

func setupVault(t *testing.T, url, sourceKey string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "vault")
	if _, err := vault.Setup(dir, vault.Config{Name: "test-vault", Source: url, SourceKey: sourceKey}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func startVault(t *testing.T, dir, url string, id *age.X25519Identity) *runningVault {
	t.Helper()
	logs := &syncLog{}
	p := &vault.Puller{
		Dir:        dir,
		Source:     &replicate.Client{URL: url, Token: "kvr_test"},
		Recipients: []age.Recipient{id.Recipient()},
		Wait:       200 * time.Millisecond,
		Log:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &runningVault{t: t, dir: dir, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- p.Run(ctx) }()
	t.Cleanup(func() { v.stop() })
	return v
}

func (v *runningVault) stop() {
	v.t.Helper()
	if v.cancel == nil {
		return
	}
	v.cancel()
	v.cancel = nil
	if err := <-v.done; err != nil {
		v.t.Fatalf("vault: %v\n%s", err, v.logs)
	}
}

// waitFor polls the vault's status until ok says yes.
func (v *runningVault) waitFor(what string, ok func(st vault.Status) bool) vault.Status {
	v.t.Helper()
	var st vault.Status
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case err := <-v.done:
			v.cancel = nil
			v.t.Fatalf("the vault stopped: %v\n%s", err, v.logs)
		default:
		}
		s, err := vault.ReadStatus(v.dir)
		if err != nil {
			continue
		}
		st = s.At(time.Now())
		if ok(st) {
			return st
		}
	}
	v.t.Fatalf("vault never got to %s: %+v\n%s", what, st, v.logs)
	return st
}

func synced(n uint64) func(vault.Status) bool {
	return func(st vault.Status) bool {
		return st.Events == n && st.State == vault.StateOK && st.CosignedEvents == n
	}
}

func forks(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(vault.StoreDir(dir), "forks"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func scrubVault(t *testing.T, dir string) vault.Report {
	t.Helper()
	cfg, err := vault.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, older, err := cfg.Verifiers()
	if err != nil {
		t.Fatal(err)
	}
	s := openStore(t, vault.StoreDir(dir))
	defer s.Close()
	return s.Scrub(cfg.Origin, v, older...)
}

// alertOf returns the vault's active alert of a kind.
func alertOf(st vault.Status, kind string) (vault.Alert, bool) {
	for _, a := range st.AlertDetails {
		if a.Kind == kind {
			return a, true
		}
	}
	return vault.Alert{}, false
}

func TestPullFollowsTheNode(t *testing.T) {
	l := newLog(t, 10)
	node, srv := newFakeNode(t, l)
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	v := startVault(t, dir, srv.URL, id)
	st := v.waitFor("10 events", synced(10))
	if st.LagSeconds != 0 || !st.CaughtUp || !st.VaultRunning || st.SourceEvents != 10 || len(st.Alerts) != 0 {
		t.Fatalf("caught up: %+v", st)
	}
	if !bytes.Equal([]byte(st.LastCheckpoint), l.checkpoint(10)) {
		t.Fatalf("last checkpoint %q", st.LastCheckpoint)
	}
	cfg, err := vault.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != l.origin || cfg.SourceKey != l.vkey {
		t.Fatalf("vault.json did not pin the first checkpoint's key: %+v", cfg)
	}
	if !strings.Contains(v.logs.String(), "trusting the node's key") {
		t.Fatalf("trusting the first key is not logged:\n%s", v.logs)
	}

	// New events arrive during a long poll.
	node.do(func(f *fakeNode) { f.log.grow(5) })
	v.waitFor("15 events", synced(15))
	// Cosignatures reach the node from their own goroutine, at most once a
	// second: wait for the one over 15 events.
	var last []byte
	for deadline := time.Now().Add(10 * time.Second); ; {
		node.mu.Lock()
		if n := len(node.cosigned); n > 0 {
			last = node.cosigned[n-1]
		}
		node.mu.Unlock()
		if bytes.Contains(last, []byte("\n15\n")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cosignature over 15 events reached the node; last %q", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := vault.VerifyCosignature(cfg.CosignKey, last); err != nil {
		t.Fatalf("the node got no valid cosignature: %v", err)
	}
	if _, err := journal.OpenCheckpoint(last, l.origin, l.v); err != nil {
		t.Fatalf("the cosigned checkpoint lost the node's signature: %v", err)
	}

	// A clean stop says so; a restart goes on where it stopped.
	v.stop()
	st, err = vault.ReadStatus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st = st.At(time.Now()); st.VaultRunning || st.State != vault.StateSourceUnreachable || !strings.Contains(strings.Join(st.Alerts, "\n"), "vault-not-running") {
		t.Fatalf("stopped vault: %+v", st)
	}
	node.do(func(f *fakeNode) { f.log.grow(3) })
	v = startVault(t, dir, srv.URL, id)
	v.waitFor("18 events", synced(18))
	v.stop()
	if rep := scrubVault(t, dir); !rep.OK || rep.Events != 18 {
		t.Fatalf("scrub: %+v", rep)
	}
	s := openStore(t, vault.StoreDir(dir))
	got, err := readAll(s, id)
	s.Close()
	if err != nil || len(got) != 18 || !bytes.Equal(got[17], l.events[17]) {
		t.Fatalf("read back %d events: %v", len(got), err)
	}
}

func TestPullRollback(t *testing.T) {
	l := newLog(t, 10)
	node, srv := newFakeNode(t, l)
	dir := setupVault(t, srv.URL, "")
	id := newIdentity(t)
	v := startVault(t, dir, srv.URL, id)
	v.waitFor("10 events", synced(10))

	// The node's data is put back from an old copy: 6 events.
	node.do(func(f *fakeNode) { f.size = 6 })
	st := v.waitFor("fork-detected", func(st vault.Status) bool { return st.State == vault.StateForkDetected })
	a, ok := alertOf(st, vault.AlertForkDetected)
	if !ok || a.Cause != "rollback" || a.Quarantine == "" || st.Events != 10 || st.SourceEvents != 6 {
		t.Fatalf("after a rollback: %+v", st)
	}
	reason, err := os.ReadFile(filepath.Join(dir, a.Quarantine, "reason.txt"))
	if err != nil || !strings.Contains(string(reason), "rolled back") {
		t.Fatalf("reason.txt: %q %v", reason, err)
	}
	if logs := v.logs.String(); !strings.Contains(logs, `level=ERROR msg="vault alert" kind=fork-detected`) {
		t.Fatalf("the alert is not logged:\n%s", logs)
	}

	// The fork is sticky: even a history that would extend the vault's is
	// not taken, once the vault has heard of it, and a restart remembers.
	node.do(func(f *fakeNode) { f.size = -1; f.log.grow(10) })
	st = v.waitFor("the held vault to hear of 20 events", func(st vault.Status) bool {
		return st.State == vault.StateForkDetected && st.SourceEvents == 20
	})
	if st.Events != 10 || len(forks(t, dir)) != 1 {
		t.Fatalf("after the fork the vault took more: %+v, forks %v", st, forks(t, dir))
	}
	v.stop()
	v = startVault(t, dir, srv.URL, id)
	// The restarted vault's status has a last contact once it has asked
	// the node itself (the 20 events it carries over from the last run).
	st = v.waitFor("fork-detected after a restart", func(st vault.Status) bool {
		return st.State == vault.StateForkDetected && st.VaultRunning && !st.LastContact.IsZero() && st.SourceEvents == 20
	})
	if st.Events != 10 || len(forks(t, dir)) != 1 {
		t.Fatalf("after a restart the vault took more: %+v, forks %v", st, forks(t, dir))
	}
	v.stop()
	if rep := scrubVault(t, dir); !rep.OK || rep.Events != 10 {
		t.Fatalf("scrub after a fork: %+v", rep)
	}
}

// otherHistory is a log that shares the first n events of l and its key,
// then goes its own way: a rewrite re-signed with the stolen key.
func otherHistory(t *testing.T, l *testLog, n, extra int) *testLog {
	t.Helper()
	o := newLog(t, n)
	o.signer, o.v, o.vkey = l.signer, l.v, l.vkey
	for i := range extra {
		e := journal.Event{Origin: "KA", Seq: uint64(n + i + 1), Time: t0.Add(time.Hour), Actor: "attacker",
			Type: "patient.registered", Payload: json.RawMessage(fmt.Sprintf(`{"name":"Forged %d"}`, i))}
		data := e.Encode()
		o.events = append(o.events, data)
		o.rng.Append(journal.LeafHash(data), nil)
		root, _ := o.rng.GetRootHash(nil)
		o.roots = append(o.roots, root)
	}
	return o
}

func TestPullDiverged(t *testing.T) {
	l := newLog(t, 10)
	node, srv := newFakeNode(t, l)
	dir := setupVault(t, srv.URL, "")
	id := newIdentity(t)
	v := startVault(t, dir, srv.URL, id)
	v.waitFor("10 events", synced(10))

	node.do(func(f *fakeNode) { f.log = otherHistory(t, l, 8, 6) })
	st := v.waitFor("fork-detected", func(st vault.Status) bool { return st.State == vault.StateForkDetected })
	a, _ := alertOf(st, vault.AlertForkDetected)
	if a.Cause != "diverged" || st.Events != 10 {
		t.Fatalf("after a rewrite: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, a.Quarantine, "events.age")); err != nil {
		t.Fatalf("the refused events are not kept: %v", err)
	}
}

func TestPullKeyChange(t *testing.T) {
	l := newLog(t, 10)
	node, srv := newFakeNode(t, l)
	dir := setupVault(t, srv.URL, "")
	id := newIdentity(t)
	v := startVault(t, dir, srv.URL, id)
	v.waitFor("10 events", synced(10))
	oldKey, oldSigner := l.vkey, l.signer

	// The node is restored and signs with a new key.
	node.do(func(f *fakeNode) { f.log.newKey(); f.log.grow(5) })
	st := v.waitFor("key-changed", func(st vault.Status) bool { return st.State == vault.StateForkDetected })
	a, ok := alertOf(st, vault.AlertKeyChanged)
	if !ok || st.Events != 10 || !strings.Contains(a.Message, "approve-key") || !strings.Contains(a.Message, l.vkey) {
		t.Fatalf("new key: %+v", st)
	}
	// A few more pulls of the same batch: it is set aside only once.
	for range 3 {
		last := st.LastContact
		st = v.waitFor("another pull", func(st vault.Status) bool { return st.LastContact.After(last) })
	}
	if n := len(forks(t, dir)); n != 1 {
		t.Fatalf("%d forks/ entries for one new key", n)
	}

	if _, err := vault.ApproveSourceKey(dir, "kavach/XX/YY+00000000+AAAA"); err == nil {
		t.Fatal("approved a malformed key")
	}
	if _, err := vault.ApproveSourceKey(dir, oldKey); !errors.Is(err, vault.ErrKeyTrusted) {
		t.Fatalf("approving the trusted key: %v", err)
	}
	cfg, err := vault.ApproveSourceKey(dir, l.vkey)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.SourceKey != oldKey || len(cfg.ApprovedKeys) != 1 || cfg.ApprovedKeys[0] != l.vkey {
		t.Fatalf("vault.json after approve: %+v", cfg)
	}
	st = v.waitFor("15 events under the new key", synced(15))
	if len(st.Alerts) != 0 {
		t.Fatalf("alerts after approval: %v", st.Alerts)
	}

	// The old key does not come back: whoever still signs with it is not
	// the node.
	node.do(func(f *fakeNode) {
		f.log.signer = oldSigner
		f.log.grow(2)
	})
	st = v.waitFor("fork-detected", func(st vault.Status) bool { return st.State == vault.StateForkDetected })
	if a, _ := alertOf(st, vault.AlertForkDetected); a.Cause != "retired-key" || st.Events != 15 {
		t.Fatalf("old key again: %+v", st)
	}
	v.stop()
	if rep := scrubVault(t, dir); !rep.OK || rep.Events != 15 {
		t.Fatalf("scrub across a key change: %+v", rep)
	}
}

func TestPullPinnedKey(t *testing.T) {
	l := newLog(t, 4)
	_, srv := newFakeNode(t, l)
	other := newLog(t, 0)
	dir := setupVault(t, srv.URL, other.vkey)
	v := startVault(t, dir, srv.URL, newIdentity(t))
	st := v.waitFor("key-changed", func(st vault.Status) bool { return st.State == vault.StateForkDetected })
	if _, ok := alertOf(st, vault.AlertKeyChanged); !ok || st.Events != 0 {
		t.Fatalf("a node signing with another key than --source-key: %+v", st)
	}
}

func TestPullInvalidAnswer(t *testing.T) {
	l := newLog(t, 4)
	node, srv := newFakeNode(t, l)
	other := newLog(t, 0)
	node.do(func(f *fakeNode) { f.name = other.vkey }) // names a key it did not sign with
	dir := setupVault(t, srv.URL, "")
	v := startVault(t, dir, srv.URL, newIdentity(t))
	st := v.waitFor("invalid-answer", func(st vault.Status) bool {
		_, ok := alertOf(st, vault.AlertInvalidAnswer)
		return ok
	})
	if st.State == vault.StateForkDetected || st.Events != 0 {
		t.Fatalf("invalid answer: %+v", st)
	}
	if cfg, _ := vault.LoadConfig(dir); cfg.SourceKey != "" {
		t.Fatalf("pinned a key from an answer that did not verify: %+v", cfg)
	}
	node.do(func(f *fakeNode) { f.name = "" })
	v.waitFor("4 events", synced(4))
}

func TestPullUnreachable(t *testing.T) {
	t.Run("Down", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		dir := setupVault(t, url, "")
		v := startVault(t, dir, url, newIdentity(t))
		st := v.waitFor("source-unreachable", func(st vault.Status) bool {
			return st.State == vault.StateSourceUnreachable && st.VaultRunning && st.LastError != ""
		})
		if len(st.Alerts) != 0 {
			t.Fatalf("an alert before the grace period: %v", st.Alerts)
		}
	})
	t.Run("Refused", func(t *testing.T) {
		_, srv := newFakeNode(t, newLog(t, 3))
		dir := setupVault(t, srv.URL, "")
		logs := &syncLog{}
		p := &vault.Puller{Dir: dir, Source: &replicate.Client{URL: srv.URL, Token: "kvr_revoked"},
			Recipients: []age.Recipient{newIdentity(t).Recipient()}, Log: slog.New(slog.NewTextHandler(logs, nil))}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		v := &runningVault{t: t, dir: dir, logs: logs}
		st := v.waitFor("an alert", func(st vault.Status) bool { return len(st.Alerts) > 0 })
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if a, ok := alertOf(st, vault.AlertSourceUnreachable); !ok || !strings.Contains(a.Message, "401") {
			t.Fatalf("a refused token: %+v", st)
		}
	})
}

func TestPullRefusesToStart(t *testing.T) {
	l := newLog(t, 3)
	_, srv := newFakeNode(t, l)
	id := newIdentity(t)
	run := func(dir string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		p := &vault.Puller{Dir: dir, Source: &replicate.Client{URL: srv.URL, Token: "kvr_test"},
			Recipients: []age.Recipient{id.Recipient()}, Log: slog.New(slog.DiscardHandler)}
		return p.Run(ctx)
	}
	t.Run("NotAVault", func(t *testing.T) {
		if err := run(t.TempDir()); err == nil {
			t.Fatal("ran in a directory without vault.json")
		}
	})
	t.Run("StatusUnreadable", func(t *testing.T) {
		dir := setupVault(t, srv.URL, "")
		os.WriteFile(filepath.Join(dir, "status.json"), []byte("{garbage"), 0o600)
		if err := run(dir); err == nil || !strings.Contains(err.Error(), "fork") {
			t.Fatalf("started without its status: %v", err)
		}
	})
	t.Run("KeyReplaced", func(t *testing.T) {
		dir := setupVault(t, srv.URL, "")
		v := startVault(t, dir, srv.URL, id)
		v.waitFor("3 events", synced(3))
		v.stop()
		os.Chmod(filepath.Join(dir, "vault.key"), 0o600)
		skey, _, _ := vault.GenerateKey("test-vault")
		os.WriteFile(filepath.Join(dir, "vault.key"), []byte(skey), 0o600)
		if err := run(dir); err == nil || !strings.Contains(err.Error(), "vault.key") {
			t.Fatalf("ran with another cosigning key: %v", err)
		}
	})
	t.Run("NodeKeyEdited", func(t *testing.T) {
		dir := setupVault(t, srv.URL, "")
		v := startVault(t, dir, srv.URL, id)
		v.waitFor("3 events", synced(3))
		v.stop()
		cfg, _ := vault.LoadConfig(dir)
		cfg.SourceKey = newLog(t, 0).vkey
		data, _ := json.Marshal(cfg)
		os.Chmod(filepath.Join(dir, "vault.json"), 0o600)
		os.WriteFile(filepath.Join(dir, "vault.json"), data, 0o600)
		if err := run(dir); err == nil || !strings.Contains(err.Error(), "vault.json") {
			t.Fatalf("ran with another node key in vault.json: %v", err)
		}
	})
}

func TestSetup(t *testing.T) {
	l := newLog(t, 0)
	dir := filepath.Join(t.TempDir(), "vault")
	cfg, err := vault.Setup(dir, vault.Config{Name: "v1", Source: "http://node"})
	if err != nil {
		t.Fatal(err)
	}
	for name, mode := range map[string]os.FileMode{".": 0o700, "vault.key": 0o600} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Mode().Perm() != mode {
			t.Fatalf("%s: mode %v, want %v (%v)", name, fi.Mode().Perm(), mode, err)
		}
	}
	if cfg.CosignKey == "" || cfg.SourceKey != "" {
		t.Fatalf("vault.json: %+v", cfg)
	}
	if _, err := vault.Setup(dir, vault.Config{Name: "v2"}); err == nil {
		t.Fatal("renamed a vault")
	}
	// An unset key may be pinned once; after that it is fixed.
	if cfg, err = vault.Setup(dir, vault.Config{SourceKey: l.vkey}); err != nil || cfg.SourceKey != l.vkey {
		t.Fatalf("pin: %+v %v", cfg, err)
	}
	if _, err := vault.Setup(dir, vault.Config{SourceKey: newLog(t, 0).vkey}); err == nil || !strings.Contains(err.Error(), "approve-key") {
		t.Fatalf("replaced the pinned key: %v", err)
	}
	if _, err := vault.Setup(dir, vault.Config{SourceKey: l.vkey, Source: "http://moved"}); err != nil {
		t.Fatalf("the same key again, the node moved: %v", err)
	}
	if err := vault.CheckName("bad name+"); err == nil {
		t.Fatal("a name with a space and a plus")
	}
}
