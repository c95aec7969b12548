package hl7

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A Sysmex XN hematology analyser's CBC in 2.3.1, as it sends it (segments
// end in CR): LOINC codes in OBX-3 with Sysmex's own code as the alternate,
// a patient identifier that repeats, units with an escaped ^, repeated
// flags, and an ST result with escapes.
const sysmexCBC = "MSH|^~\\&|XN-550^00-13^|SYSMEX|LIS|KVH|20260305101530||ORU^R01|00000231|P|2.3.1||||||ASCII\r" +
	"PID|1||KA-000123^^^KVH^MR~1234-5678-9012^^^UIDAI^NI||Sharma^Anita^^^Mrs.||19850412|F\r" +
	"PV1|1|O\r" +
	"OBR|1||241005001^^^^SAMPLEID|00001^Automated Count^99MRC|||20260305101000|||||||||||||||||||F\r" +
	"OBX|1|NM|6690-2^WBC^LN^804^^99MRC||7.80|10*3/uL|4.00-10.00|N|||F\r" +
	"OBX|2|NM|718-7^HGB^LN^807^^99MRC||10.2|g/dL|12.0-15.0|L|||F\r" +
	"OBX|3|NM|777-3^PLT^LN^814^^99MRC||452|10\\S\\3/uL|150-410|H~A|||F\r" +
	"OBX|4|ST|99MRC^IP Message^99MRC||Anemia\\T\\Thrombocytosis? \\E\\ recheck\\.br\\smear|||A|||F\r" +
	"NTE|1||Smear reviewed\r"

// A chemistry analyser's results in 2.5.1 with LF line endings: the
// vendor's codes with LOINC as the alternate (glucose 1558-6), the accession
// in OBR-3, a corrected result, an OBX with the optional fields left off,
// and a specimen (SPM) with an observation of its own.
const chemistry251 = "MSH|^~\\&|BS-480|MINDRAY|LIS|KVH|20260305113000+0530||ORU^R01^ORU_R01|MR-8812|P|2.5.1|||AL|NE||UNICODE UTF-8\n" +
	"PID|1||KA-000456^^^KVH^MR||Rao^Venkat\n" +
	"ORC|RE|ORD77|CHEM-2403\n" +
	"OBR|1|ORD77|CHEM-2403^BS480|GLU^Glucose^99MRY|||20260305112500\n" +
	"OBX|1|NM|GLU^Glucose^99MRY^1558-6^Fasting glucose^LN||98.5|mg/dL^^UCUM|70-100|N|||F|||20260305112900\n" +
	"OBX|2|NM|CREA^Creatinine^99MRY||1.42|mg/dL|0.60-1.20|H|||C\n" +
	"OBX|3|NM|UREA^Urea^99MRY||35\n" +
	"SPM|1|CHEM-2403||SER^Serum^HL70487\n" +
	"OBX|1|CWE|HEMOLYSIS^Hemolysis index^99MRY||1^Slight^99MRY\n"

func parse(t *testing.T, s string) *Message {
	t.Helper()
	m, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return m
}

func TestParseFieldsAndComponents(t *testing.T) {
	m := parse(t, sysmexCBC)
	if len(m.Segments) != 9 {
		t.Fatalf("%d segments, want 9", len(m.Segments))
	}
	if m.Delims != std {
		t.Errorf("delimiters %+v, want %+v", m.Delims, std)
	}
	for _, c := range []struct {
		seg         string
		field, comp int
		want        string
	}{
		{"MSH", 1, 0, "|"},
		{"MSH", 2, 0, "^~\\&"},
		{"MSH", 3, 0, "XN-550^00-13^"},
		{"MSH", 9, 0, "ORU^R01"},
		{"MSH", 10, 0, "00000231"},
		{"MSH", 12, 0, "2.3.1"},
		{"MSH", 18, 0, "ASCII"},
		{"MSH", 19, 0, ""}, // past the last field
		{"MSH", -1, 0, ""},
		{"MSH", 1, 1, "|"},
		{"MSH", 2, 1, "^~\\&"},
		{"MSH", 2, 2, ""},
		{"MSH", 9, 1, "ORU"},
		{"MSH", 9, 2, "R01"},
		{"MSH", 9, 3, ""},
		{"MSH", 3, 2, "00-13"},
		{"PID", 3, 0, "KA-000123^^^KVH^MR~1234-5678-9012^^^UIDAI^NI"},
		{"PID", 3, 1, "KA-000123"}, // the first repetition
		{"PID", 3, 5, "MR"},
		{"PID", 5, 2, "Anita"},
		{"PID", 5, 9, ""},
		{"PID", 8, 1, "F"},      // no component separator: the field is its first component
		{"OBX", 3, 1, "6690-2"}, // the first OBX
		{"OBX", 6, 1, "10*3/uL"},
		{"NTE", 3, 1, "Smear reviewed"},
		{"ZZZ", 1, 1, ""}, // no such segment
		{"PV1", 0, 0, "PV1"},
	} {
		var got string
		if c.comp == 0 {
			got = m.Field(c.seg, c.field)
		} else {
			got = m.Component(c.seg, c.field, c.comp)
		}
		if got != c.want {
			t.Errorf("%s-%d.%d = %q, want %q", c.seg, c.field, c.comp, got, c.want)
		}
	}
	obx3 := m.Segments[6]
	if obx3.Name != "OBX" || m.Delims.Component(obx3.Field(6), 1) != "10^3/uL" {
		t.Errorf("OBX 3 units %q, want 10^3/uL unescaped", m.Delims.Component(obx3.Field(6), 1))
	}
	if got := m.Delims.Unescape(m.Segments[7].Field(5)); got != "Anemia&Thrombocytosis? \\ recheck\nsmear" {
		t.Errorf("OBX 4 value %q", got)
	}
	if got := m.Component("PID", 5, 0); got != "" {
		t.Errorf("component 0 = %q", got)
	}
	var nilMsg *Message
	if nilMsg.Field("MSH", 9) != "" || nilMsg.Component("MSH", 9, 1) != "" {
		t.Error("a nil message has fields")
	}
}

