// Package servicetest is the one test suite every hospital service runs, as
// perkeep runs one suite against every store. A service gives a scenario
// that drives it through every event type it declares, as its users would;
// the suite runs it on real nodes and checks what every service must keep:
//
//   - every event type the service declares appears (a type no scenario
//     emits has never been replayed, restored or ordered);
//   - kavach verify passes: the live tables equal a replay of the journal;
//   - a backup to a vault store and a restore from it, as kavach restore
//     does, rebuild the same tables;
//   - the same events from two nodes (the scenario run on node KA and on
//     node KB), replayed in different orders that keep each node's own
//     order, build the same tables: projections are a function of the set
//     of events, as site nodes need.
package servicetest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/vault"
)

// Password is the admin's and the demo users' password on the suite's nodes.
const Password = "service-test-1"

// Node is a node the scenario runs on.
type Node struct {
	*hospital.Hospital
	Dir string
	// Variant tells the scenario which node it runs on ("A" on KA, "B" on
	// KB): what it writes should differ with it (a department's name, a
	// price), so that a projection that kept whichever write came last,
	// rather than the newest, shows as two different tables.
	Variant string
}

// Do runs cmd as user in the node's writer and fails the test on an error.
func (n *Node) Do(t testing.TB, user string, cmd node.Command) {
	t.Helper()
	if err := n.Node.Do(context.Background(), user, cmd); err != nil {
		t.Fatal(err)
	}
}

// Scenario drives a service through every event type it declares.
type Scenario func(t *testing.T, n *Node)

