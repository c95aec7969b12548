package journal

import (
	"bytes"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
)

// FuzzDecode checks the fast envelope parser against encoding/json: whatever
// Decode accepts encodes back to the same bytes, and wherever parseCanonical
// says ok, encoding/json reads the same event.
func FuzzDecode(f *testing.F) {
	e := &Event{Origin: "KA", Seq: 7, Time: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC), Actor: "clerk", Type: "patient.registered", Payload: []byte(`{"a":"रमेश","b":[1,{"c":null}]}`)}
	f.Add(e.Encode())
	odd := *e
	odd.Actor = `a"b\c`
	f.Add(odd.Encode())
	f.Add([]byte(`{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{}}}`))
	f.Add([]byte(`{"origin":"KA","seq":07,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{"a": 1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if e, ok := parseCanonical(data); ok {
			j, err := decodeJSON(data)
			if err == nil && (j.Origin != e.Origin || j.Seq != e.Seq || !j.Time.Equal(e.Time) || j.Actor != e.Actor || j.Type != e.Type) {
				t.Fatalf("parseCanonical %+v, encoding/json %+v", e, j)
			}
		}
		got, err := Decode(data)
		if err != nil {
			return
		}
		if !bytes.Equal(got.Encode(), data) {
			t.Fatalf("Decode accepted %q, which encodes as %q", data, got.Encode())
		}
	})
}

func TestHashChildren(t *testing.T) {
	l, r := LeafHash([]byte("left")), LeafHash([]byte("right"))
	if got, want := hashChildren(l, r), rfc6962.DefaultHasher.HashChildren(l, r); !bytes.Equal(got, want) {
		t.Fatalf("hashChildren = %x, rfc6962 says %x", got, want)
	}
}
