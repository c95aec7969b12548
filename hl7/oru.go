package hl7

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ORU is an observation result message reduced to what a lab needs.
type ORU struct {
	ControlID string // MSH-10
	Sender    string // MSH-3^MSH-4 (sending application and facility; the first component of each, and no ^ when MSH-4 is empty)
	Version   string // MSH-12
	Orders    []Order
}

// Order is one OBR (one sample's tests) and the results that follow it.
type Order struct {
	Accession    string // OBR-3 filler order number (first component), else OBR-2 placer number
	Observations []Observation
	// Specimen are the OBX that follow an SPM segment (2.5 and later):
	// observations about the specimen, not results of the order.
	Specimen []Observation
}

// Observation is one OBX: one result.
type Observation struct {
	SetID     string // OBX-1
	ValueType string // OBX-2: NM, ST, …
	Code      string // OBX-3 first component (identifier)
	Text      string // OBX-3 second component
	System    string // OBX-3 third component (LN for LOINC, or the vendor's)
	AltCode   string // OBX-3 fourth component (alternate identifier), if any
	Value     string // OBX-5 unescaped (a coded or structured value keeps its component separators)
	Units     string // OBX-6 first component
	Range     string // OBX-7
	Flags     string // OBX-8 (repetitions, such as H~A, as sent)
	Status    string // OBX-11 (F final, C corrected, P preliminary, …)
}

// ParseORU parses an ORU^R01 result message. It checks that MSH-9 is
// ORU^R01 (or ORU^R01^ORU_R01), that there is at least one OBR, that each
// OBR has an accession number, and that no OBX comes before the first OBR;
// each OBX belongs to the OBR before it. Errors are *Error; the Message is
// returned whenever the message parsed, even if it is not a good ORU, so
// that the answer can carry its control id.
func ParseORU(b []byte) (*ORU, *Message, error) {
	m, err := Parse(b)
	if err != nil {
		return nil, nil, err
	}
	o, err := m.ORU()
	if err != nil {
		return nil, m, err
	}
	return o, m, nil
}

// ORU reads the message as an ORU^R01 result message: see ParseORU.
func (m *Message) ORU() (*ORU, error) {
	d := m.Delims
	typ := m.Field("MSH", 9)
	code, event, structure := d.Component(typ, 1), d.Component(typ, 2), d.Component(typ, 3)
	if typ == "" {
		return nil, &Error{Reason: "MSH-9 message type missing (this port takes ORU^R01 results)", Ack: "AR"}
	}
	if code != "ORU" || event != "R01" || structure != "" && structure != "ORU_R01" {
		return nil, &Error{Reason: fmt.Sprintf("MSH-9 message type is %s: this port takes ORU^R01 results only", clip(typ)), Ack: "AR"}
	}
	o := &ORU{
		ControlID: d.Unescape(m.Field("MSH", 10)),
		Sender:    m.Component("MSH", 3, 1),
		Version:   m.Component("MSH", 12, 1),
	}
	if f := m.Component("MSH", 4, 1); f != "" {
		o.Sender += "^" + f
	}
	// The observations are read into one array: those of an order, then
	// those of its specimen, then the next order's, so that each list is
	// a part of it, cut to its length when the order ends.
	nOBR, nOBX := 0, 0
	for _, s := range m.Segments {
		switch s.Name {
		case "OBR":
			nOBR++
		case "OBX":
			nOBX++
		}
	}
	o.Orders = make([]Order, 0, nOBR)
	pool := make([]Observation, 0, nOBX)
	specimen := false // an SPM came after the current OBR
	start := 0        // in pool, of the current list
	cut := func() {
		if len(o.Orders) == 0 || start == len(pool) {
			return
		}
		ord := &o.Orders[len(o.Orders)-1]
		if specimen {
			ord.Specimen = pool[start:len(pool):len(pool)]
		} else {
			ord.Observations = pool[start:len(pool):len(pool)]
		}
		start = len(pool)
	}
	for i, s := range m.Segments {
		switch s.Name {
		case "OBR":
			acc := d.Component(s.Field(3), 1)
			if acc == "" {
				acc = d.Component(s.Field(2), 1)
			}
			if acc == "" {
				return nil, &Error{Segment: i + 1, Reason: "OBR has no accession number (OBR-3 filler or OBR-2 placer order number)", Ack: "AE"}
			}
			cut()
			o.Orders = append(o.Orders, Order{Accession: acc})
			specimen = false
		case "SPM":
			cut()
			specimen = len(o.Orders) > 0
		case "OBX":
			if len(o.Orders) == 0 {
				return nil, &Error{Segment: i + 1, Reason: "OBX before any OBR (a result must follow the order it belongs to)", Ack: "AE"}
			}
			pool = append(pool, observation(d, s))
		}
	}
	cut()
	if len(o.Orders) == 0 {
		return nil, &Error{Reason: "no OBR segment: the results name no order or sample", Ack: "AE"}
	}
	return o, nil
}

