package hospital_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach"
	"kavach/hospital"
	"kavach/internal/servicetest"
	"kavach/journal"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// register registers a patient at n and opens a MED visit for them.
func register(t *testing.T, n *servicetest.Node, name, mobile string) (string, *opd.Visit) {
	t.Helper()
	age := 30
	var uhid string
	var v *opd.Visit
	n.Do(t, "registration", func(tx *node.Tx) error {
		r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "F", AgeYears: &age, Mobile: mobile,
			Address: "Ward 4, Delhi", GuardianName: "Guardian"})
		if err != nil {
			return err
		}
		uhid = r.Patient.UHID
		v, err = opd.Open(tx, opd.NewVisit{UHID: uhid, Department: "MED"})
		return err
	})
	return uhid, v
}

func origins(t *testing.T, n *servicetest.Node) map[string]uint64 {
	t.Helper()
	o, err := n.Node.Origins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func verify(t *testing.T, n *servicetest.Node) {
	t.Helper()
	rep, err := node.Verify(context.Background(), n.Dir, hospital.Services(), node.VerifyOptions{ScratchDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("verify on %s: %v", n.Node.Info().NodeCode, rep.Faults)
	}
}

// sameTables checks that every projection of a equals b's.
func sameTables(t *testing.T, a, b *servicetest.Node) {
	t.Helper()
	faults, err := node.CompareProjections(context.Background(), node.DBPath(a.Dir), node.DBPath(b.Dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(faults) > 0 {
		t.Errorf("%s and %s differ:\n%s", a.Node.Info().NodeCode, b.Node.Info().NodeCode, strings.Join(faults, "\n"))
	}
}

// TestSitesConverge: a central and two sites each register patients and
// open visits, cut off from each other, then exchange journals: all three
// hold every origin's events, read the same, issued no identifier twice,
// and verify.
func TestSitesConverge(t *testing.T) {
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "OPD counter 2")
	kc := servicetest.Enrol(t, ka.Hospital, "KC", "OPD counter 3")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital, kc.Hospital)

	uhids, visits, tokens := map[string]bool{}, map[string]bool{}, map[string]bool{}
	var atB string
	for i := range 5 {
		for _, n := range []*servicetest.Node{ka, kb, kc} {
			u, v := register(t, n, fmt.Sprintf("Patient %c %c", 'A'+i, n.Node.Info().NodeCode[1]), fmt.Sprintf("98%08d", i))
			if uhids[u] || visits[v.ID] || tokens[v.Date+fmt.Sprint(v.Token)] {
				t.Fatalf("an identifier was issued twice: %s %s %d", u, v.ID, v.Token)
			}
			uhids[u], visits[v.ID], tokens[v.Date+fmt.Sprint(v.Token)] = true, true, true
			if !strings.HasPrefix(u, n.Node.Info().NodeCode) {
				t.Errorf("%s issued UHID %s", n.Node.Info().NodeCode, u)
			}
			if n == kb {
				atB = u
			}
		}
	}
	// KC's visits use its own block of tokens.
	for _, n := range []*servicetest.Node{ka, kb, kc} {
		_, v := register(t, n, "Token Check", "9111111111")
		ns := map[string][2]int{"KA": {1, 999999}, "KB": {1000001, 1999999}, "KC": {2000001, 2999999}}[n.Node.Info().NodeCode]
		if v.Token < ns[0] || v.Token > ns[1] {
			t.Errorf("%s gave token %d, outside %v", n.Node.Info().NodeCode, v.Token, ns)
		}
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital, kc.Hospital)
	// A visit at the central for a patient of KB, and at KC for one of KB.
	for _, n := range []*servicetest.Node{ka, kc} {
		n.Do(t, "registration", func(tx *node.Tx) error {
			_, err := opd.Open(tx, opd.NewVisit{UHID: atB, Department: "ENT"})
			return err
		})
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital, kc.Hospital)

	want := origins(t, ka)
	for _, n := range []*servicetest.Node{kb, kc} {
		if got := origins(t, n); !maps.Equal(got, want) {
			t.Errorf("%s holds %v, the central %v", n.Node.Info().NodeCode, got, want)
		}
	}
	sameTables(t, ka, kb)
	sameTables(t, ka, kc)
	for _, n := range []*servicetest.Node{ka, kb, kc} {
		verify(t, n)
	}
	p, err := registration.Get(context.Background(), kc.Node.DB(), atB)
	if err != nil || p.UHID != atB {
		t.Fatalf("KC reads %s: %v", atB, err)
	}
}

// TestCausalOrder: a site that gets the central's journal before the
// journal of the site whose patient the central's visit names holds the
// visit back until the patient is there.
func TestCausalOrder(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Counter 2")
	kc := servicetest.Enrol(t, ka.Hospital, "KC", "Counter 3")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital, kc.Hospital)
	uhid, _ := register(t, kb, "Sita Devi", "9812345678")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital) // KC is cut off
	var visit string
	ka.Do(t, "registration", func(tx *node.Tx) error {
		v, err := opd.Open(tx, opd.NewVisit{UHID: uhid, Department: "ENT"})
		visit = v.ID
		return err
	})
	// KC gets the central's own journal only.
	held := origins(t, kc)
	size := ka.Node.Status().Events
	evs, err := ka.Node.EventsFrom(ctx, held["KA"], size, int(size))
	if err != nil {
		t.Fatal(err)
	}
	b := &node.ReplicaBatch{Origin: "KA", From: held["KA"]}
	for _, e := range evs {
		b.Events = append(b.Events, e.Data)
	}
	if b.Checkpoint, err = ka.Node.CheckpointAt(ctx, size); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Node.Receive(ctx, b); err != nil {
		t.Fatal(err)
	}
	if _, err := opd.GetVisit(ctx, kc.Node.DB(), visit); kavach.ErrorCode(err) != kavach.ENOTFOUND {
		t.Fatalf("KC applied the central's visit %s before the patient it names: %v", visit, err)
	}
	verify(t, kc) // held back, not lost: verify agrees
	servicetest.Exchange(t, ka.Hospital, kb.Hospital, kc.Hospital)
	if v, err := opd.GetVisit(ctx, kc.Node.DB(), visit); err != nil || v.UHID != uhid {
		t.Fatalf("KC, once it has KB's events: %v %v", v, err)
	}
	sameTables(t, ka, kc)
	verify(t, kc)
}

