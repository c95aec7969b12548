package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

// A node that a build before this one left with a form's bytes that were
// not UTF-8 (the journal's JSON holds U+FFFD, the tables the bytes) fails
// verify for ever; kavach repair's node.repaired event clears it, sets the
// cells to what the journal says, and a second look finds nothing left.
func TestRepairText(t *testing.T) {
	ctx := context.Background()
	dir, p := seed(t)
	// What the old build left after an amendment typed with the byte 0xff
	// in the address and the reason.
	db, err := node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var code string
	if err := db.QueryRow(`SELECT code FROM nodes`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	b, err := journal.NewAppender(code).Begin(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := journal.MarshalPayload(registration.Amended{UHID: p.UHID, Changes: map[string]string{"address": "A\uFFFDB"}, Reason: "moved\uFFFD"})
	if err != nil {
		t.Fatal(err)
	}
	e := &journal.Event{Time: time.Now().UTC().Truncate(time.Microsecond), Actor: "registration", Type: "patient.amended", Payload: payload}
	if _, err := b.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE patients SET address = ? WHERE uhid = ?`, []any{"A\xffB", p.UHID}},
		{`INSERT INTO patient_changes (uhid, field, stamp, value) VALUES (?, 'address', ?, ?)`, []any{p.UHID, node.Stamp(e), "A\xffB"}},
		{`INSERT INTO patient_history (uhid, time, origin, seq, actor, action, details) VALUES (?, ?, ?, ?, 'registration', 'amended', ?)`,
			[]any{p.UHID, e.Time.Format(journal.TimeFormat), e.Origin, e.Seq, "address → A\xffB (moved\xff)"}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || rep.OK {
		t.Fatalf("verify before the repair: %v %+v", err, rep)
	}
	cells, faults, err := node.TextRepairs(ctx, dir, hospital.Services())
	if err != nil || len(faults) > 0 || len(cells) != 3 {
		t.Fatalf("repairs: %v, faults %v, cells %+v", err, faults, cells)
	}
	for _, c := range cells {
		if s := c.String(); !strings.Contains(s, `uhid="`+p.UHID+`"`) || !strings.Contains(s, `A\xffB`) {
			t.Errorf("a cell as a person reads it: %s", s)
		}
	}
	h := openHospital(t, dir)
	if err := h.Node.Repair(ctx, "admin", "a form's bytes from an old build", cells); err != nil {
		t.Fatal(err)
	}
	got, err := registration.Get(ctx, h.Node.DB(), p.UHID)
	if err != nil || got.Address != "A\uFFFDB" {
		t.Fatalf("address after the repair: %q %v", got.Address, err)
	}
	hs, err := registration.History(ctx, h.Node.DB(), p.UHID)
	if err != nil || !strings.Contains(hs[len(hs)-1].Details, "A\uFFFDB (moved\uFFFD)") {
		t.Fatalf("history after the repair: %+v %v", hs, err)
	}
	h.Close()
	rep, err = node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify after the repair: %v %+v", err, rep)
	}
	if cells, faults, err := node.TextRepairs(ctx, dir, hospital.Services()); err != nil || len(cells)+len(faults) != 0 {
		t.Fatalf("a second look: %v %v %v", cells, faults, err)
	}
}
