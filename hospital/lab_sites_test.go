package hospital_test

import (
	"context"
	"strings"
	"testing"

	"kavach/internal/servicetest"
	"kavach/lab"
	"kavach/node"
	"kavach/registration"
)

// TestLabOnSite: the lab's site node works through the central's downtime
// (collection, receipt, results, a critical call, verification and release,
// an outside prescription for a patient registered there) while the central
// collects samples of its own; their accession numbers never collide, the
// two converge to the same tables, and the central proves the report the
// site released against the site's own signed journal.
func TestLabOnSite(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Central lab")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)

	// Before the outage the doctor orders at the central.
	uhid, visit := register(t, ka, "Asha Verma", "9810000001")
	other, _ := register(t, ka, "Vinod Rai", "9810000002")
	var order, order2 *lab.Order
	ka.Do(t, "doctor", func(tx *node.Tx) error {
		var err error
		if order, err = lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, VisitID: visit.ID, Tests: []string{"CBC", "GLUF"}}, true); err != nil {
			return err
		}
		order2, err = lab.PlaceOrder(tx, lab.NewOrder{UHID: other, Tests: []string{"KFT"}}, true)
		return err
	})
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)

	// The central is down: the site works alone.
	var atB *lab.Collected
	kb.Do(t, "lab", func(tx *node.Tx) error {
		var err error
		atB, err = lab.Collect(tx, order.ID)
		return err
	})
	for _, s := range atB.Samples {
		if !strings.HasPrefix(s.Accession, "KBL") {
			t.Fatalf("the site issued accession %s", s.Accession)
		}
		kb.Do(t, "lab", func(tx *node.Tx) error { _, err := lab.Receive(tx, s.Accession); return err })
	}
	edta, grey := atB.Samples[0].Accession, atB.Samples[1].Accession
	kb.Do(t, "lab", func(tx *node.Tx) error {
		_, _, err := lab.AddResults(tx, edta, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "6.1"}, {Analyte: "WBC", Value: "7"},
			{Analyte: "PLT", Value: "250"}, {Analyte: "RBC", Value: "3.1"}, {Analyte: "HCT", Value: "22"}, {Analyte: "MCV", Value: "70"},
			{Analyte: "MCH", Value: "22"}, {Analyte: "MCHC", Value: "30"}, {Analyte: "RDW", Value: "17"}, {Analyte: "MPV", Value: "9"}}})
		return err
	})
	kb.Do(t, "lab", func(tx *node.Tx) error {
		_, err := lab.RecordCall(tx, edta, lab.Call{Analyte: "HGB", CalledTo: "Dr. Rao, ward 7"})
		return err
	})
	kb.Do(t, "pathologist", func(tx *node.Tx) error { _, _, err := lab.Verify(tx, edta, "Dr. P. Path"); return err })
	var walkIn string
	kb.Do(t, "registration", func(tx *node.Tx) error {
		age := 70
		r, err := registration.Register(tx, &registration.NewPatient{Name: "Kishan Lal", Sex: "M", AgeYears: &age, Mobile: "9810000003",
			Address: "Sector 9", GuardianName: "Hari Lal"})
		walkIn = r.Patient.UHID
		return err
	})
	kb.Do(t, "lab", func(tx *node.Tx) error {
		o, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: walkIn, Tests: []string{"HBA1C"}, Prescriber: "Dr. S. Gupta"}, false)
		if err != nil {
			return err
		}
		_, err = lab.Collect(tx, o.ID)
		return err
	})
	// Meanwhile the central's own collection room works too.
	var atA *lab.Collected
	ka.Do(t, "nurse", func(tx *node.Tx) error {
		var err error
		atA, err = lab.Collect(tx, order2.ID)
		return err
	})
	if !strings.HasPrefix(atA.Samples[0].Accession, "KAL") {
		t.Fatalf("the central issued accession %s", atA.Samples[0].Accession)
	}

	// The central returns: everything converges.
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	sameTables(t, ka, kb)
	verify(t, ka)
	verify(t, kb)
	for _, n := range []*servicetest.Node{ka, kb} {
		s, err := lab.GetSample(ctx, n.Node.DB(), edta)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != lab.StatusVerified || s.Version != 1 || s.Results[0].Flag != "LL" || s.Results[0].CalledTo != "Dr. Rao, ward 7" {
			t.Fatalf("%s reads %s as %+v", n.Node.Info().NodeCode, edta, s)
		}
		if s, err := lab.GetSample(ctx, n.Node.DB(), grey); err != nil || s.Status != lab.StatusReceived {
			t.Fatalf("%s reads %s: %+v %v", n.Node.Info().NodeCode, grey, s, err)
		}
	}

	// The central proves the site's report against the site's journal.
	pr, err := lab.Prove(ctx, ka.Node, edta, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Proof.Origin != "KB" || pr.Released.Report.VerifiedBy != "Dr. P. Path" {
		t.Fatalf("proof: %+v", pr.Proof)
	}
	b, err := pr.PDF("https://kavach.hospital.example")
	if err != nil {
		t.Fatal(err)
	}
	check, err := lab.CheckReportPDF(b)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := kb.Node.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check.AgainstCheckpoint(cp.Note, "KB's")
	if check.Finish(); !check.OK || check.Origin != "KB" || check.Accession != edta {
		t.Fatalf("the site's report, proven at the central: %+v", check)
	}
}

// TestLabLateResult: a site corrects a result while cut off, and the
// central, not having seen it, releases the report. After they converge,
// on both nodes, the corrected value is not verified: the sample waits for
// the pathologist again, whatever order the two events arrived in.
func TestLabLateResult(t *testing.T) {
	ctx := context.Background()
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "Lab bench")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	uhid, _ := register(t, ka, "Rekha Sinha", "9810000021")
	var c *lab.Collected
	ka.Do(t, "lab", func(tx *node.Tx) error {
		o, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, Tests: []string{"HB"}, Prescriber: "Dr. Ray"}, false)
		if err != nil {
			return err
		}
		if c, err = lab.Collect(tx, o.ID); err != nil {
			return err
		}
		if _, err := lab.Receive(tx, c.Samples[0].Accession); err != nil {
			return err
		}
		_, _, err = lab.AddResults(tx, c.Samples[0].Accession, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "11.0"}}})
		return err
	})
	acc := c.Samples[0].Accession
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	// Cut off: the site corrects the value, the central releases the old.
	kb.Do(t, "lab", func(tx *node.Tx) error {
		_, _, err := lab.AddResults(tx, acc, lab.Entry{Results: []lab.ResultIn{{Analyte: "HGB", Value: "9.8"}}})
		return err
	})
	ka.Do(t, "pathologist", func(tx *node.Tx) error { _, _, err := lab.Verify(tx, acc, "Dr. P. Path"); return err })
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	sameTables(t, ka, kb)
	for _, n := range []*servicetest.Node{ka, kb} {
		s, err := lab.GetSample(ctx, n.Node.DB(), acc)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status != lab.StatusResulted || s.Results[0].Value != "9.8" || s.Results[0].Status != "entered" || s.Version != 1 {
			t.Fatalf("%s: %+v", n.Node.Info().NodeCode, s)
		}
		items, total, err := lab.Worklist(ctx, n.Node.DB(), "HAEM", 10)
		if err != nil || total != 1 || items[0].Accession != acc {
			t.Fatalf("%s: worklist %v %d %v", n.Node.Info().NodeCode, items, total, err)
		}
	}
}