// Segments end in CR, LF or CRLF, and blank lines, MLLP bytes left around
// the message and a byte order mark do not matter.
func TestParseLineEndings(t *testing.T) {
	want := parse(t, sysmexCBC)
	for name, s := range map[string]string{
		"LF":          strings.ReplaceAll(sysmexCBC, "\r", "\n"),
		"CRLF":        strings.ReplaceAll(sysmexCBC, "\r", "\r\n"),
		"blank lines": strings.ReplaceAll(sysmexCBC, "\r", "\r\n\r\n  \r"),
		"no last CR":  strings.TrimSuffix(sysmexCBC, "\r"),
		"framed":      "\x0b" + sysmexCBC + "\x1c\r",
		"BOM":         "\ufeff" + sysmexCBC,
	} {
		m := parse(t, s)
		if len(m.Segments) != len(want.Segments) {
			t.Errorf("%s: %d segments, want %d", name, len(m.Segments), len(want.Segments))
			continue
		}
		for i := range m.Segments {
			if strings.Join(m.Segments[i].Fields, "|") != strings.Join(want.Segments[i].Fields, "|") {
				t.Errorf("%s: segment %d is %q, want %q", name, i+1, m.Segments[i].Fields, want.Segments[i].Fields)
			}
		}
	}
}

// A message may choose its own delimiters in MSH-1 and MSH-2.
func TestParseOtherDelimiters(t *testing.T) {
	m := parse(t, "MSH#!@$%#APP!X#FAC###20260305##ORU!R01#C$F$1#P#2.4\rOBR#1##ACC-1!!SAMPLEID\rOBX#1#NM#718-7!HGB!LN##9.5#g/dL#12-15#L@A###F\r")
	want := Delimiters{Field: '#', Comp: '!', Rep: '@', Esc: '$', Sub: '%'}
	if m.Delims != want {
		t.Fatalf("delimiters %+v, want %+v", m.Delims, want)
	}
	if got := m.Component("MSH", 9, 2); got != "R01" {
		t.Errorf("MSH-9.2 = %q", got)
	}
	if got := m.Component("MSH", 10, 1); got != "C#1" {
		t.Errorf("MSH-10 = %q, want C#1 (unescaped)", got)
	}
	if got := m.Component("OBX", 8, 1); got != "L" {
		t.Errorf("OBX-8.1 = %q, want L (the first repetition)", got)
	}
	// Only the component separator is required.
	m = parse(t, "MSH|^|A|B\rPID|1||X~Y\\Z&W")
	if m.Delims != (Delimiters{Field: '|', Comp: '^'}) {
		t.Errorf("delimiters %+v", m.Delims)
	}
	if got := m.Component("PID", 3, 1); got != "X~Y\\Z&W" {
		t.Errorf("PID-3 = %q: with no repetition, escape or subcomponent characters they are text", got)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                     "plain",
		"\\F\\":                     "|",
		"a\\S\\b\\T\\c\\R\\d\\E\\e": "a^b&c~d\\e",
		"\\X0D0A\\":                 "\r\n",
		"\\X41\\\\X4243\\":          "ABC",
		"\\X4\\":                    "\\X4\\", // odd hex: not a sequence
		"\\XZZ\\":                   "\\XZZ\\",
		"line\\.br\\next":           "line\nnext",
		"a\\.sp\\b\\.sp2\\c":        "a\nb\nc",
		"\\H\\bold\\N\\ text":       "bold text",
		"\\.in+4\\\\.ti-2\\\\.sk3\\\\.ce\\\\.fi\\\\.nf\\x": "x",
		"\\Q\\":          "\\Q\\", // unknown: kept
		"a\\b":           "a\\b",  // unterminated
		"\\\\":           "\\\\",
		"C:\\data\\F\\x": "C:\\data|x", // a stray escape character stands for itself
		"\\":             "\\",
		"":               "",
	} {
		if got := std.Unescape(in); got != want {
			t.Errorf("Unescape(%q) = %q, want %q", in, got, want)
		}
	}
	// No escape character: nothing is an escape.
	if got := (Delimiters{Field: '|', Comp: '^'}).Unescape("\\F\\"); got != "\\F\\" {
		t.Errorf("without an escape character: %q", got)
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	other := Delimiters{Field: '#', Comp: '!', Rep: '@', Esc: '$', Sub: '%'}
	for _, s := range []string{
		"", "plain text", "|^~\\&", "a|b^c~d\\e&f", "10^3/uL", "<0.5", "line1\rline2\nline3\r\n",
		"\x0b\x1c\x00\x7f\ttab", "\\F\\ already escaped?", "#!@$%", "naïve ₹ 500",
	} {
		for _, d := range []Delimiters{std, other} {
			e := d.Escape(s)
			if strings.ContainsAny(e, "\r\n\x0b\x1c") || strings.IndexByte(e, d.Field) >= 0 || strings.IndexByte(e, d.Comp) >= 0 ||
				strings.IndexByte(e, d.Rep) >= 0 || strings.IndexByte(e, d.Sub) >= 0 {
				t.Errorf("Escape(%q) = %q holds a delimiter or control character", s, e)
			}
			if got := d.Unescape(e); got != s {
				t.Errorf("Unescape(Escape(%q)) = %q (escaped %q)", s, got, e)
			}
		}
	}
	if got := std.Escape("10^3/uL|x"); got != "10\\S\\3/uL\\F\\x" {
		t.Errorf("Escape = %q", got)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name, msg string
		want      string // in the error text
		segment   int
	}{
		{"empty", "", "empty message", 0},
		{"blank", "\r\n \r\n", "empty message", 0},
		{"no MSH", "PID|1||X\rOBR|1||A\r", "MSH missing", 0},
		{"garbage", "\x00\xffhello, world", "MSH missing", 0},
		{"batch header", "FHS|^~\\&|X\rMSH|^~\\&|A\r", "MSH missing", 0},
		{"MSH too short", "MSH|", "MSH too short", 1},
		{"letter as field separator", "MSHA^~\\&A", "MSH-1", 1},
		{"no encoding characters", "MSH||X|Y", "MSH-2", 1},
		{"encoding characters repeat", "MSH|^^\\&|X", "MSH-2", 1},
		{"letter among them", "MSH|^~A&|X", "MSH-2", 1},
		{"too many encoding characters", "MSH|^~\\&#*|X", "MSH-2", 1},
		{"bad name", "MSH|^~\\&|A\rPID|1\rpid|2\r", "segment 3: bad name \"pid\"", 3},
		{"short name", "MSH|^~\\&|A\rPI|1\r", "segment 2: bad name", 2},
		{"long name", "MSH|^~\\&|A\rPIDX|1\r", "segment 2: bad name", 2},
		{"name with space", "MSH|^~\\&|A\r PID|1\r", "segment 2: bad name", 2},
		{"two messages", "MSH|^~\\&|A\rPID|1\rMSH|^~\\&|B\r", "segment 3: a second MSH", 3},
	} {
		_, err := Parse([]byte(c.msg))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want an *Error", c.name, err)
			continue
		}
		if !strings.Contains(err.Error(), c.want) || e.Segment != c.segment || e.Ack != "AR" {
			t.Errorf("%s: error %q (segment %d, ack %s), want %q in segment %d, AR", c.name, err, e.Segment, e.Ack, c.want, c.segment)
		}
	}
	// The error quotes what it found, cut short.
	_, err := Parse([]byte(strings.Repeat("x", 10000)))
	if err == nil || len(err.Error()) > 120 {
		t.Errorf("error for 10,000 bytes of garbage: %q", err)
	}
}

