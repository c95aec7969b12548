package main

import (
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"kavach/hl7"
)

// TestAnalyser drives kavach serve --hl7-addr as a haematology and a
// chemistry analyser do: a socket, MLLP frames, ORU^R01 messages, an ACK
// for each. AA means stored and synced (a SIGKILL right after loses
// nothing); a message sent twice is stored once; every bad message is an
// AE or AR and stores nothing.
func TestAnalyser(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--demo", "--hl7-addr", "127.0.0.1:0")
	if s.hl7 == "" {
		t.Fatal("serve printed no analysers' address")
	}
	tok := map[string]string{}
	for _, u := range []string{"registration", "doctor", "lab", "admin"} {
		tok[u] = login(t, s, u)
	}
	api := func(user, method, path string, body any, want int) []byte {
		t.Helper()
		code, b := call(t, method, s.url+path, tok[user], body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
		return b
	}
	var p struct{ UHID string }
	json.Unmarshal(api("registration", "POST", "/api/v1/patients", patient(2), 201), &p)
	var o struct {
		OrderID string `json:"order_id"`
	}
	json.Unmarshal(api("doctor", "POST", "/api/v1/lab-orders", map[string]any{"uhid": p.UHID, "tests": []string{"CBC", "GLUF"}}, 201), &o)
	var c struct{ Samples []struct{ Accession string } }
	json.Unmarshal(api("lab", "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", map[string]any{}, 201), &c)
	edta, grey := c.Samples[0].Accession, c.Samples[1].Accession
	events := func() float64 {
		t.Helper()
		var st struct{ Origins map[string]float64 }
		json.Unmarshal(api("admin", "GET", "/api/v1/status", nil, 200), &st)
		return st.Origins["KA"]
	}

	ctx := context.Background()
	cl, err := hl7.Dial(ctx, s.hl7)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cl.Close() }()
	send := func(msg []byte, want string) string {
		t.Helper()
		ack, err := cl.Send(ctx, msg)
		if err != nil {
			t.Fatal(err)
		}
		code, text, err := hl7.AckCode(ack)
		if err != nil || code != want {
			t.Fatalf("ACK %q %q (%v), want %s:\n%s", code, text, err, want, ack)
		}
		return text
	}
	ln := func(code, value, unit string) hl7.Observation {
		return hl7.Observation{Code: code, System: "LN", Value: value, Units: unit, Status: "F"}
	}
	cbc := hl7.ORU{ControlID: "XN0001", Sender: "XN-550^LAB", Orders: []hl7.Order{{Accession: edta, Observations: []hl7.Observation{
		ln("718-7", "13.5", "g/dL"), ln("6690-2", "11.8", "10*3/uL"), ln("777-3", "140", "10*3/uL"), ln("789-8", "4.9", "10*6/uL"),
		ln("4544-3", "44", "%"), ln("787-2", "90", "fL"), ln("785-6", "29", "pg"), ln("786-4", "33", "g/dL"), ln("788-0", "12.5", "%"),
		ln("32623-1", "9.1", "fL"),
		{Code: "NEUT%", Text: "Neutrophils", System: "99SYSMEX", Value: "62", Status: "F"}, // not in the catalogue: ignored
	}}}}
	// The sample was never scanned in: the analyser's message receives it.
	send(hl7.BuildORU(cbc, time.Now()), "AA")
	var smp struct {
		Status  string
		Results []struct{ Analyte, Value, Flag string }
	}
	json.Unmarshal(api("lab", "GET", "/api/v1/samples/"+edta, nil, 200), &smp)
	if smp.Status != "resulted" || len(smp.Results) != 10 || smp.Results[0].Value != "13.5" || smp.Results[1].Flag != "H" || smp.Results[2].Flag != "L" {
		t.Fatalf("after the analyser's message: %+v", smp)
	}

	// Sent twice (the analyser missed the ACK): stored once.
	before := events()
	send(hl7.BuildORU(cbc, time.Now()), "AA")
	if after := events(); after != before {
		t.Fatalf("a message sent twice was stored again: %v events, then %v", before, after)
	}

	// Every bad message is refused, and stores nothing.
	before = events()
	bad := []struct {
		name string
		msg  []byte
		want string
		says string
	}{
		{"unknown accession", hl7.BuildORU(hl7.ORU{ControlID: "B1", Sender: "AU480", Orders: []hl7.Order{{Accession: "KAL000009996", Observations: []hl7.Observation{ln("1558-6", "90", "mg/dL")}}}}, time.Now()), "AE", "KAL000009996"},
		{"not an accession", hl7.BuildORU(hl7.ORU{ControlID: "B2", Sender: "AU480", Orders: []hl7.Order{{Accession: "12345", Observations: []hl7.Observation{ln("1558-6", "90", "mg/dL")}}}}, time.Now()), "AE", "accession"},
		{"analyte not ordered", hl7.BuildORU(hl7.ORU{ControlID: "B3", Sender: "AU480", Orders: []hl7.Order{{Accession: grey, Observations: []hl7.Observation{ln("1558-6", "90", "mg/dL"), ln("2160-0", "1.1", "mg/dL")}}}}, time.Now()), "AE", "OBX 2 (2160-0): CREAT was not ordered"},
		{"not a number", hl7.BuildORU(hl7.ORU{ControlID: "B4", Sender: "AU480", Orders: []hl7.Order{{Accession: grey, Observations: []hl7.Observation{ln("1558-6", "high", "mg/dL")}}}}, time.Now()), "AE", "OBX 1 (1558-6): GLU needs a number"},
		{"not HL7", []byte("hello analyser"), "AR", ""},
		{"another message type", []byte("MSH|^~\\&|HIS|H|LIS|L|20261205101010||ADT^A01|X1|P|2.3.1\rPID|1||" + p.UHID + "\r"), "AR", ""},
	}
	for _, b := range bad {
		text := send(b.msg, b.want)
		if !strings.Contains(text, b.says) {
			t.Errorf("%s: ACK text %q does not say %q", b.name, text, b.says)
		}
		// Plain words for the analyser's screen: no error code, no API field names.
		if strings.HasPrefix(text, "invalid") || strings.Contains(text, "results[") {
			t.Errorf("%s: ACK text %q is not plain", b.name, text)
		}
	}
	if after := events(); after != before {
		t.Fatalf("refused messages wrote %v events", after-before)
	}
	// A rejected sample takes no results.
	api("lab", "POST", "/api/v1/samples/"+grey+"/reject", map[string]any{"reason": "clotted"}, 200)
	send(hl7.BuildORU(hl7.ORU{ControlID: "B5", Sender: "AU480", Orders: []hl7.Order{{Accession: grey, Observations: []hl7.Observation{ln("1558-6", "90", "mg/dL")}}}}, time.Now()), "AE")

	// AA means synced: SIGKILL right after the ACK, start again, it is there.
	var again struct{ Samples []struct{ Accession string } }
	json.Unmarshal(api("lab", "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", map[string]any{}, 201), &again)
	glu := hl7.ORU{ControlID: "AU0001", Sender: "AU480", Orders: []hl7.Order{{Accession: again.Samples[0].Accession,
		Observations: []hl7.Observation{{Code: "GLU", System: "99LOCAL", Value: "480", Units: "mg/dL", Status: "F"}}}}}
	send(hl7.BuildORU(glu, time.Now()), "AA")
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	s = startServer(t, dir, "--hl7-addr", "127.0.0.1:0")
	tok["lab"] = login(t, s, "lab")
	json.Unmarshal(api("lab", "GET", "/api/v1/samples/"+again.Samples[0].Accession, nil, 200), &smp)
	if len(smp.Results) != 1 || smp.Results[0].Value != "480" || smp.Results[0].Flag != "HH" {
		t.Fatalf("after SIGKILL: %+v", smp)
	}
}
