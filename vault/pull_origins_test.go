package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/internal/servicetest"
	"kavach/journal"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/replicate"
	"kavach/vault"
)

// startVaultToken is startVault against a real node, with its token.
func startVaultToken(t *testing.T, dir, url, token string, id *age.X25519Identity) *runningVault {
	t.Helper()
	logs := &syncLog{}
	p := &vault.Puller{
		Dir:        dir,
		Source:     &replicate.Client{URL: url, Token: token},
		Recipients: []age.Recipient{id.Recipient()},
		// Long: the other nodes' journals must come in while the source's
		// own journal is quiet, not only when its long poll ends.
		Wait: 20 * time.Second,
		Log:  slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &runningVault{t: t, dir: dir, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- p.Run(ctx) }()
	t.Cleanup(func() { v.stop() })
	return v
}

// registerAt registers a patient at n, with a MED visit.
func registerAt(t *testing.T, n *servicetest.Node, i int) string {
	t.Helper()
	age := 20 + i%50
	var uhid string
	n.Do(t, "registration", func(tx *node.Tx) error {
		r, err := registration.Register(tx, &registration.NewPatient{Name: fmt.Sprintf("Vault Origin %c%c", 'A'+i%26, 'a'+i/26%26), Sex: "M",
			AgeYears: &age, Mobile: fmt.Sprintf("96%08d", i), Address: "Ward 2, Delhi", GuardianName: "Guardian"})
		if err != nil {
			return err
		}
		uhid = r.Patient.UHID
		_, err = opd.Open(tx, opd.NewVisit{UHID: uhid, Department: "MED"})
		return err
	})
	return uhid
}

// holds waits until the vault holds the central's own journal, cosigned,
// and each other node's journal as the central holds it, all ok.
func holds(t *testing.T, central *servicetest.Node) func(vault.Status) bool {
	own := central.Node.Status().Events
	origins, err := central.Node.Origins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return func(st vault.Status) bool {
		if !synced(own)(st) || len(st.Origins) != len(origins)-1 {
			return false
		}
		for code, n := range origins {
			if o, ok := st.Origins[code]; code != central.Node.Info().NodeCode && (!ok || o.Events != n || o.State != vault.StateOK || !o.CaughtUp) {
				return false
			}
		}
		return true
	}
}

// restoreVault restores the central from the vault directory dir, its own
// journal and every other node's, as kavach restore does.
func restoreVault(t *testing.T, dir string, id age.Identity) (string, *node.RestoreReport) {
	t.Helper()
	cfg, err := vault.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	var keys []note.Verifier
	for _, k := range cfg.NodeKeys() {
		v, err := note.NewVerifier(k)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, v)
	}
	input := func(store string) (func(func(uint64, []byte) error) error, map[uint64][]byte) {
		s, err := vault.OpenSnapshot(store)
		if err != nil {
			t.Fatal(err)
		}
		cps := map[uint64][]byte{}
		for _, g := range s.Segments() {
			cps[g.First+g.Count] = g.Checkpoint
		}
		return func(each func(uint64, []byte) error) error { return s.Events([]age.Identity{id}, nil, each) }, cps
	}
	in := node.RestoreInput{Origin: cfg.Origin, Verifiers: keys}
	in.Events, in.Checkpoints = input(vault.StoreDir(dir))
	codes, err := vault.OriginCodes(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		ri := node.ReplicaInput{Origin: code}
		ri.Events, ri.Checkpoints = input(vault.OriginStoreDir(dir, code))
		in.Replicas = append(in.Replicas, ri)
	}
	to := filepath.Join(t.TempDir(), "restored")
	rep, err := node.Restore(context.Background(), to, hospital.Services(), in)
	if err != nil {
		t.Fatal(err)
	}
	return to, rep
}

// scrubOrigin scrubs the vault's store of node code's journal with the
// keys vault.json trusts for it.
func scrubOrigin(t *testing.T, dir, code string) vault.Report {
	t.Helper()
	cfg, err := vault.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	v, older, err := cfg.OriginVerifiers(code)
	if err != nil {
		t.Fatal(err)
	}
	s, err := vault.OpenSnapshot(vault.OriginStoreDir(dir, code))
	if err != nil {
		t.Fatal(err)
	}
	return s.Scrub(cfg.Origins[code].Origin, v, older...)
}