func observation(d Delimiters, s Segment) Observation {
	id := s.Field(3)
	return Observation{
		SetID:     d.Unescape(s.Field(1)),
		ValueType: d.Unescape(s.Field(2)),
		Code:      d.Component(id, 1),
		Text:      d.Component(id, 2),
		System:    d.Component(id, 3),
		AltCode:   d.Component(id, 4),
		Value:     d.Unescape(s.Field(5)),
		Units:     d.Component(s.Field(6), 1),
		Range:     d.Unescape(s.Field(7)),
		Flags:     d.Unescape(s.Field(8)),
		Status:    d.Unescape(s.Field(11)),
	}
}

// ACK builds the acknowledgement of a received message: an MSH with the
// sender and receiver swapped, MSH-9 ACK^<the received trigger event> (ACK
// alone when there is none), a new control id in MSH-10, P in MSH-11 and the
// received version in MSH-12 (2.3.1 if none); then MSA|code|control id|text,
// and for any code but AA and CA an ERR segment with the text (in ERR-1
// before version 2.5, in ERR-8 from 2.5 on). code is AA (accepted), AE
// (error) or AR (rejected). The text is escaped. received may be nil, when
// the message could not be parsed: the ACK is still valid, with an empty
// control id in MSA-2. now is written in MSH-7 in its own location.
func ACK(received *Message, code, text string, now time.Time) []byte {
	version := "2.3.1"
	var sendApp, sendFac, recvApp, recvFac, controlID, event string
	if received != nil {
		if v := received.Component("MSH", 12, 1); v != "" {
			version = std.Escape(v)
		}
		sendApp = received.recode(received.Field("MSH", 5))
		sendFac = received.recode(received.Field("MSH", 6))
		recvApp = received.recode(received.Field("MSH", 3))
		recvFac = received.recode(received.Field("MSH", 4))
		controlID = received.recode(received.Field("MSH", 10))
		event = received.Component("MSH", 9, 2)
	}
	typ := "ACK"
	if event != "" {
		typ += "^" + std.Escape(event)
	}
	var b strings.Builder
	b.Grow(160 + 2*len(text))
	b.WriteString("MSH|^~\\&")
	for _, f := range []string{sendApp, sendFac, recvApp, recvFac, now.Format("20060102150405"), "", typ, NewControlID(now), "P", version} {
		b.WriteByte('|')
		b.WriteString(f)
	}
	b.WriteString("\rMSA|" + std.Escape(code) + "|" + controlID + "|" + std.Escape(text) + "\r")
	if code != "AA" && code != "CA" {
		if before25(version) {
			// ERR-1: segment^sequence^field^code, the code a CE whose
			// text is ours: 207 is HL7's "application internal error".
			b.WriteString("ERR|^^^207&" + std.Escape(text) + "&HL70357\r")
		} else {
			// ERR-3 the HL7 error code, ERR-4 the severity, ERR-8 the
			// user message.
			b.WriteString("ERR|||207^Application internal error^HL70357|E||||" + std.Escape(text) + "\r")
		}
	}
	return []byte(b.String())
}

// before25 says whether an HL7 version string is older than 2.5.
func before25(v string) bool {
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return true
	}
	return ma < 2 || ma == 2 && mi < 5
}

// recode returns a raw field of m written with this package's delimiters:
// as it is when m uses them too (so that a control id goes back exactly as
// it came), else each subcomponent unescaped and escaped again.
func (m *Message) recode(field string) string {
	d := m.Delims
	if d == std {
		return std.escapeControls(field)
	}
	split := func(s string, sep byte) []string {
		if sep == 0 {
			return []string{s}
		}
		return strings.Split(s, string(rune(sep)))
	}
	reps := split(field, d.Rep)
	for i, r := range reps {
		comps := split(r, d.Comp)
		for j, c := range comps {
			subs := split(c, d.Sub)
			for k, s := range subs {
				subs[k] = std.Escape(d.Unescape(s))
			}
			comps[j] = strings.Join(subs, "&")
		}
		reps[i] = strings.Join(comps, "^")
	}
	return strings.Join(reps, "~")
}

// escapeControls escapes the control characters in s (see Escape) and
// nothing else.
func (d Delimiters) escapeControls(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return d.Escape(s) // rare: only a broken sender puts them there
		}
	}
	return s
}

var controlSeq atomic.Uint32

func init() { controlSeq.Store(rand.Uint32()) }