func TestParseORUSysmex(t *testing.T) {
	o, m, err := ParseORU([]byte(sysmexCBC))
	if err != nil {
		t.Fatal(err)
	}
	if m == nil || m.Field("MSH", 10) != "00000231" {
		t.Fatal("ParseORU returns the message")
	}
	want := &ORU{
		ControlID: "00000231",
		Sender:    "XN-550^SYSMEX",
		Version:   "2.3.1",
		Orders: []Order{{
			Accession: "241005001",
			Observations: []Observation{
				{SetID: "1", ValueType: "NM", Code: "6690-2", Text: "WBC", System: "LN", AltCode: "804", Value: "7.80", Units: "10*3/uL", Range: "4.00-10.00", Flags: "N", Status: "F"},
				{SetID: "2", ValueType: "NM", Code: "718-7", Text: "HGB", System: "LN", AltCode: "807", Value: "10.2", Units: "g/dL", Range: "12.0-15.0", Flags: "L", Status: "F"},
				{SetID: "3", ValueType: "NM", Code: "777-3", Text: "PLT", System: "LN", AltCode: "814", Value: "452", Units: "10^3/uL", Range: "150-410", Flags: "H~A", Status: "F"},
				{SetID: "4", ValueType: "ST", Code: "99MRC", Text: "IP Message", System: "99MRC", Value: "Anemia&Thrombocytosis? \\ recheck\nsmear", Flags: "A", Status: "F"},
			},
		}},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("ParseORU:\n got %+v\nwant %+v", o, want)
	}
	// The same with LF or CRLF line endings.
	for _, sep := range []string{"\n", "\r\n"} {
		o2, _, err := ParseORU([]byte(strings.ReplaceAll(sysmexCBC, "\r", sep)))
		if err != nil || !reflect.DeepEqual(o2, want) {
			t.Errorf("with %q line endings: %v, %+v", sep, err, o2)
		}
	}
}

func TestParseORUChemistry251(t *testing.T) {
	o, _, err := ParseORU([]byte(chemistry251))
	if err != nil {
		t.Fatal(err)
	}
	want := &ORU{
		ControlID: "MR-8812",
		Sender:    "BS-480^MINDRAY",
		Version:   "2.5.1",
		Orders: []Order{{
			Accession: "CHEM-2403",
			Observations: []Observation{
				{SetID: "1", ValueType: "NM", Code: "GLU", Text: "Glucose", System: "99MRY", AltCode: "1558-6", Value: "98.5", Units: "mg/dL", Range: "70-100", Flags: "N", Status: "F"},
				{SetID: "2", ValueType: "NM", Code: "CREA", Text: "Creatinine", System: "99MRY", Value: "1.42", Units: "mg/dL", Range: "0.60-1.20", Flags: "H", Status: "C"},
				{SetID: "3", ValueType: "NM", Code: "UREA", Text: "Urea", System: "99MRY", Value: "35"},
			},
			Specimen: []Observation{
				{SetID: "1", ValueType: "CWE", Code: "HEMOLYSIS", Text: "Hemolysis index", System: "99MRY", Value: "1^Slight^99MRY"},
			},
		}},
	}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("ParseORU:\n got %+v\nwant %+v", o, want)
	}
}

// Results belong to the OBR before them; an OBR with only a placer number
// has that as its accession.
func TestParseORUOrders(t *testing.T) {
	msg := "MSH|^~\\&|AU480|BECKMAN|||20260305||ORU^R01|77|P|2.4\r" +
		"OBR|1|PL-55\r" +
		"OBX|1|NM|1558-6^Glucose^LN||101|mg/dL\r" +
		"OBR|2||S-2^LAB|CHEM\r" +
		"NTE|1||no result yet\r" +
		"OBR|3||S-3\r" +
		"OBX|1|NM|2160-0^Creatinine^LN||0.9|mg/dL\r" +
		"OBX|2|NM|3094-0^Urea nitrogen^LN||14|mg/dL\r"
	o, _, err := ParseORU([]byte(msg))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ord := range o.Orders {
		codes := []string{ord.Accession + ":"}
		for _, ob := range ord.Observations {
			codes = append(codes, ob.Code+"="+ob.Value)
		}
		got = append(got, strings.Join(codes, " "))
	}
	want := []string{"PL-55: 1558-6=101", "S-2:", "S-3: 2160-0=0.9 3094-0=14"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("orders %q, want %q", got, want)
	}
	if o.Sender != "AU480^BECKMAN" || o.Version != "2.4" {
		t.Errorf("sender %q, version %q", o.Sender, o.Version)
	}
}

