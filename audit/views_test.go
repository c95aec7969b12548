package audit_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/hospital"
	"kavach/node"
	"kavach/registration"
)

// TestViews checks that a view of many patients is one view, which each
// patient's filter finds, and that From and To bound the views' times.
func TestViews(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 0, 30, 0, 0, kavach.Zone) // 1 March in UTC
	h, err := hospital.Open(ctx, node.Config{Dir: t.TempDir(), Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	age := 30
	var uhids []string
	for i, name := range []string{"Sita Devi", "Mohan Lal", "Farida Khan"} {
		err := h.Node.Do(ctx, "clerk", func(tx *node.Tx) error {
			r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "F", AgeYears: &age, Mobile: fmt.Sprintf("98100000%02d", 11+i), Address: "Dwarka", GuardianName: "Ram"})
			if r != nil {
				uhids = append(uhids, r.Patient.UHID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.Viewed(ctx, h.Node, "doctor", "page.queue", uhids...); err != nil {
		t.Fatal(err)
	}
	now = now.Add(24 * time.Hour)
	if err := audit.Viewed(ctx, h.Node, "doctor", "page.slip", uhids[1]); err != nil {
		t.Fatal(err)
	}
	day := func(s string) time.Time {
		d, _ := time.ParseInLocation("2006-01-02", s, kavach.Zone)
		return d
	}
	actions := func(q audit.Query) []string {
		vs, err := audit.Views(ctx, h.Node.DB(), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, v := range vs {
			out = append(out, v.Action)
			if v.Action == "page.queue" && !slices.Equal(v.Patients, sortedCopy(uhids)) {
				t.Errorf("the queue view's patients: %v, want %v", v.Patients, uhids)
			}
		}
		return out
	}
	for _, c := range []struct {
		q    audit.Query
		want []string
	}{
		{audit.Query{User: "doctor"}, []string{"page.slip", "page.queue"}},
		{audit.Query{Patient: uhids[2]}, []string{"page.queue"}},
		{audit.Query{Patient: uhids[1]}, []string{"page.slip", "page.queue"}},
		{audit.Query{User: "doctor", From: day("2026-03-03")}, []string{"page.slip"}},
		{audit.Query{User: "doctor", To: day("2026-03-03")}, []string{"page.queue"}},
		{audit.Query{Patient: uhids[1], From: day("2026-03-02"), To: day("2026-03-03")}, []string{"page.queue"}},
		{audit.Query{User: "doctor", From: day("2026-03-04")}, nil},
	} {
		if got := actions(c.q); !slices.Equal(got, c.want) {
			t.Errorf("%+v: %v, want %v", c.q, got, c.want)
		}
	}
	// The API's entries stay one for each patient.
	es, err := audit.Entries(ctx, h.Node.DB(), audit.Query{User: "doctor", To: day("2026-03-03")})
	if err != nil || len(es) != 3 {
		t.Errorf("entries of the queue view: %v %+v", err, es)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