// NewControlID returns a new message control id (for MSH-10): the time to
// the second and a counter, 18 characters, within the 20 that 2.3.1 allows.
func NewControlID(now time.Time) string {
	return now.Format("060102150405") + fmt.Sprintf("%06d", controlSeq.Add(1)%1000000)
}

// AckCode reads an acknowledgement: MSA-1 (AA, AE, AR, or CA, CE, CR) and
// the text in MSA-3, unescaped; when MSA-3 is empty, the text of the ERR
// segment (ERR-8, else the text of the code in ERR-1 or ERR-3).
func AckCode(ack []byte) (code, text string, err error) {
	m, err := Parse(ack)
	if err != nil {
		return "", "", err
	}
	return m.ackCode()
}

func (m *Message) ackCode() (code, text string, err error) {
	d := m.Delims
	var msa *Segment
	for i := range m.Segments {
		if m.Segments[i].Name == "MSA" {
			msa = &m.Segments[i]
			break
		}
	}
	if msa == nil {
		return "", "", &Error{Reason: "MSA missing: not an acknowledgement"}
	}
	code = d.Unescape(msa.Field(1))
	switch code {
	case "AA", "AE", "AR", "CA", "CE", "CR":
	default:
		return code, "", &Error{Reason: fmt.Sprintf("MSA-1 is %s, not an acknowledgement code (AA, AE, AR)", clip(code))}
	}
	text = d.Unescape(msa.Field(3))
	if text == "" {
		if t := d.Unescape(m.Field("ERR", 8)); t != "" {
			text = t
		} else if t := subcomponent(d, d.rawComponent(m.Field("ERR", 1), 4), 2); t != "" {
			text = t
		} else {
			text = m.Component("ERR", 3, 2)
		}
	}
	return code, text, nil
}

// subcomponent returns subcomponent n (from 1) of a raw component,
// unescaped.
func subcomponent(d Delimiters, comp string, n int) string {
	if d.Sub == 0 {
		if n == 1 {
			return d.Unescape(comp)
		}
		return ""
	}
	parts := strings.Split(comp, string(rune(d.Sub)))
	if n < 1 || n > len(parts) {
		return ""
	}
	return d.Unescape(parts[n-1])
}

// BuildORU writes a 2.3.1 ORU^R01 as a hematology or chemistry analyser
// sends it (for tests, benchmarks and tools): MSH, PID and PV1 with the
// fields analysers leave empty, then per order an OBR with the accession in
// OBR-3 and an OBX per observation, with the type NM, status F and a set id
// counting from 1 unless the observation says otherwise. Every value is
// escaped. o.Version, if set, goes in MSH-12; o.ControlID, if empty, is a new
// one; Order.Specimen is not written.
func BuildORU(o ORU, now time.Time) []byte {
	e := std.Escape
	app, fac, _ := strings.Cut(o.Sender, "^")
	version := o.Version
	if version == "" {
		version = "2.3.1"
	}
	controlID := o.ControlID
	if controlID == "" {
		controlID = NewControlID(now)
	}
	ts := now.Format("20060102150405")
	var b strings.Builder
	seg := func(fields ...string) {
		for len(fields) > 1 && fields[len(fields)-1] == "" {
			fields = fields[:len(fields)-1]
		}
		b.WriteString(strings.Join(fields, "|"))
		b.WriteByte('\r')
	}
	comps := func(parts ...string) string {
		for i, p := range parts {
			parts[i] = e(p)
		}
		for len(parts) > 1 && parts[len(parts)-1] == "" {
			parts = parts[:len(parts)-1]
		}
		return strings.Join(parts, "^")
	}
	seg("MSH", "^~\\&", e(app), e(fac), "", "", ts, "", "ORU^R01", e(controlID), "P", e(version), "", "", "", "", "", "ASCII")
	seg("PID", "1", "", "", "", "^", "", "", "U")
	seg("PV1", "1", "N")
	for i, ord := range o.Orders {
		obr := make([]string, 26)
		obr[0], obr[1], obr[3], obr[4], obr[7], obr[25] = "OBR", strconv.Itoa(i+1), e(ord.Accession), "00001^Automated Count^99MRC", ts, "F"
		seg(obr...)
		for j, ob := range ord.Observations {
			setID, vt, status := ob.SetID, ob.ValueType, ob.Status
			if setID == "" {
				setID = strconv.Itoa(j + 1)
			}
			if vt == "" {
				vt = "NM"
			}
			if status == "" {
				status = "F"
			}
			seg("OBX", e(setID), e(vt), comps(ob.Code, ob.Text, ob.System, ob.AltCode), "", e(ob.Value), e(ob.Units),
				e(ob.Range), e(ob.Flags), "", "", e(status), "", "", ts)
		}
	}
	return []byte(b.String())
}