func TestParseORUErrors(t *testing.T) {
	msh := "MSH|^~\\&|XN-550|SYSMEX|||20260305||ORU^R01|9|P|2.3.1\r"
	for _, c := range []struct {
		name, msg string
		want      string // the error text
		ack       string
		parsed    bool // the message is returned with the error
	}{
		{"empty", "", "empty message: MSH missing", "AR", false},
		{"garbage", "\x00\x01 GET / HTTP/1.1\r\n", `MSH missing: the message starts with "\x00\x01 GET / HTTP/1.1", not MSH`, "AR", false},
		{"no MSH", "PID|1\rOBR|1||A\rOBX|1|NM|718-7||10\r", "MSH missing", "AR", false},
		{"ADT", strings.Replace(msh, "ORU^R01", "ADT^A01", 1) + "PID|1\r", `MSH-9 message type is "ADT^A01": this port takes ORU^R01 results only`, "AR", true},
		{"other ORU", strings.Replace(msh, "ORU^R01", "ORU^R30", 1) + "OBR|1||A\r", `MSH-9 message type is "ORU^R30"`, "AR", true},
		{"other structure", strings.Replace(msh, "ORU^R01", "ORU^R01^OML_O21", 1) + "OBR|1||A\r", `MSH-9 message type is "ORU^R01^OML_O21"`, "AR", true},
		{"no type", strings.Replace(msh, "ORU^R01", "", 1) + "OBR|1||A\r", "MSH-9 message type missing", "AR", true},
		{"OBX before OBR", msh + "PID|1\rOBX|1|NM|718-7^HGB^LN||10.2\rOBR|1||A\r", "segment 3: OBX before any OBR (a result must follow the order it belongs to)", "AE", true},
		{"no accession", msh + "OBR|1|||CBC\rOBX|1|NM|718-7^HGB^LN||10.2\r", "segment 2: OBR has no accession number (OBR-3 filler or OBR-2 placer order number)", "AE", true},
		{"accession only in a later component", msh + "OBR|1|^X|^Y\r", "segment 2: OBR has no accession number", "AE", true},
		{"no OBR", msh + "PID|1\r", "no OBR segment: the results name no order or sample", "AE", true},
		{"bad segment", msh + "OBR|1||A\rOB X|1\r", `segment 3: bad name "OB X"`, "AR", false},
	} {
		o, m, err := ParseORU([]byte(c.msg))
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: error %v, want an *Error", c.name, err)
			continue
		}
		if err.Error() != c.want && !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: error %q, want %q", c.name, err, c.want)
		}
		if e.Ack != c.ack || o != nil || (m != nil) != c.parsed {
			t.Errorf("%s: ack %s, ORU %v, message %v; want ack %s, message returned %v", c.name, e.Ack, o, m != nil, c.ack, c.parsed)
		}
	}
}

func TestACK(t *testing.T) {
	now := time.Date(2026, 3, 5, 10, 16, 0, 0, time.FixedZone("IST", 5*3600+1800))
	m := parse(t, sysmexCBC)
	ack := ACK(m, "AA", "", now)
	a := parse(t, string(ack))
	for _, c := range []struct {
		seg   string
		field int
		want  string
	}{
		{"MSH", 3, "LIS"}, {"MSH", 4, "KVH"}, {"MSH", 5, "XN-550^00-13^"}, {"MSH", 6, "SYSMEX"},
		{"MSH", 7, "20260305101600"}, {"MSH", 9, "ACK^R01"}, {"MSH", 11, "P"}, {"MSH", 12, "2.3.1"},
		{"MSA", 1, "AA"}, {"MSA", 2, "00000231"}, {"MSA", 3, ""},
	} {
		if got := a.Field(c.seg, c.field); got != c.want {
			t.Errorf("ACK %s-%d = %q, want %q", c.seg, c.field, got, c.want)
		}
	}
	if id := a.Field("MSH", 10); id == "" || id == "00000231" || len(id) > 20 {
		t.Errorf("ACK control id %q: want a new one of at most 20 characters", id)
	}
	if id2 := parse(t, string(ACK(m, "AA", "", now))).Field("MSH", 10); id2 == a.Field("MSH", 10) {
		t.Errorf("two ACKs in the same second have the same control id %q", id2)
	}
	if a.Field("ERR", 0) != "" {
		t.Error("an AA has an ERR segment")
	}
	if !strings.HasSuffix(string(ack), "\r") || strings.Contains(string(ack), "\n") {
		t.Errorf("ACK segments end in CR: %q", ack)
	}
	if code, text, err := AckCode(ack); code != "AA" || text != "" || err != nil {
		t.Errorf("AckCode = %q, %q, %v", code, text, err)
	}

	// An error's text is escaped, goes in MSA-3 and in ERR, and comes back
	// as it was.
	text := "segment 3: OBX before any OBR | ^~\\& \"quoted\"\nline two"
	for _, c := range []struct {
		msg, code, errField string
		errComp             int
	}{
		{sysmexCBC, "AE", "ERR-1", 4},
		{chemistry251, "AR", "ERR-8", 0},
	} {
		m := parse(t, c.msg)
		ack := ACK(m, c.code, text, now)
		a := parse(t, string(ack))
		if got := a.Field("MSH", 12); got != m.Field("MSH", 12) {
			t.Errorf("ACK version %q, want the received %q", got, m.Field("MSH", 12))
		}
		if a.Field("MSA", 2) != m.Field("MSH", 10) {
			t.Errorf("ACK MSA-2 %q, want %q", a.Field("MSA", 2), m.Field("MSH", 10))
		}
		code, got, err := AckCode(ack)
		if code != c.code || got != text || err != nil {
			t.Errorf("AckCode = %q, %q, %v; want %q, %q", code, got, err, c.code, text)
		}
		var inErr string
		if c.errComp == 0 {
			inErr = a.Delims.Unescape(a.Field("ERR", 8))
		} else {
			inErr = subcomponent(a.Delims, a.Delims.rawComponent(a.Field("ERR", 1), 4), 2)
		}
		if inErr != text {
			t.Errorf("%s holds %q, want %q", c.errField, inErr, text)
		}
		// Without MSA-3, AckCode reads the text from ERR.
		noMSA3 := strings.Replace(string(ack), "|"+std.Escape(text)+"\r", "\r", 1)
		if _, got, _ := AckCode([]byte(noMSA3)); got != text {
			t.Errorf("AckCode without MSA-3 gave %q, want %q from %s", got, text, c.errField)
		}
	}

	// A message that could not be parsed still gets a valid ACK.
	ack = ACK(nil, "AR", "MSH missing", now)
	a = parse(t, string(ack))
	if a.Field("MSH", 9) != "ACK" || a.Field("MSH", 12) != "2.3.1" || a.Field("MSA", 2) != "" || a.Field("MSA", 3) != "MSH missing" {
		t.Errorf("ACK(nil) = %q", ack)
	}
}

// A message with other delimiters is acknowledged in ours, its fields
// written again in them.
func TestACKOtherDelimiters(t *testing.T) {
	m := parse(t, "MSH#!@$%#APP!X^Y#FAC###20260305##ORU!R01#C$F$1#P#2.4\rOBR#1##A\r")
	a := parse(t, string(ACK(m, "AA", "", time.Now())))
	if a.Delims != std {
		t.Fatalf("ACK delimiters %+v", a.Delims)
	}
	if got := a.Field("MSH", 5); got != "APP^X\\S\\Y" {
		t.Errorf("ACK MSH-5 = %q, want APP^X\\S\\Y", got)
	}
	if got := a.Field("MSA", 2); got != "C#1" {
		t.Errorf("ACK MSA-2 = %q, want C#1", got)
	}
	if got := a.Field("MSH", 12); got != "2.4" {
		t.Errorf("ACK MSH-12 = %q", got)
	}
}

