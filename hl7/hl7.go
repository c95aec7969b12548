// Package hl7 reads the HL7 version 2 messages that lab analysers send
// (ORU^R01 results in 2.3.1, 2.4, 2.5 and 2.5.1), answers them with
// acknowledgements, and carries both over MLLP, the framing on a TCP
// connection that analysers and their middleware use.
//
// It is a small parser of the text format, not a full HL7 library: a message
// is its segments, each segment its raw field strings, and the few things a
// lab needs (the accession number, each result's code, value, units, range,
// flags and status) are read out into an ORU. Values are unescaped (\F\ \S\
// \T\ \R\ \E\, \Xhh\ and the line breaks \.br\ \.sp\) when they are read, not
// when the message is parsed, so a message can always be acknowledged with
// the control id it came with.
package hl7

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Delimiters are a message's separators and escape character, from MSH-1
// and MSH-2. A zero byte means the message declared none: only Field and
// Comp are required.
type Delimiters struct {
	Field byte // MSH-1, normally |
	Comp  byte // component separator, normally ^
	Rep   byte // repetition separator, normally ~
	Esc   byte // escape character, normally \
	Sub   byte // subcomponent separator, normally &
}

// std are the delimiters that this package writes: |^~\&.
var std = Delimiters{Field: '|', Comp: '^', Rep: '~', Esc: '\\', Sub: '&'}

// Message is a parsed HL7 v2 message.
type Message struct {
	Segments []Segment
	Delims   Delimiters // the message's own, from MSH-1 and MSH-2
}

// Segment is one segment of a message.
type Segment struct {
	Name string
	// Fields are the raw field strings, escapes and all, numbered as HL7
	// numbers them: Fields[0] is the name and Fields[n] is field n. For MSH,
	// Fields[1] is the field separator and Fields[2] the encoding
	// characters, so that Fields[9] is MSH-9 there too.
	Fields []string
}

// Field returns field n of the segment as it was sent, or "" if the segment
// has no field n.
func (s Segment) Field(n int) string {
	if n < 0 || n >= len(s.Fields) {
		return ""
	}
	return s.Fields[n]
}

// Error is what is wrong with a message, in words that can go back to the
// analyser in its acknowledgement.
type Error struct {
	Segment int    // 1-based number of the segment at fault (blank lines are not counted); 0 when no one segment is
	Reason  string // what is wrong, for a person
	Ack     string // the acknowledgement code that answers it: AR when the message is refused whole, AE when its content is wrong
}

func (e *Error) Error() string {
	if e.Segment > 0 {
		return "segment " + strconv.Itoa(e.Segment) + ": " + e.Reason
	}
	return e.Reason
}

// Parse splits an HL7 v2 message into segments and fields. Segments may end
// in CR (as the standard says), LF or CRLF; blank lines are skipped, and so
// are an MLLP start byte before the message and an end byte after it. The
// first segment must be MSH, and every segment's name must be three capital
// letters or digits (Z segments too). Errors are *Error.
func Parse(b []byte) (*Message, error) {
	s := string(b)
	s = strings.TrimPrefix(s, "\ufeff")
	s = strings.TrimPrefix(s, "\x0b")
	s = strings.TrimRight(s, "\x1c\r\n")
	// An upper bound of the segments, so that the slice is allocated once.
	n := strings.Count(s, "\r") + strings.Count(s, "\n") + 1
	m := &Message{Segments: make([]Segment, 0, n)}
	var pool []string
	for s != "" {
		var line string
		if i := strings.IndexAny(s, "\r\n"); i >= 0 {
			line, s = s[:i], s[i+1:]
		} else {
			line, s = s, ""
		}
		if blank(line) {
			continue
		}
		num := len(m.Segments) + 1
		if num == 1 {
			seg, d, err := parseMSH(line)
			if err != nil {
				return nil, err
			}
			m.Delims = d
			m.Segments = append(m.Segments, seg)
			// The other segments' fields share one array, cut so that
			// appending to one segment's fields cannot reach the next's.
			pool = make([]string, 0, strings.Count(s, seg.Fields[1])+n)
			continue
		}
		fs := m.Delims.Field
		name := line
		if i := strings.IndexByte(line, fs); i >= 0 {
			name = line[:i]
		}
		if !validName(name) {
			return nil, &Error{Segment: num, Reason: fmt.Sprintf("bad name %s (a segment starts with three capital letters or digits, like PID, then %q)", clip(name), fs), Ack: "AR"}
		}
		if name == "MSH" {
			return nil, &Error{Segment: num, Reason: "a second MSH: send one message at a time", Ack: "AR"}
		}
		start := len(pool)
		for {
			i := strings.IndexByte(line, fs)
			if i < 0 {
				pool = append(pool, line)
				break
			}
			pool = append(pool, line[:i])
			line = line[i+1:]
		}
		m.Segments = append(m.Segments, Segment{Name: name, Fields: pool[start:len(pool):len(pool)]})
	}
	if len(m.Segments) == 0 {
		return nil, &Error{Reason: "empty message: MSH missing", Ack: "AR"}
	}
	return m, nil
}

