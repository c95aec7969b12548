package audit_test

import (
	"context"
	"reflect"
	"testing"

	"kavach/audit"
	"kavach/hospital"
	"kavach/node"
	"kavach/registration"
)

// A node whose trail is in the shape of audit/001 (an entry for each patient
// of a view) gets it moved by audit/002 and audit/003 without a change to
// what the trail says, and verify's replay, which writes the new shape,
// agrees.
func TestMigrateOldShape(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *hospital.Hospital {
		h, err := hospital.Open(ctx, node.Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := open()
	age := 40
	var uhids []string
	for _, mobile := range []string{"9810000001", "9810000002", "9810000003"} {
		err := h.Node.Do(ctx, "clerk", func(tx *node.Tx) error {
			r, err := registration.Register(tx, &registration.NewPatient{Name: "Ram Kumar", Sex: "M", AgeYears: &age, Mobile: mobile, Address: "Dwarka", GuardianName: "Kishan"})
			if r != nil {
				uhids = append(uhids, r.Patient.UHID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.Viewed(ctx, h.Node, "doctor", "api.patient", uhids...); err != nil {
		t.Fatal(err)
	}
	before, err := audit.Entries(ctx, h.Node.DB(), audit.Query{})
	if err != nil || len(before) < 3 {
		t.Fatalf("trail before: %v %+v", err, before)
	}
	queries := []audit.Query{{Patient: uhids[0]}, {User: "doctor"}, {Patient: uhids[1], User: "doctor"}, {User: "nobody"}}
	lookups := func() [][]audit.Entry {
		var out [][]audit.Entry
		for _, q := range queries {
			es, err := audit.Entries(ctx, h.Node.DB(), q)
			if err != nil {
				t.Fatalf("%+v: %v", q, err)
			}
			out = append(out, es)
		}
		return out
	}
	looked := lookups()
	if len(looked[0]) < 1 || len(looked[1]) != 3 || len(looked[2]) != 1 || len(looked[3]) != 0 {
		t.Fatalf("lookups before the migration: %+v", looked)
	}
	h.Close()

	// Put the trail back in the old shape, as a node from before audit/002 has it.
	db, err := node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE audit_entries (idx INTEGER NOT NULL, patient TEXT NOT NULL, time TEXT NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL, PRIMARY KEY (idx, patient)) WITHOUT ROWID`,
		`CREATE INDEX audit_by_patient ON audit_entries (patient, idx)`,
		`CREATE INDEX audit_by_user ON audit_entries (username, idx)`,
		`INSERT INTO audit_entries SELECT v.seq - 1, p.patient, v.time, v.username, v.action FROM audit_views v JOIN audit_patients p ON p.time = v.time AND p.origin = v.origin AND p.seq = v.seq`,
		`DROP TABLE audit_views`,
		`DROP TABLE audit_patients`,
		`DELETE FROM local_migrations WHERE name IN ('audit/002', 'audit/003')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	h = open()
	after, err := audit.Entries(ctx, h.Node.DB(), audit.Query{})
	if err != nil || !reflect.DeepEqual(after, before) {
		t.Fatalf("trail after the migration:\n%+v\nwant\n%+v (%v)", after, before, err)
	}
	if again := lookups(); !reflect.DeepEqual(again, looked) {
		t.Fatalf("lookups after the migration:\n%+v\nwant\n%+v", again, looked)
	}
	h.Close()
	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify after the migration: %v %+v", err, rep)
	}
}