func TestAckCodeErrors(t *testing.T) {
	for _, c := range []struct{ name, ack, want string }{
		{"not HL7", "OK", "MSH missing"},
		{"no MSA", sysmexCBC, "MSA missing"},
		{"bad code", "MSH|^~\\&|A|B|C|D|20260305||ACK|1|P|2.3.1\rMSA|OK|1\r", `MSA-1 is "OK", not an acknowledgement code`},
	} {
		if _, _, err := AckCode([]byte(c.ack)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	for _, code := range []string{"CA", "CE", "CR"} {
		if got, _, err := AckCode([]byte("MSH|^~\\&|||||||ACK|1|P|2.5\rMSA|" + code + "|1\r")); got != code || err != nil {
			t.Errorf("enhanced mode %s: %q, %v", code, got, err)
		}
	}
}

func TestBuildORURoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 5, 10, 15, 30, 0, time.UTC)
	want := ORU{
		ControlID: "KV|1^2",
		Sender:    "XN-550^SYSMEX & Co",
		Version:   "2.3.1",
		Orders: []Order{
			{Accession: "241005001", Observations: []Observation{
				{SetID: "1", ValueType: "NM", Code: "6690-2", Text: "WBC", System: "LN", Value: "7.80", Units: "10^3/uL", Range: "4.00-10.00", Flags: "N", Status: "F"},
				{SetID: "2", ValueType: "NM", Code: "718-7", Text: "HGB", System: "LN", AltCode: "807", Value: "10.2", Units: "g/dL", Range: "12.0-15.0", Flags: "L", Status: "F"},
				{SetID: "3", ValueType: "ST", Code: "X", Value: "a|b^c~d\\e&f\nnext line", Status: "P"},
			}},
			{Accession: "241005002", Observations: []Observation{
				{SetID: "1", ValueType: "NM", Code: "777-3", Text: "PLT", System: "LN", Value: "452", Units: "10*3/uL", Range: "150-410", Flags: "H", Status: "F"},
			}},
		},
	}
	msg := BuildORU(want, now)
	if strings.ContainsAny(string(msg), "\x0b\x1c\n") {
		t.Fatalf("BuildORU wrote a framing byte or LF: %q", msg)
	}
	got, m, err := ParseORU(msg)
	if err != nil {
		t.Fatalf("ParseORU(BuildORU): %v\n%s", err, strings.ReplaceAll(string(msg), "\r", "\n"))
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", *got, want)
	}
	if m.Field("MSH", 7) != "20260305101530" || m.Field("OBX", 14) != "20260305101530" || m.Field("PID", 1) != "1" {
		t.Errorf("BuildORU: %q", msg)
	}
	// Defaults: a new control id, 2.3.1, NM, F, set ids from 1.
	msg = BuildORU(ORU{Orders: []Order{{Accession: "A", Observations: []Observation{{Code: "718-7", Value: "9"}, {Code: "777-3", Value: "200"}}}}}, now)
	got, _, err = ParseORU(msg)
	if err != nil {
		t.Fatal(err)
	}
	if got.ControlID == "" || got.Version != "2.3.1" || got.Orders[0].Observations[1].SetID != "2" ||
		got.Orders[0].Observations[1].ValueType != "NM" || got.Orders[0].Observations[1].Status != "F" {
		t.Errorf("BuildORU defaults: %+v", got)
	}
}

func TestReadFrame(t *testing.T) {
	for _, c := range []struct {
		name, stream string
		frames       []string
		err          error // after the frames
	}{
		{"two frames", "\x0bA\x1c\r\x0bB|C\rD\x1c\r", []string{"A", "B|C\rD"}, io.EOF},
		{"nothing", "", nil, io.EOF},
		{"garbage around", "GET / HTTP/1.0\r\n\r\n\x0bA\x1c\rjunk\x00\xff\x0bB\x1c\rtrailing", []string{"A", "B"}, io.EOF},
		{"empty frame", "\x0b\x1c\r", []string{""}, io.EOF},
		{"end byte without CR", "\x0bA\x1c\x0bB\x1c\r", []string{"A", "B"}, io.EOF},
		{"end byte then end of stream", "\x0bA\x1c", []string{"A"}, io.EOF},
		{"start byte again", "\x0bhalf a mess\x0bA\x1c\r", []string{"A"}, io.EOF},
		{"cut short", "\x0bA\x1c\r\x0bMSH|^~\\&|", []string{"A"}, io.ErrUnexpectedEOF},
		{"CR alone is data", "\x0bA\rB\r\x1c\r", []string{"A\rB\r"}, io.EOF},
	} {
		r := bufio.NewReader(strings.NewReader(c.stream))
		var got []string
		var err error
		for {
			var f []byte
			if f, err = ReadFrame(r); err != nil {
				break
			}
			if f == nil {
				t.Errorf("%s: a nil frame", c.name)
			}
			got = append(got, string(f))
		}
		if !reflect.DeepEqual(got, c.frames) || !errors.Is(err, c.err) {
			t.Errorf("%s: frames %q, %v; want %q, %v", c.name, got, err, c.frames, c.err)
		}
	}
}

// A frame longer than MaxFrame is an error, and the frame after it is
// read as usual.
func TestReadFrameTooLarge(t *testing.T) {
	var stream bytes.Buffer
	for _, n := range []int{MaxFrame, MaxFrame + 1, 2 * MaxFrame, 10} {
		stream.WriteByte(0x0b)
		stream.Write(bytes.Repeat([]byte("x"), n))
		stream.WriteString("\x1c\r")
	}
	r := bufio.NewReader(&stream)
	if f, err := ReadFrame(r); err != nil || len(f) != MaxFrame {
		t.Fatalf("a frame of MaxFrame: %d bytes, %v", len(f), err)
	}
	for range 2 {
		if f, err := ReadFrame(r); !errors.Is(err, ErrFrameTooLarge) || f != nil {
			t.Fatalf("a frame longer than MaxFrame: %d bytes, %v", len(f), err)
		}
	}
	if !strings.Contains(ErrFrameTooLarge.Error(), "longer than 1 MiB") {
		t.Errorf("error %q", ErrFrameTooLarge)
	}
	if f, err := ReadFrame(r); err != nil || string(f) != "xxxxxxxxxx" {
		t.Fatalf("the frame after: %q, %v", f, err)
	}
}

