package servicetest

import (
	"context"
	"fmt"
	"testing"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
)

// Enrol makes a site node of central named code in a new directory, as
// kavach site add and kavach serve --upstream do, but without HTTP: the
// central registers it, the site makes its key and enrols, and records its
// central. The site then holds nothing of the central's journal: Exchange
// brings it.
func Enrol(t testing.TB, central *hospital.Hospital, code, name string) *Node {
	t.Helper()
	ctx := context.Background()
	tok, err := central.Node.AddSite(ctx, "admin", code, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	hc, _, err := node.ParseEnrolmentToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	skey, vkey, err := journal.GenerateKey("kavach/" + hc + "/" + code)
	if err != nil {
		t.Fatal(err)
	}
	en, err := central.Node.Enrol(ctx, tok, vkey, "test")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h, err := hospital.Open(ctx, node.Config{Dir: dir, Init: node.InitConfig{HospitalCode: en.HospitalCode, HospitalName: en.HospitalName,
		NodeCode: en.Code, Key: skey, Verifier: vkey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Node.JoinUpstream(ctx, en, "http://central.invalid"); err != nil {
		t.Fatal(err)
	}
	return &Node{Hospital: h, Dir: dir, Variant: code}
}

// Exchange passes every journal each node holds to every other node, as
// sites and their central do, until none takes in anything more. It
// returns how many events were stored in all.
func Exchange(t testing.TB, nodes ...*hospital.Hospital) int {
	t.Helper()
	total := 0
	for {
		stored := 0
		for _, from := range nodes {
			for _, to := range nodes {
				if from != to {
					stored += pass(t, from, to)
				}
			}
		}
		if stored == 0 {
			return total
		}
		total += stored
	}
}

// pass gives to every run of a journal from holds and to does not; a run
// to refuses (an origin to does not know yet) is left for the next round.
func pass(t testing.TB, from, to *hospital.Hospital) int {
	t.Helper()
	ctx := context.Background()
	have, err := to.Node.Origins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	held, err := from.Node.Origins(ctx)
	if err != nil {
		t.Fatal(err)
	}
	self := from.Node.Info().NodeCode
	stored := 0
	for o, n := range held {
		if o == to.Node.Info().NodeCode || n <= have[o] {
			continue
		}
		b := &node.ReplicaBatch{Origin: o, From: have[o]}
		if o == self {
			evs, err := from.Node.EventsFrom(ctx, have[o], n, int(n-have[o]))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				b.Events = append(b.Events, e.Data)
			}
			if b.Checkpoint, err = from.Node.CheckpointAt(ctx, n); err != nil {
				t.Fatal(err)
			}
		} else {
			evs, cp, err := from.Node.ReplicaRun(ctx, o, have[o], int(n-have[o]))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				b.Events = append(b.Events, e.Data)
			}
			b.Checkpoint = cp
		}
		res, err := to.Node.Receive(ctx, b)
		if err != nil {
			if res == nil {
				t.Fatal(fmt.Errorf("%s → %s: %s's events: %w", self, to.Node.Info().NodeCode, o, err))
			}
			continue
		}
		stored += res.Stored
	}
	return stored
}
