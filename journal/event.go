// Package journal is Kavach's append-only record of every change: events with
// canonical bytes, an RFC 6962 Merkle tree over them, signed checkpoints in the
// C2SP signed-note format, and inclusion and consistency proofs.
//
// Nothing in the journal is ever updated or deleted. State is derived from it.
package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

// TimeFormat is the one way an event's time is written: UTC, microseconds.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// Event is one change to hospital data.
type Event struct {
	Origin  string          // code of the node that issued the event
	Seq     uint64          // sequence number on the origin node, from 1
	Time    time.Time       // when the origin node accepted it
	Actor   string          // username of the acting user, or "system"
	Type    string          // e.g. "patient.registered"
	Payload json.RawMessage // a canonical JSON object
	// Value is the payload as the emitting command built it, so that the live
	// projector need not decode what was just encoded. Nil when read back.
	Value any

	Index uint64 // position in this node's journal (leaf index); not part of the bytes
}

// Encode returns the event's canonical bytes: a JSON object with its keys in a
// fixed order, the time in TimeFormat and the payload in canonical form. The
// same event always encodes, and so hashes, the same.
func (e *Event) Encode() []byte {
	var b bytes.Buffer
	b.Grow(96 + len(e.Origin) + len(e.Actor) + len(e.Type) + len(e.Payload))
	b.WriteString(`{"origin":`)
	writeString(&b, e.Origin)
	b.WriteString(`,"seq":`)
	b.WriteString(strconv.FormatUint(e.Seq, 10))
	b.WriteString(`,"time":"`)
	b.WriteString(e.Time.UTC().Format(TimeFormat))
	b.WriteString(`","actor":`)
	writeString(&b, e.Actor)
	b.WriteString(`,"type":`)
	writeString(&b, e.Type)
	b.WriteString(`,"payload":`)
	if len(e.Payload) == 0 {
		b.WriteString("{}")
	} else {
		b.Write(e.Payload)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeString(b *bytes.Buffer, s string) {
	q, _ := json.Marshal(s) // a string always marshals
	b.Write(q)
}

// Decode parses an event's bytes and checks that they are canonical, so that a
// changed byte that still parses is caught as well as one that does not.
func Decode(data []byte) (*Event, error) {
	e, ok := parseCanonical(data)
	if !ok {
		// Not in the form Encode writes: find out what is wrong, for the error.
		var err error
		if e, err = decodeJSON(data); err != nil {
			return nil, err
		}
	}
	if !bytes.Equal(e.Encode(), data) {
		return nil, errors.New("journal: event bytes are not canonical")
	}
	if !canonicalPayload(e.Payload) {
		return nil, errors.New("journal: event payload is not canonical")
	}
	return e, nil
}

// parseCanonical reads bytes laid out as Encode writes them, with no escapes
// in the envelope's strings; ok is false for anything else. Decode still
// compares the result's encoding with the bytes, so this only has to be right
// when it says ok.
func parseCanonical(data []byte) (e *Event, ok bool) {
	p := data
	lit := func(s string) bool {
		if len(p) < len(s) || string(p[:len(s)]) != s {
			return false
		}
		p = p[len(s):]
		return true
	}
	str := func() (string, bool) {
		if len(p) == 0 || p[0] != '"' {
			return "", false
		}
		for i := 1; i < len(p); i++ {
			switch c := p[i]; {
			case c == '"':
				s := string(p[1:i])
				p = p[i+1:]
				return s, true
			case c == '\\' || c < 0x20:
				return "", false
			}
		}
		return "", false
	}
	e = &Event{}
	var t string
	if !lit(`{"origin":`) {
		return nil, false
	}
	if e.Origin, ok = str(); !ok || !lit(`,"seq":`) {
		return nil, false
	}
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	seq, err := strconv.ParseUint(string(p[:i]), 10, 64)
	if err != nil {
		return nil, false
	}
	e.Seq, p = seq, p[i:]
	if !lit(`,"time":`) {
		return nil, false
	}
	if t, ok = str(); !ok || !lit(`,"actor":`) {
		return nil, false
	}
	if e.Actor, ok = str(); !ok || !lit(`,"type":`) {
		return nil, false
	}
	if e.Type, ok = str(); !ok || !lit(`,"payload":`) || len(p) < 3 || p[len(p)-1] != '}' {
		return nil, false
	}
	if e.Time, err = time.Parse(TimeFormat, t); err != nil {
		return nil, false
	}
	e.Payload = append(json.RawMessage(nil), p[:len(p)-1]...) // data may be a reused buffer
	return e, true
}

// decodeJSON decodes an event's bytes with encoding/json.
func decodeJSON(data []byte) (*Event, error) {
	var raw struct {
		Origin  string          `json:"origin"`
		Seq     uint64          `json:"seq"`
		Time    string          `json:"time"`
		Actor   string          `json:"actor"`
		Type    string          `json:"type"`
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("journal: decode event: %w", err)
	}
	t, err := time.Parse(TimeFormat, raw.Time)
	if err != nil {
		return nil, fmt.Errorf("journal: decode event time: %w", err)
	}
	return &Event{Origin: raw.Origin, Seq: raw.Seq, Time: t, Actor: raw.Actor, Type: raw.Type, Payload: raw.Payload}, nil
}

// canonicalPayload reports whether a payload is in canonical form. Compact
// JSON with sorted keys, as MarshalPayload writes, is checked by a scan;
// anything else is compared with its canonical form.
func canonicalPayload(p []byte) bool {
	if len(p) > 0 && p[0] == '{' && json.Valid(p) && keysSorted(p) && compactJSON(p) {
		return true
	}
	c, err := Canonical(p)
	return err == nil && bytes.Equal(c, p)
}

// compactJSON reports whether JSON has no white space outside strings and no
// HTML-escaped characters, as the canonical form has neither.
func compactJSON(b []byte) bool {
	in := false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case in && c == '\\':
			if i+5 < len(b) && b[i+1] == 'u' && b[i+2] == '0' && b[i+3] == '0' && (b[i+4] == '3' || b[i+4] == '2') &&
				(b[i+5] == 'c' || b[i+5] == 'e' || b[i+5] == '6') {
				return false // \u003c, \u003e, \u0026
			}
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			return false
		}
	}
	return true
}