func TestWriteFrame(t *testing.T) {
	var b bytes.Buffer
	if err := WriteFrame(&b, []byte("MSH|^~\\&|A\r")); err != nil || b.String() != "\x0bMSH|^~\\&|A\r\x1c\r" {
		t.Errorf("WriteFrame: %q, %v", b.String(), err)
	}
	b.Reset()
	for _, bad := range []string{"A\x1cB", "\x0bA"} {
		if err := WriteFrame(&b, []byte(bad)); err == nil || b.Len() != 0 {
			t.Errorf("WriteFrame(%q): %v, wrote %q", bad, err, b.String())
		}
	}
}

// syncBuffer is a log that server goroutines write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type running struct {
	addr   string
	cancel context.CancelFunc
	done   chan error
}

// serve runs s on a new listener on 127.0.0.1 until the test ends.
func serve(t testing.TB, s *Server) *running {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{addr: ln.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		if _, err := r.stop(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// stop cancels Serve's context and returns how long Serve took to return.
func (r *running) stop() (time.Duration, error) {
	start := time.Now()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the next call
		if err != nil {
			return 0, fmt.Errorf("Serve returned %v, want nil", err)
		}
		return time.Since(start), nil
	case <-time.After(3 * time.Second):
		return 0, errors.New("Serve did not return within 3 s of its context's end")
	}
}

func dial(t testing.TB, addr string) *Client {
	t.Helper()
	c, err := Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawConn is a connection to write bytes on and read frames from.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t, c, bufio.NewReader(c)}
}

func (c *rawConn) write(s string) {
	c.t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *rawConn) send(msg string) { c.t.Helper(); c.write("\x0b" + msg + "\x1c\r") }

// ack reads a frame within d and returns its MSA-1, MSA-2 and text.
func (c *rawConn) ack(d time.Duration) (code, controlID, text string, err error) {
	c.SetReadDeadline(time.Now().Add(d))
	f, err := ReadFrame(c.r)
	if err != nil {
		return "", "", "", err
	}
	m, err := Parse(f)
	if err != nil {
		return "", "", "", err
	}
	code, text, err = m.ackCode()
	return code, m.Field("MSA", 2), text, err
}

func TestServer(t *testing.T) {
	var (
		mu     sync.Mutex
		stored []string
	)
	var log syncBuffer
	srv := &Server{
		Log: slog.New(slog.NewTextHandler(&log, nil)),
		Handler: HandleORU(func(ctx context.Context, o *ORU, m *Message) error {
			mu.Lock()
			defer mu.Unlock()
			for _, ord := range o.Orders {
				stored = append(stored, ord.Accession)
			}
			return nil
		}),
	}
	r := serve(t, srv)
	c := dial(t, r.addr)
	msgs := [][]byte{
		[]byte(sysmexCBC),
		[]byte(chemistry251),
		BuildORU(ORU{ControlID: "B-3", Sender: "XN-550^SYSMEX", Orders: []Order{{Accession: "S-3", Observations: []Observation{{Code: "718-7", Value: "13.1"}}}}}, time.Now()),
	}
	for i, msg := range msgs {
		ack, err := c.Send(context.Background(), msg)
		if err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
		code, text, err := AckCode(ack)
		sent, _ := Parse(msg)
		got, _ := Parse(ack)
		if code != "AA" || text != "" || err != nil || got.Field("MSA", 2) != sent.Field("MSH", 10) {
			t.Errorf("message %d: ACK %q", i+1, ack)
		}
	}
	mu.Lock()
	if want := []string{"241005001", "CHEM-2403", "S-3"}; !reflect.DeepEqual(stored, want) {
		t.Errorf("stored %q, want %q", stored, want)
	}
	mu.Unlock()
	c.Close()
	for start := time.Now(); !strings.Contains(log.String(), "connection closed by the sender") && time.Since(start) < 2*time.Second; {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := r.stop(); err != nil {
		t.Fatal(err)
	}
	logged := log.String()
	for _, want := range []string{"connection opened", "control_id=00000231 ack=AA", "control_id=MR-8812 ack=AA", "connection closed by the sender"} {
		if !strings.Contains(logged, want) {
			t.Errorf("the log has no %q:\n%s", want, logged)
		}
	}
	// The timings (took=10.21µs) are the log's own numbers, not a message's.
	logged = regexp.MustCompile(`took=\S+`).ReplaceAllString(logged, "took=")
	for _, phi := range []string{"Sharma", "KA-000123", "10.2"} {
		if strings.Contains(logged, phi) {
			t.Errorf("the log holds %q from a message:\n%s", phi, logged)
		}
	}
}

// Two connections are served at once: each handler waits until the other
// has started.
func TestServerTwoConnections(t *testing.T) {
	var in atomic.Int32
	both := make(chan struct{})
	srv := &Server{Handler: func(ctx context.Context, raw []byte) []byte {
		m, _ := Parse(raw)
		if in.Add(1) == 2 {
			close(both)
		}
		select {
		case <-both:
			return ACK(m, "AA", "", time.Now())
		case <-time.After(2 * time.Second):
			return ACK(m, "AE", "alone", time.Now())
		}
	}}
	r := serve(t, srv)
	var wg sync.WaitGroup
	for i := range 2 {
		c := dial(t, r.addr)
		wg.Go(func() {
			ack, err := c.Send(context.Background(), BuildORU(ORU{Orders: []Order{{Accession: fmt.Sprint(i)}}}, time.Now()))
			if code, text, _ := AckCode(ack); err != nil || code != "AA" {
				t.Errorf("connection %d: %v, %s %s", i, err, code, text)
			}
		})
	}
	wg.Wait()
}

func TestServerGarbageBeforeStartByte(t *testing.T) {
	r := serve(t, &Server{Handler: HandleORU(nil)})
	c := dialRaw(t, r.addr)
	c.write("GET / HTTP/1.0\r\n\r\n\x00\xff\x1c\r")
	c.send(sysmexCBC)
	if code, id, _, err := c.ack(2 * time.Second); code != "AA" || id != "00000231" || err != nil {
		t.Errorf("ACK %s %s, %v", code, id, err)
	}
}

// Frames that are not good ORU^R01 are answered AR or AE, and the
// connection goes on.
func TestServerBadFrames(t *testing.T) {
	r := serve(t, &Server{Handler: HandleORU(nil)})
	c := dialRaw(t, r.addr)
	good := func() {
		t.Helper()
		c.send(sysmexCBC)
		if code, _, text, err := c.ack(2 * time.Second); code != "AA" || err != nil {
			t.Fatalf("a good message after a bad one: %s %q, %v", code, text, err)
		}
	}
	for _, bad := range []struct{ msg, code, id, text string }{
		{"hello", "AR", "", `MSH missing: the message starts with "hello", not MSH`},
		{"", "AR", "", "empty message: MSH missing"},
		{strings.Replace(sysmexCBC, "ORU^R01", "ADT^A01", 1), "AR", "00000231", `MSH-9 message type is "ADT^A01": this port takes ORU^R01 results only`},
		{strings.Replace(sysmexCBC, "OBR|1||241005001^^^^SAMPLEID", "OBR|1||", 1), "AE", "00000231", "segment 4: OBR has no accession number (OBR-3 filler or OBR-2 placer order number)"},
		{strings.Replace(sysmexCBC, "PV1|1|O", "OBX|1|NM|718-7||1", 1), "AE", "00000231", "segment 3: OBX before any OBR (a result must follow the order it belongs to)"},
		{strings.Repeat("x", MaxFrame+10), "AR", "", "message longer than 1 MiB: not read"},
	} {
		c.send(bad.msg)
		code, id, text, err := c.ack(2 * time.Second)
		if code != bad.code || id != bad.id || text != bad.text || err != nil {
			t.Errorf("%.20q: ACK %s %q %q, %v; want %s %q %q", bad.msg, code, id, text, err, bad.code, bad.id, bad.text)
		}
		good()
	}
}

// A handler that panics, returns nothing or returns what cannot be framed
// gets an AE sent for it.
func TestServerHandlerFaults(t *testing.T) {
	r := serve(t, &Server{Handler: func(ctx context.Context, raw []byte) []byte {
		m, _ := Parse(raw)
		switch m.Field("MSH", 10) {
		case "PANIC":
			panic("handler bug")
		case "NIL":
			return nil
		case "BAD":
			return []byte("MSH|^~\\&\x1c")
		}
		return ACK(m, "AA", "", time.Now())
	}})
	c := dial(t, r.addr)
	for _, id := range []string{"PANIC", "NIL", "BAD", "OK"} {
		ack, err := c.Send(context.Background(), BuildORU(ORU{ControlID: id, Orders: []Order{{Accession: "A"}}}, time.Now()))
		code, text, _ := AckCode(ack)
		want := "AE"
		if id == "OK" {
			want = "AA"
		}
		if err != nil || code != want {
			t.Errorf("%s: %v, ACK %s %q; want %s", id, err, code, text, want)
		}
		if m, _ := Parse(ack); m.Field("MSA", 2) != id {
			t.Errorf("%s: ACK for %q", id, m.Field("MSA", 2))
		}
	}
}

// Cancelling Serve's context closes the listener and every connection at
// once, ends the handlers' contexts and waits for them.
func TestServerStopsOnCancel(t *testing.T) {
	entered := make(chan struct{})
	var returned atomic.Bool
	r := serve(t, &Server{Handler: func(ctx context.Context, raw []byte) []byte {
		close(entered)
		<-ctx.Done()
		returned.Store(true)
		return nil
	}})
	idle := dialRaw(t, r.addr)
	busy := dial(t, r.addr)
	sent := make(chan error, 1)
	go func() {
		ack, err := busy.Send(context.Background(), BuildORU(ORU{Orders: []Order{{Accession: "A"}}}, time.Now()))
		if err == nil {
			// The AE for the handler that returned nothing may go out
			// before its connection is closed.
			if code, _, _ := AckCode(ack); code != "AE" {
				err = fmt.Errorf("ACK %s", code)
			}
		}
		sent <- err
	}()
	<-entered
	took, err := r.stop()
	if err != nil {
		t.Fatal(err)
	}
	if took > 500*time.Millisecond {
		t.Errorf("Serve took %v to stop", took)
	}
	if !returned.Load() {
		t.Error("Serve returned before the handler")
	}
	if err := <-sent; err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !strings.Contains(err.Error(), "reset") {
		t.Errorf("a Send in progress as the server stopped: %v, want the connection closed or AE", err)
	}
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle.r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("an idle connection after the stop: %v, want EOF", err)
	}
	if _, err := net.DialTimeout("tcp", r.addr, time.Second); err == nil {
		t.Error("the listener still accepts")
	}
}

func TestServerIdleTimeout(t *testing.T) {
	r := serve(t, &Server{Handler: HandleORU(nil), IdleTimeout: 50 * time.Millisecond})
	c := dialRaw(t, r.addr)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	start := time.Now()
	if _, err := c.r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("an idle connection: %v, want EOF", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("closed after %v", d)
	}
}

// Beyond MaxConns, a connection waits to be served until one closes.
func TestServerMaxConns(t *testing.T) {
	r := serve(t, &Server{Handler: HandleORU(nil), MaxConns: 1})
	first := dialRaw(t, r.addr)
	first.send(sysmexCBC)
	if code, _, _, err := first.ack(2 * time.Second); code != "AA" || err != nil {
		t.Fatalf("first connection: %s, %v", code, err)
	}
	second := dialRaw(t, r.addr)
	second.send(sysmexCBC)
	if _, _, _, err := second.ack(150 * time.Millisecond); err == nil {
		t.Fatal("a second connection was served beyond MaxConns 1")
	}
	first.Close()
	if code, _, _, err := second.ack(2 * time.Second); code != "AA" || err != nil {
		t.Fatalf("second connection once the first closed: %s, %v", code, err)
	}
}

func TestServeErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := (&Server{}).Serve(context.Background(), ln); err == nil {
		t.Error("Serve without a Handler")
	}
	ln.Close() // a listener that fails
	done := make(chan error, 1)
	go func() {
		done <- (&Server{Handler: HandleORU(nil), Log: slog.New(slog.DiscardHandler)}).Serve(context.Background(), ln)
	}()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Serve on a closed listener: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Serve on a closed listener did not return")
	}
}