// parseMSH reads the first segment, which must be MSH, and the delimiters it
// declares.
func parseMSH(line string) (Segment, Delimiters, error) {
	var d Delimiters
	if !strings.HasPrefix(line, "MSH") {
		return Segment{}, d, &Error{Reason: fmt.Sprintf("MSH missing: the message starts with %s, not MSH", clip(line)), Ack: "AR"}
	}
	if len(line) < 5 {
		return Segment{}, d, &Error{Segment: 1, Reason: "MSH too short: no field separator and encoding characters (MSH-1, MSH-2)", Ack: "AR"}
	}
	d.Field = line[3]
	if !delimOK(d.Field) {
		return Segment{}, d, &Error{Segment: 1, Reason: fmt.Sprintf("MSH-1: %s cannot be the field separator (it is normally |)", clip(line[3:4])), Ack: "AR"}
	}
	parts := strings.Split(line[4:], line[3:4])
	enc := parts[0]
	if enc == "" || len(enc) > 5 {
		return Segment{}, d, &Error{Segment: 1, Reason: fmt.Sprintf("MSH-2: %s are not encoding characters (they are normally ^~\\&)", clip(enc)), Ack: "AR"}
	}
	d.Comp = enc[0]
	if len(enc) > 1 {
		d.Rep = enc[1]
	}
	if len(enc) > 2 {
		d.Esc = enc[2]
	}
	if len(enc) > 3 {
		d.Sub = enc[3]
	}
	// enc[4], from version 2.7 on, is the truncation character: not used here.
	seen := map[byte]bool{d.Field: true}
	for _, c := range []byte{d.Comp, d.Rep, d.Esc, d.Sub} {
		if c == 0 {
			continue
		}
		if !delimOK(c) || seen[c] {
			return Segment{}, d, &Error{Segment: 1, Reason: fmt.Sprintf("MSH-2: %s are not encoding characters (they are normally ^~\\&, each different from the field separator and from each other)", clip(enc)), Ack: "AR"}
		}
		seen[c] = true
	}
	fields := make([]string, 0, len(parts)+2)
	fields = append(fields, "MSH", line[3:4])
	fields = append(fields, parts...)
	return Segment{Name: "MSH", Fields: fields}, d, nil
}

// delimOK says whether c can be a delimiter: printable ASCII punctuation.
func delimOK(c byte) bool {
	return c > ' ' && c < 0x7f && !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z')
}

func validName(s string) bool {
	if len(s) != 3 || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 1; i < 3; i++ {
		if !('A' <= s[i] && s[i] <= 'Z' || '0' <= s[i] && s[i] <= '9') {
			return false
		}
	}
	return true
}

func blank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

