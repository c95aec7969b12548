package hl7

import (
	"errors"
	"strings"
	"testing"
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