func TestClient(t *testing.T) {
	release := make(chan struct{})
	r := serve(t, &Server{Handler: func(ctx context.Context, raw []byte) []byte {
		m, _ := Parse(raw)
		if m.Field("MSH", 10) == "SLOW" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return ACK(m, "AA", "", time.Now())
	}})
	t.Cleanup(func() { close(release) })
	msg := func(id string) []byte {
		return BuildORU(ORU{ControlID: id, Orders: []Order{{Accession: "A"}}}, time.Now())
	}
	c := dial(t, r.addr)

	// What cannot be sent, or a context already done, leaves the
	// connection as it was.
	if _, err := c.Send(context.Background(), []byte("MSH|^~\\&|\x1c")); err == nil {
		t.Error("sent a message holding 0x1C")
	}
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Send(done, msg("1")); !errors.Is(err, context.Canceled) {
		t.Errorf("Send with a cancelled context: %v", err)
	}
	if _, err := c.Send(context.Background(), msg("2")); err != nil {
		t.Fatalf("Send after those: %v", err)
	}

	// A Send that times out waiting leaves the connection unusable.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.Send(ctx, msg("SLOW")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send to a slow handler: %v, want the deadline", err)
	}
	if _, err := c.Send(context.Background(), msg("3")); err == nil || !strings.Contains(err.Error(), "unusable") {
		t.Errorf("Send after a failed one: %v", err)
	}

	c2 := dial(t, r.addr)
	if err := c2.Close(); err != nil {
		t.Error(err)
	}
	if _, err := c2.Send(context.Background(), msg("4")); err == nil {
		t.Error("Send after Close")
	}
	if _, err := Dial(context.Background(), "127.0.0.1:1"); err == nil {
		t.Error("Dial to a closed port")
	}
}