// clip quotes s for an error message, cut to a length a person reads.
func clip(s string) string {
	const max = 24
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// Field returns field n of the first segment named seg, as it was sent
// (escapes and all), numbered as HL7 numbers it: MSH-9 is m.Field("MSH", 9).
// It returns "" if there is no such segment or field.
func (m *Message) Field(seg string, n int) string {
	if m == nil {
		return ""
	}
	for i := range m.Segments {
		if m.Segments[i].Name == seg {
			return m.Segments[i].Field(n)
		}
	}
	return ""
}

// Component returns component comp (from 1) of the first repetition of
// field n of the first segment named seg, unescaped. A field without
// component separators is its own first component. MSH-1 and MSH-2 are
// returned whole.
func (m *Message) Component(seg string, field, comp int) string {
	if m == nil {
		return ""
	}
	if seg == "MSH" && (field == 1 || field == 2) {
		if comp == 1 {
			return m.Field(seg, field)
		}
		return ""
	}
	return m.Delims.Component(m.Field(seg, field), comp)
}

// Component returns component n (from 1) of the first repetition of the raw
// field, unescaped. Subcomponent separators in it are left as they are.
func (d Delimiters) Component(field string, n int) string {
	return d.Unescape(d.rawComponent(field, n))
}

// rawComponent returns component n (from 1) of the first repetition of the
// raw field, as it is.
func (d Delimiters) rawComponent(field string, n int) string {
	if n < 1 {
		return ""
	}
	if d.Rep != 0 {
		if i := strings.IndexByte(field, d.Rep); i >= 0 {
			field = field[:i]
		}
	}
	for ; n > 1; n-- {
		i := strings.IndexByte(field, d.Comp)
		if i < 0 {
			return ""
		}
		field = field[i+1:]
	}
	if i := strings.IndexByte(field, d.Comp); i >= 0 {
		field = field[:i]
	}
	return field
}

// Unescape replaces the escape sequences in s: \F\ \S\ \T\ \R\ \E\ by the
// delimiters they stand for, \Xhh…\ by the bytes hh…, \.br\ and \.sp\ by a
// line feed; the highlighting \H\ \N\ and the other formatting commands
// (\.in\, \.ti\, \.sk\, \.ce\, \.fi\, \.nf\) are dropped. Anything else,
// such as a lone escape character or an unknown sequence, is kept as it is.
// (Shown with \ as the escape character: it is d.Esc.)
func (d Delimiters) Unescape(s string) string {
	if d.Esc == 0 || strings.IndexByte(s, d.Esc) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, d.Esc)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i+1:], d.Esc)
		if j < 0 {
			b.WriteString(s[i:])
			return b.String()
		}
		if d.unescapeSeq(&b, s[i+1:i+1+j]) {
			s = s[i+2+j:]
		} else {
			// Not an escape sequence: the escape character stands for
			// itself, and what follows it is read again.
			b.WriteByte(d.Esc)
			s = s[i+1:]
		}
	}
}

// unescapeSeq writes what the escape sequence seq (between the escape
// characters) stands for, and says whether it was one.
func (d Delimiters) unescapeSeq(b *strings.Builder, seq string) bool {
	or := func(c, def byte) byte {
		if c == 0 {
			return def
		}
		return c
	}
	if seq == "" {
		return false
	}
	switch seq {
	case "F":
		b.WriteByte(d.Field)
	case "S":
		b.WriteByte(d.Comp)
	case "T":
		b.WriteByte(or(d.Sub, std.Sub))
	case "R":
		b.WriteByte(or(d.Rep, std.Rep))
	case "E":
		b.WriteByte(d.Esc)
	case "H", "N", ".fi", ".nf", ".ce":
	case ".br", ".sp":
		b.WriteByte('\n')
	default:
		cmd, arg := seq[:min(3, len(seq))], seq[min(3, len(seq)):]
		switch {
		case seq[0] == 'X' && len(seq) > 1 && len(seq)%2 == 1:
			raw, err := hex.DecodeString(seq[1:])
			if err != nil {
				return false
			}
			b.Write(raw)
		case cmd == ".sp" && number(arg):
			b.WriteByte('\n')
		case (cmd == ".in" || cmd == ".ti" || cmd == ".sk") && number(arg):
		default:
			return false
		}
	}
	return true
}

// number says whether s is an optionally signed decimal integer.
func number(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Escape writes s so that it reads back as s from a field, component or
// subcomponent: each delimiter and the escape character become their escape
// sequences, and control characters (CR, LF, the MLLP bytes, all below
// space but tab) become \Xhh\. With no escape character, s is returned as
// it is.
func (d Delimiters) Escape(s string) string {
	if d.Esc == 0 {
		return s
	}
	i := 0
	for i < len(s) && !d.special(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if !d.special(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte(d.Esc)
		switch {
		case c == d.Esc:
			b.WriteByte('E')
		case c < ' ' || c == 0x7f:
			const digits = "0123456789ABCDEF"
			b.WriteByte('X')
			b.WriteByte(digits[c>>4])
			b.WriteByte(digits[c&15])
		case c == d.Field:
			b.WriteByte('F')
		case c == d.Comp:
			b.WriteByte('S')
		case c == d.Rep:
			b.WriteByte('R')
		default: // d.Sub
			b.WriteByte('T')
		}
		b.WriteByte(d.Esc)
	}
	return b.String()
}

func (d Delimiters) special(c byte) bool {
	// A zero delimiter (none declared) matches only the byte 0, which is
	// escaped as a control character anyway.
	return c < ' ' && c != '\t' || c == 0x7f ||
		c == d.Esc || c == d.Field || c == d.Comp || c == d.Rep || c == d.Sub
}
