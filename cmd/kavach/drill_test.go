package main

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// TestDrill runs the whole ransomware drill with real processes.
func TestDrill(t *testing.T) {
	out, err := exec.Command(binary(t), "drill", "--json", "--load", "2s").Output()
	var rep struct {
		OK           bool    `json:"ok"`
		EventsLost   int     `json:"events_lost"`
		Covered      int     `json:"registrations_covered_by_vault"`
		Acknowledged int     `json:"registrations_acknowledged"`
		RTO          float64 `json:"rto_seconds"`
		Checks       []struct {
			Name   string
			OK     bool
			Detail string
		}
	}
	if jerr := json.Unmarshal(out, &rep); jerr != nil {
		t.Fatalf("drill: %v %v\n%s", err, jerr, out)
	}
	for _, c := range rep.Checks {
		if !c.OK {
			t.Errorf("drill check failed: %s: %s", c.Name, c.Detail)
		}
	}
	if err != nil || !rep.OK || rep.EventsLost != 0 || rep.Covered == 0 {
		t.Fatalf("drill: %v\n%s", err, out)
	}
	t.Logf("drill: %d acknowledged, %d covered by the vault, 0 lost, RTO %.1fs", rep.Acknowledged, rep.Covered, rep.RTO)
}