// Run runs the suite for the service named name (as hospital.List names
// it; "node" for the node's own events).
func Run(t *testing.T, name string, scenario Scenario) {
	ctx := context.Background()
	services := hospital.Services()
	var own []string
	for _, s := range append([]node.Service{node.Core()}, services...) {
		if s.Name != name {
			continue
		}
		for _, h := range s.Events {
			if h.Owner {
				own = append(own, h.Type)
			}
		}
	}
	if len(own) == 0 {
		t.Fatalf("no service %q with events (hospital.List names the services)", name)
	}
	a := Open(t, "KA", "A")
	scenario(t, a)
	b := Open(t, "KB", "B")
	scenario(t, b)
	eventsA, eventsB := events(t, a), events(t, b)
	heldA := replicaEvents(t, a) // other nodes' events, which a holds too
	for _, h := range []*Node{a, b} {
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("EveryEventType", func(t *testing.T) {
		seen := map[string]bool{}
		for _, e := range append(eventsA, heldA...) {
			seen[e.Type] = true
		}
		for _, typ := range own {
			if !seen[typ] {
				t.Errorf("the scenario never emits %s: every event type a service declares must run through this suite", typ)
			}
		}
	})
	t.Run("Verify", func(t *testing.T) {
		for _, n := range []*Node{a, b} {
			rep, err := node.Verify(ctx, n.Dir, services, node.VerifyOptions{ScratchDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK {
				t.Fatalf("verify on %s: %v", n.Variant, rep.Faults)
			}
		}
	})
	t.Run("RestoreRoundTrip", func(t *testing.T) { restoreRoundTrip(t, a) })
	t.Run("TwoOrders", func(t *testing.T) { twoOrders(t, services, eventsA, eventsB) })
}

// Open starts a node named code with the admin and the demo data.
func Open(t testing.TB, code, variant string) *Node {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	h, err := hospital.Open(ctx, node.Config{Dir: dir, Init: node.InitConfig{NodeCode: code}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if _, err := h.EnsureAdmin(ctx, Password); err != nil {
		t.Fatal(err)
	}
	if err := h.SeedDemo(ctx, Password); err != nil {
		t.Fatal(err)
	}
	return &Node{Hospital: h, Dir: dir, Variant: variant}
}

// events reads a node's journal, decoded, in order.
func events(t *testing.T, n *Node) []*journal.Event {
	t.Helper()
	size := n.Node.Status().Events
	raw, err := n.Node.EventsFrom(context.Background(), 0, size, int(size))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*journal.Event, len(raw))
	for i, r := range raw {
		if out[i], err = journal.Decode(r.Data); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// replicaEvents reads the other nodes' journals a node holds, decoded.
func replicaEvents(t *testing.T, n *Node) []*journal.Event {
	t.Helper()
	ctx := context.Background()
	reps, err := n.Node.Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*journal.Event
	for _, r := range reps {
		raw, _, err := n.Node.ReplicaRun(ctx, r.Origin, 0, int(r.Size))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range raw {
			e, err := journal.Decode(d.Data)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, e)
		}
	}
	return out
}

// restoreRoundTrip backs the node up into a vault store, encrypted, and
// restores it into a new directory as kavach restore does: the restored
// tables must equal the node's, and verify must pass on them.
func restoreRoundTrip(t *testing.T, n *Node) {
	ctx := context.Background()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	h, err := hospital.Open(ctx, node.Config{Dir: n.Dir})
	if err != nil {
		t.Fatal(err)
	}
	vdir := t.TempDir()
	BackUp(t, h, vdir, id.Recipient(), 7)
	info := h.Node.Info()
	keys, err := Keys(ctx, h)
	h.Close()
	if err != nil {
		t.Fatal(err)
	}
	to := Restore(t, vdir, id, info.Origin, keys)
	faults, err := node.CompareProjections(ctx, node.DBPath(n.Dir), node.DBPath(to))
	if err != nil {
		t.Fatal(err)
	}
	if len(faults) > 0 {
		t.Fatalf("the restored node differs from the one backed up:\n%s", strings.Join(faults, "\n"))
	}
	rep, err := node.Verify(ctx, to, hospital.Services(), node.VerifyOptions{ScratchDir: t.TempDir()})
	if err != nil || !rep.OK {
		t.Fatalf("verify on the restored node: %v %+v", err, rep)
	}
}

// Restore restores the node whose journal (and the other nodes' it held)
// BackUp put in the vault directory vdir into a new directory, as kavach
// restore does, and returns the directory.
func Restore(t testing.TB, vdir string, id age.Identity, origin string, keys []note.Verifier) string {
	t.Helper()
	in := node.RestoreInput{Origin: origin, Verifiers: keys}
	in.Events, in.Checkpoints = storeInput(t, vault.StoreDir(vdir), id)
	codes, err := vault.OriginCodes(vdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range codes {
		ri := node.ReplicaInput{Origin: code}
		ri.Events, ri.Checkpoints = storeInput(t, vault.OriginStoreDir(vdir, code), id)
		in.Replicas = append(in.Replicas, ri)
	}
	to := filepath.Join(t.TempDir(), "restored")
	if _, err = node.Restore(context.Background(), to, hospital.Services(), in); err != nil {
		t.Fatal(err)
	}
	return to
}

// storeInput reads a vault store for a restore.
func storeInput(t testing.TB, dir string, id age.Identity) (func(func(uint64, []byte) error) error, map[uint64][]byte) {
	store, err := vault.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cps := map[uint64][]byte{}
	for _, g := range store.Segments() {
		cps[g.First+g.Count] = g.Checkpoint
	}
	return func(each func(uint64, []byte) error) error {
		return store.Events([]age.Identity{id}, nil, each)
	}, cps
}

// Keys returns the verifiers of every key the node has signed with, oldest
// first, as a restore checks its checkpoints with them.
func Keys(ctx context.Context, h *hospital.Hospital) ([]note.Verifier, error) {
	rows, err := h.Node.DB().QueryContext(ctx, `SELECT verifier FROM origin_keys WHERE node = ? ORDER BY seq`, h.Node.Info().NodeCode)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var vs []note.Verifier
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		v, err := note.NewVerifier(k)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// BackUp copies a node's journal into a vault store in segments of per
// events that end at checkpoints, as the vault's pull loop does, and writes
// vault.json.
func BackUp(t testing.TB, h *hospital.Hospital, vdir string, rcpt age.Recipient, per int) {
	t.Helper()
	ctx := context.Background()
	store, err := vault.OpenStore(vault.StoreDir(vdir))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	size := h.Node.Status().Events
	for from := store.Size(); from < size; {
		to := min(size, from+uint64(per))
		evs, err := h.Node.EventsFrom(ctx, from, to, per)
		if err != nil {
			t.Fatal(err)
		}
		cp, err := h.Node.CheckpointAt(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		var data [][]byte
		for _, e := range evs {
			data = append(data, e.Data)
		}
		if _, err := store.Append(from, data, cp, rcpt); err != nil {
			t.Fatal(err)
		}
		from = to
	}
	// The other nodes' journals the node holds, each in a store of its own.
	reps, err := h.Node.Replicas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		os := openStore(t, vault.OriginStoreDir(vdir, r.Origin))
		for from := os.Size(); from < r.Size; {
			evs, cp, err := h.Node.ReplicaRun(ctx, r.Origin, from, per)
			if err != nil {
				t.Fatal(err)
			}
			var data [][]byte
			for _, e := range evs {
				data = append(data, e.Data)
			}
			if _, err := os.Append(from, data, cp, rcpt); err != nil {
				t.Fatal(err)
			}
			from += uint64(len(evs))
		}
		os.Close()
	}
	info := h.Node.Info()
	cfg, _ := json.Marshal(map[string]string{"origin": info.Origin, "source_key": info.Verifier})
	if err := os.WriteFile(filepath.Join(vdir, "vault.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
}

func openStore(t testing.TB, dir string) *vault.Store {
	t.Helper()
	s, err := vault.OpenStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// twoOrders replays the events of both nodes in several orders that keep
// each node's own order (one node's, then the other's; the other way; and
// shuffled merges) and checks that every order builds the same tables.
func twoOrders(t *testing.T, services []node.Service, a, b []*journal.Event) {
	ctx := context.Background()
	orders := map[string][]*journal.Event{
		"KA then KB": slices.Concat(a, b),
		"KB then KA": slices.Concat(b, a),
	}
	for seed := uint64(1); seed <= 2; seed++ {
		orders[fmt.Sprintf("interleaved %d", seed)] = interleave(a, b, rand.New(rand.NewPCG(seed, 0x6b61766163)))
	}
	names := make([]string, 0, len(orders))
	for k := range orders {
		names = append(names, k)
	}
	slices.Sort(names)
	dir := t.TempDir()
	paths := map[string]string{}
	for i, name := range names {
		paths[name] = filepath.Join(dir, fmt.Sprintf("order-%d.db", i))
		if err := node.ReplayEvents(ctx, paths[name], services, orders[name]); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, name := range names[1:] {
		faults, err := node.CompareProjections(ctx, paths[names[0]], paths[name])
		if err != nil {
			t.Fatal(err)
		}
		if len(faults) > 0 {
			t.Errorf("%s and %s build different tables:\n%s", names[0], name, strings.Join(faults, "\n"))
		}
	}
}

// interleave merges two event lists at random, keeping each list's order.
func interleave(a, b []*journal.Event, r *rand.Rand) []*journal.Event {
	out := make([]*journal.Event, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		if len(b) == 0 || (len(a) > 0 && r.IntN(2) == 0) {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return out
}
