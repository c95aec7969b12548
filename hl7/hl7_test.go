package hl7

import (
	"errors"
	"reflect"
	"strings"
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