// alerts returns the node's own alerts of kind.
func alerts(t *testing.T, n *servicetest.Node, kind string) []node.AlertRow {
	t.Helper()
	as, err := node.Alerts(context.Background(), n.Node.DB(), n.Node.Info().NodeCode, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []node.AlertRow
	for _, a := range as {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// TestEnrolmentRefusals: a forged, an expired and a reused enrolment token,
// and a site presenting another site's key, are each refused and journaled
// as an alert, and enrol nothing.
func TestEnrolmentRefusals(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Counter 2")
	_, fresh, _ := journal.GenerateKey("kavach/KVH/KC")
	try := func(name, tok, key string, want string) {
		t.Helper()
		sites, _ := node.Sites(ctx, ka.Node.DB())
		before := len(alerts(t, ka, node.AlertEnrolment))
		_, err := ka.Node.Enrol(ctx, tok, key, "192.0.2.7")
		if code := kavach.ErrorCode(err); code != want {
			t.Errorf("%s: %v (%s), want %s", name, err, code, want)
		}
		if after := len(alerts(t, ka, node.AlertEnrolment)); after != before+1 {
			t.Errorf("%s: %d alerts journaled, want 1", name, after-before)
		}
		if now, _ := node.Sites(ctx, ka.Node.DB()); fmt.Sprint(now) != fmt.Sprint(sites) {
			t.Errorf("%s changed the sites: %v → %v", name, sites, now)
		}
	}
	try("forged", "kve_KVH.KC.Zm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2VkZm9yZ2Vk", fresh, kavach.EUNAUTHORIZED)
	tok, err := ka.Node.AddSite(ctx, "admin", "KC", "Counter 3", time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	try("expired", tok, fresh, kavach.EUNAUTHORIZED)
	tok, err = ka.Node.AddSite(ctx, "admin", "KD", "Counter 4", 0)
	if err != nil {
		t.Fatal(err)
	}
	_, kdKey, _ := journal.GenerateKey("kavach/KVH/KD")
	// KB's key, renamed for KD, is still KB's key.
	try("another site's key", tok, strings.Replace(kb.Node.Info().Verifier, "/KB+", "/KD+", 1), kavach.ECONFLICT)
	if _, err := ka.Node.Enrol(ctx, tok, kdKey, "192.0.2.8"); err != nil {
		t.Fatal(err)
	}
	try("reused", tok, kdKey, kavach.EUNAUTHORIZED)
	if _, err := ka.Node.AddSite(ctx, "admin", "KB", "Again", 0); kavach.ErrorCode(err) != kavach.ECONFLICT {
		t.Errorf("a second site KB: %v", err)
	}
	if _, err := ka.Node.AddSite(ctx, "admin", "K1", "Bad", 0); kavach.ErrorCode(err) != kavach.EINVALID || !strings.Contains(err.(*kavach.Error).Fields["code"], "two letters") {
		t.Errorf("code K1: %v", err)
	}
	verify(t, ka)
}

// TestEnrolmentKeyMaterial: a key is another node's by its key material,
// which is standard base64 and may hold a "+": a copy of a key ending in
// "+" is still refused, and a new key that merely ends like another node's
// after a "+" is not.
func TestEnrolmentKeyMaterial(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	// keyWith returns an Ed25519 verifier for name whose key part
	// satisfies ok, and its public key.
	keyWith := func(name string, ok func(key string) bool) (string, ed25519.PublicKey) {
		for {
			pub, _, err := ed25519.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			v, err := note.NewEd25519VerifierKey(name, pub)
			if err != nil {
				t.Fatal(err)
			}
			if ok(strings.SplitN(v, "+", 3)[2]) { // name+hash+key
				return v, pub
			}
		}
	}
	enrol := func(code, verifier string) error {
		tok, err := ka.Node.AddSite(ctx, "admin", code, "Counter "+code, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ka.Node.Enrol(ctx, tok, verifier, "192.0.2.9")
		return err
	}

	endsInPlus, _ := keyWith("kavach/KVH/KB", func(k string) bool { return strings.HasSuffix(k, "+") })
	if err := enrol("KB", endsInPlus); err != nil {
		t.Fatal(err)
	}
	renamed, err := note.NewEd25519VerifierKey("kavach/KVH/KC", mustPublic(t, endsInPlus))
	if err != nil {
		t.Fatal(err)
	}
	if err := enrol("KC", renamed); kavach.ErrorCode(err) != kavach.ECONFLICT {
		t.Errorf("KB's key (ending in +) renamed for KC: %v, want a conflict", err)
	}

	// A key with a "+" well inside it, and another that differs only
	// before that "+": not the same key.
	inner, pub := keyWith("kavach/KVH/KD", func(k string) bool { return strings.LastIndex(k, "+") > 8 })
	if err := enrol("KD", inner); err != nil {
		t.Fatal(err)
	}
	other := slices.Clone(pub)
	other[0] ^= 0xff
	alike, err := note.NewEd25519VerifierKey("kavach/KVH/KE", other)
	if err != nil {
		t.Fatal(err)
	}
	if err := enrol("KE", alike); err != nil {
		t.Errorf("a key of its own that ends like KD's after a +: %v", err)
	}
}

// mustPublic returns the Ed25519 public key of a verifier.
func mustPublic(t *testing.T, verifier string) ed25519.PublicKey {
	t.Helper()
	parts := strings.SplitN(verifier, "+", 3)
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 1+ed25519.PublicKeySize {
		t.Fatalf("verifier %q: %v", verifier, err)
	}
	return ed25519.PublicKey(raw[1:])
}

// TestReceiveRefusals: a site's events outside its namespace, a history
// that rewrites what the central already holds, and a key the central does
// not trust are each refused, journaled as an alert, and change nothing;
// the new key of a restored site is taken once the administrator approves
// it.
func TestReceiveRefusals(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")

	t.Run("Namespace", func(t *testing.T) {
		kb := servicetest.Enrol(t, ka.Hospital, "KB", "Counter 2")
		servicetest.Exchange(t, ka.Hospital, kb.Hospital)
		register(t, kb, "Good Patient", "9800000001")
		servicetest.Exchange(t, ka.Hospital, kb.Hospital)
		held := origins(t, ka)["KB"]
		// KB (a buggy or hostile build) issues a UHID of the central's.
		kb.Do(t, "registration", func(tx *node.Tx) error {
			_, err := node.Emit(tx, registration.PatientRegistered, registration.Registered{UHID: "KA0000099X", Name: "Forged", Sex: "M",
				DateOfBirth: "1990-01-01", Mobile: "9800000002", Address: "x", GuardianName: "y", Category: "general",
				RegisteredAt: tx.Now.Format(journal.TimeFormat), RegisteredBy: "registration"})
			return err
		})
		servicetest.Exchange(t, ka.Hospital, kb.Hospital)
		if got := origins(t, ka)["KB"]; got != held {
			t.Errorf("the central took KB's events up to %d, past the forged one at %d", got, held)
		}
		if as := alerts(t, ka, node.AlertNamespace); len(as) != 1 || !strings.Contains(as[0].Message, "KA0000099X") {
			t.Errorf("alerts: %+v", as)
		}
		if _, err := registration.Get(ctx, ka.Node.DB(), "KA0000099X"); kavach.ErrorCode(err) != kavach.ENOTFOUND {
			t.Errorf("the forged patient is at the central: %v", err)
		}
	})

	t.Run("Rewrite", func(t *testing.T) {
		ke := servicetest.Enrol(t, ka.Hospital, "KE", "Counter 5")
		servicetest.Exchange(t, ka.Hospital, ke.Hospital)
		// An old copy of KE's directory, put back and used: its events
		// from here differ from the ones the central gets from KE.
		ke.Close()
		old := copyDir(t, ke.Dir)
		reopened, err := hospital.Open(ctx, node.Config{Dir: ke.Dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { reopened.Close() })
		ke.Hospital = reopened
		copyNode, err := hospital.Open(ctx, node.Config{Dir: old})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { copyNode.Close() })
		oldKE := &servicetest.Node{Hospital: copyNode, Dir: old}
		register(t, ke, "Real Patient", "9800000003")
		register(t, oldKE, "Other Patient", "9800000004")
		register(t, oldKE, "Third Patient", "9800000006")
		servicetest.Exchange(t, ka.Hospital, ke.Hospital)
		held := origins(t, ka)["KE"]
		before := ka.Node.Status().Events
		servicetest.Exchange(t, ka.Hospital, oldKE.Hospital)
		if got := origins(t, ka)["KE"]; got != held {
			t.Errorf("the central's copy of KE went from %d to %d events", held, got)
		}
		as := alerts(t, ka, node.AlertFork)
		if len(as) != 1 || !strings.Contains(as[0].Message, "rewritten") {
			t.Fatalf("alerts: %+v", as)
		}
		var kept int
		ka.Node.DB().QueryRow(`SELECT count(*) FROM local_replica_forks WHERE origin = 'KE'`).Scan(&kept)
		if kept != 1 {
			t.Errorf("%d forks kept aside, want 1", kept)
		}
		evs, err := ka.Node.EventsFrom(ctx, before, ka.Node.Status().Events, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range evs {
			// The alert, and the causal marker before it.
			if e, _ := journal.Decode(raw.Data); e.Type != "node.alert" && e.Type != "node.synced" {
				t.Errorf("the refusal journaled a %s", e.Type)
			}
		}
	})

	t.Run("Key", func(t *testing.T) {
		kf := servicetest.Enrol(t, ka.Hospital, "KF", "Counter 6")
		servicetest.Exchange(t, ka.Hospital, kf.Hospital)
		// KF is restored from a backup after an attack: it signs with a
		// new key from then on.
		id, _ := age.GenerateX25519Identity()
		vdir := t.TempDir()
		servicetest.BackUp(t, kf.Hospital, vdir, id.Recipient(), 50)
		keys, err := servicetest.Keys(ctx, kf.Hospital)
		if err != nil {
			t.Fatal(err)
		}
		kf.Close()
		dir := servicetest.Restore(t, vdir, id, "kavach/KVH/KF", keys)
		h, err := hospital.Open(ctx, node.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		restored := &servicetest.Node{Hospital: h, Dir: dir}
		register(t, restored, "After Restore", "9800000005")
		held := origins(t, ka)["KF"]
		servicetest.Exchange(t, ka.Hospital, restored.Hospital)
		if got := origins(t, ka)["KF"]; got != held {
			t.Fatalf("the central took KF's events under a key nobody approved: %d → %d", held, got)
		}
		as := alerts(t, ka, node.AlertKey)
		if len(as) != 1 || !strings.Contains(as[0].Message, "approve-key") {
			t.Fatalf("alerts: %+v", as)
		}
		if err := ka.Node.ApproveKey(ctx, "admin", "KF", restored.Node.Info().Verifier, "KF restored on 5 Dec, key checked by phone"); err != nil {
			t.Fatal(err)
		}
		servicetest.Exchange(t, ka.Hospital, restored.Hospital)
		if got := origins(t, ka)["KF"]; got != restored.Node.Status().Events {
			t.Fatalf("after the approval the central holds %d of KF's %d events", got, restored.Node.Status().Events)
		}
	})
	verify(t, ka)
}

// copyDir copies a stopped node's directory.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// TestReconciliation: one patient registered at two nodes cut off from
// each other, and one field changed at both, go on the worklist of every
// node (the same items), never silently overwritten; a merge clears the
// duplicate; a change made after seeing the other is no conflict; and a
// site that changes a record the central merged meanwhile does not bring
// it back.
func TestReconciliation(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Counter 2")
	shared, _ := register(t, ka, "Shared Patient", "9800000010")
	merged, _ := register(t, ka, "Shared Patient Again", "9800000011")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)

	// Cut off: both register Gopal Das; both change the shared patient's
	// mobile; the central merges a record the site then changes.
	gA, _ := register(t, ka, "Gopal Das", "9812300000")
	gB, _ := register(t, kb, "Gopal Das", "9812300000")
	amend := func(n *servicetest.Node, uhid, mobile string) {
		n.Do(t, "registration", func(tx *node.Tx) error {
			_, err := registration.Amend(tx, registration.Amendment{UHID: uhid, Changes: map[string]string{"mobile": mobile}, Reason: "new phone"})
			return err
		})
	}
	amend(ka, shared, "9800000020")
	amend(kb, shared, "9800000021")
	ka.Do(t, "records", func(tx *node.Tx) error {
		_, err := registration.MergeInto(tx, registration.Merge{From: merged, Into: shared, Reason: "same woman"}, true)
		return err
	})
	amend(kb, merged, "9800000022")
	var atB *opd.Visit
	kb.Do(t, "registration", func(tx *node.Tx) (err error) {
		atB, err = opd.Open(tx, opd.NewVisit{UHID: merged, Department: "ENT"})
		return err
	})
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)

	list := func(n *servicetest.Node) []registration.Item {
		items, err := registration.Worklist(ctx, n.Node.DB())
		if err != nil {
			t.Fatal(err)
		}
		return items
	}
	items := list(ka)
	if a, b := jsonOf(items), jsonOf(list(kb)); a != b {
		t.Fatalf("the worklists differ:\n%s\n%s", a, b)
	}
	var kinds []string
	for _, it := range items {
		kinds = append(kinds, it.Kind+" "+strings.Join(it.Subjects, ","))
	}
	wantDup := registration.KindDuplicate + " " + min(gA, gB) + "," + max(gA, gB)
	if len(items) != 2 || kinds[0] != wantDup || kinds[1] != registration.KindConcurrentEdit+" "+shared {
		t.Fatalf("worklist: %v", kinds)
	}
	edit := items[1]
	p, _ := registration.Get(ctx, ka.Node.DB(), shared)
	if edit.Field != "mobile" || len(edit.Values) != 2 || edit.Kept != p.Mobile {
		t.Errorf("concurrent edit: %+v (the record holds %s)", edit, p.Mobile)
	}
	// The merged record stays merged; the site's change and visit are kept.
	for _, n := range []*servicetest.Node{ka, kb} {
		p, err := registration.Get(ctx, n.Node.DB(), merged)
		if err != nil || p.MergedInto != shared || p.Mobile != "9800000022" {
			t.Errorf("%s: the merged record: %+v %v", n.Node.Info().NodeCode, p, err)
		}
		if v, err := opd.GetVisit(ctx, n.Node.DB(), atB.ID); err != nil || v.UHID != merged {
			t.Errorf("%s: the site's visit: %+v %v", n.Node.Info().NodeCode, v, err)
		}
	}
	sameTables(t, ka, kb)

	// A merge resolves the duplicate; a reason resolves the edit; a later
	// change after seeing the other is no conflict.
	kb.Do(t, "records", func(tx *node.Tx) error {
		_, err := registration.MergeInto(tx, registration.Merge{From: gB, Into: gA, Reason: "the same man"}, true)
		return err
	})
	ka.Do(t, "registration", func(tx *node.Tx) error {
		return registration.Reconcile(tx, edit.ID, "called the patient: 0021 is right")
	})
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	amend(kb, shared, "9800000023")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	for _, n := range []*servicetest.Node{ka, kb} {
		if items := list(n); len(items) != 0 {
			t.Errorf("%s: open items after the merge and the resolution: %+v", n.Node.Info().NodeCode, items)
		}
	}
	sameTables(t, ka, kb)
	verify(t, ka)
	verify(t, kb)
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
