package node

import (
	"encoding/json"
	"testing"
	"time"

	"kavach/journal"
)

// counted counts its decodings, to show which goroutine decoded it.
type counted struct{ Name string }

var decodings int

func (c *counted) UnmarshalJSON(b []byte) error {
	decodings++
	var v struct{ Name string }
	err := json.Unmarshal(b, &v)
	c.Name = v.Name
	return err
}

// A payload with a Decoder is decoded once, by decodeEvent, and the
// projector's journal.Unmarshal takes that value; one that does not decode
// is left for the projector.
func TestDecoderFastPath(t *testing.T) {
	decodings = 0
	ds := map[string]Decoder{"t.done": DecoderOf[counted]()}
	good := (&journal.Event{Origin: "KA", Seq: 1, Time: time.Unix(0, 0), Actor: "a", Type: "t.done", Payload: json.RawMessage(`{"Name":"x"}`)}).Encode()
	e, err := decodeEvent(ds, good)
	if err != nil {
		t.Fatal(err)
	}
	var c counted
	if err := journal.Unmarshal(e, &c); err != nil || c.Name != "x" || decodings != 1 {
		t.Fatalf("Unmarshal: %+v %v, %d decodings (want 1)", c, err, decodings)
	}
	bad := (&journal.Event{Origin: "KA", Seq: 2, Time: time.Unix(0, 0), Actor: "a", Type: "t.done", Payload: json.RawMessage(`{"Name":5}`)}).Encode()
	e, err = decodeEvent(ds, bad)
	if err != nil || e.Value != nil {
		t.Fatalf("an undecodable payload: %+v %v", e, err)
	}
	if err := journal.Unmarshal(e, &c); err == nil {
		t.Fatal("the projector's Unmarshal accepted a number for a name")
	}
}
