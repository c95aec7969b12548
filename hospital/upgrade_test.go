package hospital_test

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"kavach/audit"
	"kavach/auth"
	"kavach/hospital"
	"kavach/idcode"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

// unpack copies the data directory that testdata/NAME holds (its database
// gzipped) into a new directory.
func unpack(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("testdata", name)
	in, err := os.Open(filepath.Join(src, "kavach.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(node.DBPath(dir), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"node.key", "node.pub"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A node made by the build that stop 6 landed (testdata/stop6/gen.sh made
// it: amendments, a merge chain, a seen visit, a disabled user) opens with
// this build: the migrations since then run, verify agrees with them, and
// every record reads as it did.
func TestUpgradeFromStop6(t *testing.T) {
	ctx := context.Background()
	dir := unpack(t, "stop6")
	h, err := hospital.Open(ctx, node.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	db := h.Node.DB()
	p, err := registration.Get(ctx, db, "KA0000001H")
	if err != nil || p.Mobile != "9876522222" || p.Address != "New house, Janakpuri" || p.Name != "Ramesh Kumar" {
		t.Errorf("KA0000001H after two amendments: %+v %v", p, err)
	}
	p, err = registration.Get(ctx, db, "KA0000002F")
	if err != nil || p.Name != "Ramesh Kumar Sharma" || p.DateOfBirth != "1980-02-02" || !p.DOBActual {
		t.Errorf("KA0000002F after its amendment: %+v %v", p, err)
	}
	if found, err := registration.Search(ctx, db, "sharma", 10); err != nil || len(found) != 1 || found[0].UHID != "KA0000002F" {
		t.Errorf("search for the amended name: %+v %v", found, err)
	}
	// KA0000003D was merged into KA0000004B, which was then merged into
	// KA00000067: the stop-6 projector had pointed it at KA00000067; now it
	// names its own merge, and leads to the same survivor.
	p, err = registration.Get(ctx, db, "KA0000003D")
	if err != nil || p.MergedInto != "KA0000004B" {
		t.Errorf("KA0000003D merged into: %+v %v", p, err)
	}
	if s, err := registration.Resolve(ctx, db, "KA0000003D"); err != nil || s.UHID != "KA00000067" {
		t.Errorf("KA0000003D resolves to %+v %v, want KA00000067", s, err)
	}
	hs, err := registration.History(ctx, db, "KA0000002F")
	if err != nil || len(hs) != 2 || hs[1].Action != "amended" {
		t.Errorf("history of KA0000002F: %+v %v", hs, err)
	}
	v, err := opd.GetVisit(ctx, db, "KAV00000004L")
	if err != nil || v.SeenBy != "doctor" {
		t.Errorf("the seen visit: %+v %v", v, err)
	}
	us, err := auth.Users(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if (u.Username == "clerk2") != u.Disabled {
			t.Errorf("user %s disabled: %v", u.Username, u.Disabled)
		}
	}
	es, err := audit.Entries(ctx, db, audit.Query{})
	if err != nil || len(es) != 4 || es[0].Action != "api.history" {
		t.Errorf("the audit trail: %+v %v", es, err)
	}
	// Numbers go on from where they were.
	var next *registration.Registration
	err = h.Node.Do(ctx, "registration", func(tx *node.Tx) (err error) {
		age := 30
		next, err = registration.Register(tx, &registration.NewPatient{Name: "Kamla Devi", Sex: "F", AgeYears: &age,
			Mobile: "9811100000", Address: "Dwarka", GuardianName: "Shyam Lal"})
		return err
	})
	if want := idcode.Make("KA", 8, 7); err != nil || next.Patient.UHID != want {
		t.Errorf("the next UHID: %+v %v, want %s", next.Patient, err, want)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify after the upgrade: %v %+v", err, rep)
	}
}