// Canonical returns the canonical form of a JSON object: no insignificant
// white space, object keys sorted, numbers as written, no HTML escaping.
func Canonical(raw []byte) (json.RawMessage, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v map[string]any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("journal: payload is not a JSON object: %w", err)
	}
	if d.More() {
		return nil, errors.New("journal: payload has trailing data")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("journal: payload: %w", err)
	}
	out := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	return out, nil
}

// MarshalPayload turns a payload value into canonical JSON. A struct whose
// fields are declared in key order already marshals canonically, which is
// checked cheaply; anything else takes the slower way through Canonical.
func MarshalPayload(v any) (json.RawMessage, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("journal: marshal payload: %w", err)
	}
	raw := bytes.TrimSuffix(b.Bytes(), []byte("\n"))
	if len(raw) > 0 && raw[0] == '{' && keysSorted(raw) {
		return raw, nil
	}
	return Canonical(raw)
}

// keysSorted reports whether every object in compact JSON, as encoding/json
// writes it, has its keys in increasing order and none repeated.
func keysSorted(b []byte) bool {
	type level struct {
		object  bool
		lastKey []byte
		wantKey bool
	}
	var stack []level
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{':
			stack = append(stack, level{object: true, wantKey: true})
		case '[':
			stack = append(stack, level{})
		case '}', ']':
			if len(stack) == 0 {
				return false
			}
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.object {
				top.wantKey = true
			}
		case '"':
			j := i + 1
			for ; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return false
			}
			if len(stack) > 0 {
				if top := &stack[len(stack)-1]; top.object && top.wantKey {
					key := b[i+1 : j]
					if bytes.IndexByte(key, '\\') >= 0 || (top.lastKey != nil && bytes.Compare(key, top.lastKey) <= 0) {
						return false
					}
					top.lastKey, top.wantKey = key, false
				}
			}
			i = j
		}
	}
	return len(stack) == 0
}

// Unmarshal gives a projector an event's payload: the value the command
// emitted when there is one, else the decoded bytes.
func Unmarshal[T any](e *Event, dst *T) error {
	switch v := e.Value.(type) {
	case *T:
		*dst = *v
		return nil
	case T:
		*dst = v
		return nil
	}
	if err := json.Unmarshal(e.Payload, dst); err != nil {
		return fmt.Errorf("journal: event %d payload: %w", e.Index, err)
	}
	return nil
}

// LeafHash is the RFC 6962 leaf hash of an event's bytes.
func LeafHash(data []byte) []byte { return rfc6962.DefaultHasher.HashLeaf(data) }

// hashChildren is the RFC 6962 interior node hash, SHA-256(0x01 || l || r),
// as rfc6962.DefaultHasher.HashChildren computes it but without a new hash
// state for every node: verify computes one for every event.
func hashChildren(l, r []byte) []byte {
	if len(l) != sha256.Size || len(r) != sha256.Size {
		// Not hashes (a damaged row): hash what is there, as RFC 6962 does.
		return rfc6962.DefaultHasher.HashChildren(l, r)
	}
	var b [1 + 2*sha256.Size]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:], l)
	copy(b[1+sha256.Size:], r)
	h := sha256.Sum256(b[:])
	return h[:]
}