// FuzzParse: Parse never panics; what it parses can be read field by field,
// as an ORU, and acknowledged, and the acknowledgement reads back with the
// text it was given.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		sysmexCBC, chemistry251, strings.ReplaceAll(sysmexCBC, "\r", "\r\n"),
		"MSH#!@$%#APP!X#FAC###20260305##ORU!R01#C$F$1#P#2.4\rOBR#1##A\rOBX#1#NM#718-7!HGB!LN##9.5#g/dL\r",
		"MSH|^|A", "MSH|^~\\&", "MSH|", "", "\x0b\x1c\r", "PID|1", "MSH|^~\\&|\\X0\\|\\XZZ\\|\\\\|\\.sp-\\\rOBX|1|\\F",
		string(BuildORU(ORU{Orders: []Order{{Accession: "A|^", Observations: []Observation{{Code: "\\", Value: "\r\n"}}}}}, time.Unix(0, 0))),
	} {
		f.Add([]byte(s))
	}
	now := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Parse(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" || m != nil {
				t.Fatalf("Parse error %v (%T) with message %v", err, err, m)
			}
			m = nil
		} else {
			if len(m.Segments) == 0 || m.Segments[0].Name != "MSH" {
				t.Fatalf("parsed without an MSH first: %q", m.Segments)
			}
			for _, s := range m.Segments {
				for n := range len(s.Fields) + 1 {
					for c := range 4 {
						_ = m.Component(s.Name, n, c)
					}
					_ = m.Delims.Unescape(s.Field(n))
				}
			}
			if o, err := m.ORU(); (o == nil) == (err == nil) {
				t.Fatalf("ORU() = %v, %v", o, err)
			}
			s := string(b)
			if got := m.Delims.Unescape(m.Delims.Escape(s)); m.Delims.Esc != 0 && got != s {
				t.Fatalf("Unescape(Escape(%q)) = %q", s, got)
			}
		}
		// The text of the acknowledgement is the input itself: anything.
		text := string(b)
		ack := ACK(m, "AE", text, now)
		if err := frameable(ack); err != nil {
			t.Fatalf("ACK cannot be framed: %v: %q", err, ack)
		}
		code, got, err := AckCode(ack)
		if err != nil || code != "AE" || got != text {
			t.Fatalf("AckCode(ACK(…, %q)) = %q, %q, %v\n%q", text, code, got, err, ack)
		}
		if m != nil {
			a, _ := Parse(ack)
			if want := m.recode(m.Field("MSH", 10)); a.Field("MSA", 2) != want {
				t.Fatalf("ACK MSA-2 %q, want %q", a.Field("MSA", 2), want)
			}
		}
	})
}

// FuzzReadFrame: ReadFrame never panics, and its frames hold no framing
// byte and are no longer than MaxFrame.
func FuzzReadFrame(f *testing.F) {
	for _, s := range []string{"\x0bA\x1c\r", "junk\x0bA\x1c\x0bB\x1c\r", "\x0b\x0b\x1c", "\x1c\r\x0b", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(b), 16)
		for range len(b) + 1 {
			frame, err := ReadFrame(r)
			if err != nil {
				return
			}
			if bytes.ContainsAny(frame, "\x0b\x1c") || len(frame) > MaxFrame {
				t.Fatalf("frame %q from %q", frame, b)
			}
		}
		t.Fatalf("ReadFrame returned more frames than the input has bytes: %q", b)
	})
}

func BenchmarkParseORU(b *testing.B) {
	obs := make([]Observation, 10)
	for i := range obs {
		obs[i] = Observation{Code: fmt.Sprintf("%d-%d", 700+i, i), Text: "TEST", System: "LN", Value: "12.5", Units: "10^3/uL", Range: "4.0-10.0", Flags: "N"}
	}
	msg := BuildORU(ORU{ControlID: "B1", Sender: "XN-550^SYSMEX", Orders: []Order{{Accession: "241005001", Observations: obs}}}, time.Now())
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		o, _, err := ParseORU(msg)
		if err != nil || len(o.Orders[0].Observations) != 10 {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerRoundTrip is one message sent and its ACK received over
// loopback TCP, the handler answering AA at once; …ORU parses the message
// and builds the ACK, as HandleORU does.
func BenchmarkServerRoundTrip(b *testing.B) {
	obs := make([]Observation, 10)
	for i := range obs {
		obs[i] = Observation{Code: fmt.Sprintf("%d-%d", 700+i, i), Text: "TEST", System: "LN", Value: "12.5", Units: "10^3/uL", Range: "4.0-10.0", Flags: "N"}
	}
	msg := BuildORU(ORU{ControlID: "B1", Sender: "XN-550^SYSMEX", Orders: []Order{{Accession: "241005001", Observations: obs}}}, time.Now())
	m, _ := Parse(msg)
	aa := ACK(m, "AA", "", time.Now())
	for _, c := range []struct {
		name    string
		handler Handler
	}{
		{"AA", func(context.Context, []byte) []byte { return aa }},
		{"ORU", HandleORU(nil)},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := serve(b, &Server{Handler: c.handler})
			cl := dial(b, r.addr)
			ctx := context.Background()
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := cl.Send(ctx, msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
