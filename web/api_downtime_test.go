package web_test

import (
	"strings"
	"testing"
	"time"

	"kavach"
)

// testDowntimeKit: a kit of UHIDs reserved for paper sheets, from the
// node's kept range; the counter's own UHIDs carry on below it; a sheet
// entered later keeps its UHID, records when the patient was seen, and
// cannot be entered twice; bad sheets are refused, naming the field.
func testDowntimeKit(t *testing.T, f *fixture) {
	var kit struct {
		First, Last string
		UHIDs       []string
	}
	f.call(t, "POST", "/api/v1/downtime-kits", "registration", map[string]int{"sheets": 3}).want(t, 201, &kit)
	if len(kit.UHIDs) != 3 || !strings.HasPrefix(kit.First, "KA9000001") || kit.UHIDs[2] != kit.Last {
		t.Fatalf("kit: %+v", kit)
	}
	for _, n := range []int{0, 501, -1} {
		f.call(t, "POST", "/api/v1/downtime-kits", "registration", map[string]int{"sheets": n}).wantError(t, 400, "invalid", "sheets")
	}
	f.call(t, "POST", "/api/v1/downtime-kits", "doctor", map[string]int{"sheets": 3}).wantError(t, 403, "forbidden", "")

	seen := time.Now().In(kavach.Zone).Add(-2 * time.Hour).Format("2006-01-02T15:04")
	sheet := func(uhid, seenAt string) map[string]any {
		return map[string]any{"uhid": uhid, "department": "MED", "seen_at": seenAt, "paper_token": "17",
			"name": "Paper Patient", "sex": "F", "age_years": 33, "mobile": "9833300000", "address": "Gali 3", "guardian_name": "Om Prakash"}
	}
	var v struct {
		VisitID string `json:"visit_id"`
		UHID    string `json:"uhid"`
		Token   int    `json:"token"`
		Opened  string `json:"opened_at"`
		Seen    string `json:"seen_at"`
	}
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet(kit.UHIDs[1], seen)).want(t, 201, &v)
	if v.UHID != kit.UHIDs[1] || v.Token != 0 || !strings.HasPrefix(v.VisitID, "KAV") {
		t.Errorf("entered: %+v", v)
	}
	if got, _ := time.Parse(time.RFC3339Nano, v.Seen); got.In(kavach.Zone).Format("2006-01-02T15:04") != seen {
		t.Errorf("seen at %q, the sheet says %s", v.Seen, seen)
	}
	f.call(t, "GET", "/api/v1/patients/"+kit.UHIDs[1], "registration", nil).want(t, 200, nil)
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet(kit.UHIDs[1], seen)).wantError(t, 409, "conflict", "uhid")
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet("KA00000019", seen)).wantError(t, 400, "invalid", "uhid")
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet("KB9000001", seen)).wantError(t, 400, "invalid", "uhid")
	future := time.Now().In(kavach.Zone).Add(3 * time.Hour).Format("2006-01-02T15:04")
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet(kit.UHIDs[2], future)).wantError(t, 400, "invalid", "seen_at")
	f.call(t, "POST", "/api/v1/back-entries", "registration", sheet(kit.UHIDs[2], "yesterday")).wantError(t, 400, "invalid", "seen_at")

	// The counter's own next UHID is below the kept range.
	var p struct{ UHID string }
	f.call(t, "POST", "/api/v1/patients", "registration", map[string]any{"name": "Counter Patient", "sex": "M", "age_years": 50,
		"mobile": "9833300001", "address": "Gali 4", "guardian_name": "Om Prakash"}).want(t, 201, &p)
	if strings.HasPrefix(p.UHID, "KA9") {
		t.Errorf("the counter issued %s, from the kit range", p.UHID)
	}
}

// testReconciliation: the worklist is empty on a node alone, an unknown
// item cannot be resolved, and the roles that may not see it are refused.
func testReconciliation(t *testing.T, f *fixture) {
	var out struct{ Items []any }
	f.call(t, "GET", "/api/v1/reconciliation", "registration", nil).want(t, 200, &out)
	if len(out.Items) != 0 {
		t.Errorf("items on a node alone: %v", out.Items)
	}
	f.call(t, "GET", "/api/v1/reconciliation", "admin", nil).want(t, 200, nil)
	f.call(t, "GET", "/api/v1/reconciliation", "doctor", nil).wantError(t, 403, "forbidden", "")
	f.call(t, "POST", "/api/v1/reconciliation/duplicate:KA00000019:KB00000011/resolve", "registration",
		map[string]string{"reason": "not the same"}).wantError(t, 404, "not_found", "item")
	f.call(t, "POST", "/api/v1/reconciliation/nonsense/resolve", "registration", map[string]string{"reason": "x"}).wantError(t, 400, "invalid", "item")
}