// TestPullOrigins: the vault pulls a central that holds a site's journal.
// It stores the site's journal in a store of its own, trusting the key the
// central names for it, also while the central's own journal is quiet; a
// restore from the vault equals the central and verifies. Then the site
// signs with a new key (as after its restore): the central approves it, and
// the vault holds the site's journal back until its own administrator
// approves it too, pulling the central's own journal meanwhile.
func TestPullOrigins(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "OPD counter 2")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	for i := range 5 {
		registerAt(t, kb, i)
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	// A visit at the central for the site's patient: the central's journal
	// then holds a causal marker naming the site's events.
	atB := registerAt(t, kb, 5)
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	ka.Do(t, "registration", func(tx *node.Tx) error {
		_, err := opd.Open(tx, opd.NewVisit{UHID: atB, Department: "ENT"})
		return err
	})

	ws, err := ka.Hospital.Server(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	token, err := node.NewReplicationToken(ctx, ka.Dir, "vault", 0)
	if err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	v := startVaultToken(t, dir, srv.URL, token, id)
	v.waitFor("the central's and the site's journals", holds(t, ka))
	cfg, err := vault.LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if o := cfg.Origins["KB"]; o == nil || o.Key != kb.Node.Info().Verifier || o.Origin != kb.Node.Info().Origin || len(o.ApprovedKeys) != 0 {
		t.Fatalf("vault.json trusts %+v for KB, the site's key is %s", o, kb.Node.Info().Verifier)
	}

	// The site's events reach the vault while the central's journal is quiet.
	own := ka.Node.Status().Events
	for i := 10; i < 13; i++ {
		registerAt(t, kb, i)
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	if ka.Node.Status().Events != own {
		t.Fatal("the central wrote to its own journal")
	}
	start := time.Now()
	v.waitFor("the site's new events", holds(t, ka))
	took := time.Since(start)
	t.Logf("the site's events reached the vault %s after the central took them, its own journal quiet", took.Round(time.Millisecond))
	if took > vault.LagLimit {
		t.Errorf("the site's events took %s to reach the vault", took)
	}
	v.stop()

	if rep := scrubVault(t, dir); !rep.OK {
		t.Fatalf("scrub: %v", rep.Faults)
	}
	if rep := scrubOrigin(t, dir, "KB"); !rep.OK || rep.Events == 0 {
		t.Fatalf("scrub of KB's store: %+v", rep)
	}
	restored, rep := restoreVault(t, dir, id)
	kaHeld, _ := ka.Node.Origins(ctx)
	if rep.Events != own || rep.Origins["KB"] != kaHeld["KB"] || len(rep.Waiting) != 0 || len(rep.Notes) != 0 {
		t.Fatalf("restore: %+v; the central holds %v", rep, kaHeld)
	}
	faults, err := node.CompareProjections(ctx, node.DBPath(ka.Dir), node.DBPath(restored))
	if err != nil {
		t.Fatal(err)
	}
	if len(faults) > 0 {
		t.Fatalf("the central restored from the vault differs from the central:\n%s", strings.Join(faults, "\n"))
	}
	if vr, err := node.Verify(ctx, restored, hospital.Services(), node.VerifyOptions{ScratchDir: t.TempDir()}); err != nil || !vr.OK {
		t.Fatalf("verify on the restored central: %v %+v", err, vr)
	}

	// The site signs with a new key, as a site restored after an attack.
	before := kaHeld["KB"]
	kb.Close()
	skey, vkey, err := journal.GenerateKey(kb.Node.Info().Origin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(node.KeyPath(kb.Dir), []byte(skey+"\n"), 0o600)
	os.WriteFile(node.PubPath(kb.Dir), []byte(vkey+"\n"), 0o644)
	h, err := hospital.Open(ctx, node.Config{Dir: kb.Dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	kb = &servicetest.Node{Hospital: h, Dir: kb.Dir}
	registerAt(t, kb, 20)
	if err := ka.Node.ApproveKey(ctx, "admin", "KB", vkey, "KB restored"); err != nil {
		t.Fatal(err)
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	if held, _ := ka.Node.Origins(ctx); held["KB"] <= before {
		t.Fatalf("the central holds %d of KB's events after its key change, %d before", held["KB"], before)
	}

	v = startVaultToken(t, dir, srv.URL, token, id)
	// The central's own journal goes on meanwhile.
	registerAt(t, ka, 30)
	own = ka.Node.Status().Events
	st := v.waitFor("the site's new key held", func(st vault.Status) bool {
		return st.Events == own && st.Origins["KB"].State == vault.StateForkDetected
	})
	a, ok := alertOf(st, vault.AlertKeyChanged)
	if !ok || a.Origin != "KB" || !strings.Contains(a.Message, "--origin KB --key '"+vkey+"'") || st.Origins["KB"].Events != before ||
		st.State != vault.StateForkDetected || len(st.AlertDetails) != 1 {
		t.Fatalf("while the site's new key is not approved: %+v", st)
	}
	if _, err := vault.ApproveOriginKey(dir, "KB", ka.Node.Info().Verifier); err == nil {
		t.Fatal("approve-key --origin KB took the central's key")
	}
	if _, err := vault.ApproveOriginKey(dir, "KB", vkey); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.ApproveOriginKey(dir, "KB", vkey); !errors.Is(err, vault.ErrKeyTrusted) {
		t.Fatalf("approving the key again: %v", err)
	}
	st = v.waitFor("the site's journal under its approved key", holds(t, ka))
	if len(st.AlertDetails) != 0 || st.Origins["KB"].Key != vkey {
		t.Fatalf("after the approval: %+v", st)
	}
	v.stop()
	if rep := scrubOrigin(t, dir, "KB"); !rep.OK {
		t.Fatalf("scrub of KB's store across its key change: %v", rep.Faults)
	}
	restored, rep = restoreVault(t, dir, id)
	kaHeld, _ = ka.Node.Origins(ctx)
	if rep.Origins["KB"] != kaHeld["KB"] {
		t.Fatalf("restore after the key change: %+v; the central holds %v", rep, kaHeld)
	}
	faults, err = node.CompareProjections(ctx, node.DBPath(ka.Dir), node.DBPath(restored))
	if err != nil || len(faults) > 0 {
		t.Fatalf("the central restored after the site's key change differs: %v\n%s", err, strings.Join(faults, "\n"))
	}
}

// newOriginLog is the journal of another node, code, of the hospital.
func newOriginLog(t *testing.T, code string, n int) *testLog {
	t.Helper()
	l := &testLog{t: t, origin: "kavach/KVH/" + code, code: code, roots: [][]byte{journal.EmptyRoot()}}
	l.rng = (&compact.RangeFactory{Hash: journal.HashChildren}).NewEmptyRange(0)
	l.newKey()
	l.grow(n)
	return l
}

// rewritten is l's first n events, then others, signed with l's key.
func rewritten(t *testing.T, l *testLog, n, extra int) *testLog {
	t.Helper()
	o := newOriginLog(t, l.code, 0)
	o.signer, o.v, o.vkey = l.signer, l.v, l.vkey
	for _, data := range l.events[:n] {
		o.events = append(o.events, data)
		o.rng.Append(journal.LeafHash(data), nil)
		root, _ := o.rng.GetRootHash(nil)
		o.roots = append(o.roots, root)
	}
	o.code = l.code + "-forged" // events that are not the node's
	for range extra {
		e := journal.Event{Origin: l.code, Seq: uint64(len(o.events) + 1), Time: t0.Add(time.Hour), Actor: "attacker",
			Type: "patient.registered", Payload: json.RawMessage(`{"name":"Forged"}`)}
		data := e.Encode()
		o.events = append(o.events, data)
		o.rng.Append(journal.LeafHash(data), nil)
		root, _ := o.rng.GetRootHash(nil)
		o.roots = append(o.roots, root)
	}
	return o
}

// TestPullOriginForks: another node's journal as the source holds it is
// checked as the source's own: a rollback and a rewrite of it are refused,
// kept aside under its store and alerted, and stop appending to it for
// good (also after a restart); events that are not that node's are
// refused. The source's own journal and the other origins go on.
func TestPullOriginForks(t *testing.T) {
	l := newLog(t, 5)
	src, srv := newFakeNode(t, l)
	kb, kc, kd := newOriginLog(t, "KB", 8), newOriginLog(t, "KC", 8), newOriginLog(t, "KD", 0)
	kd.code = "KE" // KD's checkpoints over events of KE
	kd.grow(4)
	ke := newOriginLog(t, "KE", 3)
	src.do(func(f *fakeNode) { f.origins = map[string]*testLog{"KB": kb, "KC": kc, "KD": kd, "KE": ke} })
	dir := setupVault(t, srv.URL, "")
	id := newIdentity(t)
	v := startVault(t, dir, srv.URL, id)
	st := v.waitFor("the source's journal and the other nodes'", func(st vault.Status) bool {
		_, bad := alertOf(st, vault.AlertInvalidAnswer)
		return bad && synced(5)(st) && st.Origins["KB"].Events == 8 && st.Origins["KC"].Events == 8 && st.Origins["KE"].Events == 3
	})
	if a, _ := alertOf(st, vault.AlertInvalidAnswer); a.Origin != "KD" || !strings.Contains(a.Message, "event 0 says it is event 1 of KE's journal") || st.Origins["KD"].Events != 0 {
		t.Fatalf("KD's events are KE's: %+v", st)
	}
	cfg, _ := vault.LoadConfig(dir)
	if cfg.Origins["KB"].Key != kb.vkey || cfg.Origins["KD"] != nil {
		t.Fatalf("vault.json trusts %+v", cfg.Origins)
	}
	// KD is asked again after each pull of the source's journal, not in a
	// busy loop.
	pulls := func() (n int) { src.do(func(f *fakeNode) { n = f.originPulls["KD"] }); return n }
	before := pulls()
	time.Sleep(time.Second)
	if n := pulls() - before; n > 10 {
		t.Fatalf("KD, whose answers do not verify, was pulled %d times in a second", n)
	}

	// KB's copy at the source is rolled back; KC's is rewritten with KC's key.
	src.do(func(f *fakeNode) {
		f.originSizes = map[string]int{"KB": 5}
		f.origins["KC"] = rewritten(t, kc, 6, 4)
		delete(f.origins, "KD")
		f.log.grow(3)
		f.origins["KE"].grow(2)
	})
	st = v.waitFor("forks of KB and KC", func(st vault.Status) bool {
		return st.Origins["KB"].State == vault.StateForkDetected && st.Origins["KC"].State == vault.StateForkDetected &&
			st.Events == 8 && st.CosignedEvents == 8 && st.Origins["KE"].Events == 5
	})
	causes := map[string]vault.Alert{}
	for _, a := range st.AlertDetails {
		causes[a.Origin] = a
	}
	if a := causes["KB"]; a.Kind != vault.AlertForkDetected || a.Cause != "rollback" || !strings.HasPrefix(a.Quarantine, "origins/KB/store/forks/") || st.Origins["KB"].Events != 8 {
		t.Fatalf("KB rolled back: %+v", st)
	}
	if a := causes["KC"]; a.Kind != vault.AlertForkDetected || a.Cause != "diverged" || st.Origins["KC"].Events != 8 {
		t.Fatalf("KC rewritten: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(dir, causes["KC"].Quarantine, "events.age")); err != nil {
		t.Fatalf("KC's refused events are not kept: %v", err)
	}
	if st.State != vault.StateForkDetected || st.Origins["KE"].State != vault.StateOK {
		t.Fatalf("states: %+v", st)
	}

	// Sticky: KB's copy back and longer is not taken, also after a restart.
	src.do(func(f *fakeNode) { f.originSizes = nil; kb.grow(2); f.log.grow(1) })
	v.stop()
	v = startVault(t, dir, srv.URL, id)
	st = v.waitFor("the source's journal after a restart", func(st vault.Status) bool {
		return st.Events == 9 && st.CosignedEvents == 9 && st.Origins["KB"].SourceEvents == 10
	})
	if st.Origins["KB"].Events != 8 || st.Origins["KB"].State != vault.StateForkDetected || st.Origins["KC"].State != vault.StateForkDetected {
		t.Fatalf("after a restart: %+v", st)
	}
	v.stop()
	for _, code := range []string{"KB", "KC", "KE"} {
		if rep := scrubOrigin(t, dir, code); !rep.OK {
			t.Fatalf("scrub of %s's store: %v", code, rep.Faults)
		}
	}

	// A vault.json that trusts no key of a journal the vault holds is not
	// the vault's: the vault does not start.
	cfg, _ = vault.LoadConfig(dir)
	cfg.Origins = nil
	data, _ := json.Marshal(cfg)
	os.Chmod(filepath.Join(dir, "vault.json"), 0o600)
	if err := os.WriteFile(filepath.Join(dir, "vault.json"), data, 0o400); err != nil {
		t.Fatal(err)
	}
	p := &vault.Puller{Dir: dir, Source: &replicate.Client{URL: srv.URL, Token: "kvr_test"}, Recipients: []age.Recipient{id.Recipient()}, Log: slog.New(slog.DiscardHandler)}
	if err := p.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "origins/KB/store holds 8 events of node KB's journal but vault.json trusts no key of it") {
		t.Fatalf("started with a vault.json that trusts no key of KB: %v", err)
	}
}
