package node

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"kavach"
	"kavach/journal"
)

// noted is a test service's event: a memo kept in a table.
type memo struct {
	Text string `json:"text"`
}

const noted Event[memo] = "test.noted"

func notes() Service {
	return Service{
		Name:       "test",
		Migrations: []Migration{{Name: "test/001", SQL: `CREATE TABLE notes (origin TEXT NOT NULL, seq INTEGER NOT NULL, text TEXT NOT NULL, PRIMARY KEY (origin, seq))`}},
		Events: []Handler{On(noted, func(p *Projection, e *journal.Event, v *memo) error {
			_, err := p.Exec(`INSERT INTO notes (origin, seq, text) VALUES (?, ?, ?)`, e.Origin, e.Seq, v.Text)
			return err
		})},
	}
}

// shout is a memo that writes its text in capitals: what the journal holds
// differs from the value the command made.
type shout struct {
	Text string `json:"text"`
}

func (s shout) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]string{"text": strings.ToUpper(s.Text)})
}

const shouted Event[shout] = "test.shouted"

// A projector is given the payload as the journal's bytes decode, never
// the command's value, and verify agrees with the table.
func TestEmitProjectsTheJournalsBytes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	svc := notes()
	svc.Events = append(svc.Events, On(shouted, func(p *Projection, e *journal.Event, v *shout) error {
		_, err := p.Exec(`INSERT INTO notes (origin, seq, text) VALUES (?, ?, ?)`, e.Origin, e.Seq, v.Text)
		return err
	}))
	n, err := Open(ctx, Config{Dir: dir, Services: []Service{svc}})
	if err != nil {
		t.Fatal(err)
	}
	err = n.Do(ctx, "clerk", func(tx *Tx) error {
		_, err := Emit(tx, shouted, shout{Text: "quiet"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var got string
	if err := n.DB().QueryRow(`SELECT text FROM notes`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "QUIET" {
		t.Fatalf("the table holds %q, the journal %q", got, "QUIET")
	}
	n.Close()
	rep, err := Verify(ctx, dir, []Service{svc}, VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

// Emit refuses a payload with text no field may hold, whichever field it
// is in, and nothing is written: bytes that are not UTF-8 would be U+FFFD
// in the journal for ever, and a direction override would show one thing
// and store another.
func TestEmitRefusesBadText(t *testing.T) {
	ctx := context.Background()
	n, err := Open(ctx, Config{Dir: t.TempDir(), Services: []Service{notes()}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	for name, text := range map[string]string{"ErrNotUTF8": "bad \xff byte", "ErrReplacement": "bad \ufffd", "ErrOverride": "abc\u202edef", "ErrNUL": "a\x00b", "ErrDEL": "a\x7fb"} {
		t.Run(name, func(t *testing.T) {
			before := n.Status().Events
			err := n.Do(ctx, "clerk", func(tx *Tx) error {
				_, err := Emit(tx, noted, memo{Text: text})
				return err
			})
			if kavach.ErrorCode(err) != kavach.EINVALID {
				t.Fatalf("Emit(%q): %v", text, err)
			}
			if n.Status().Events != before {
				t.Fatal("a refused event was journaled")
			}
		})
	}
	t.Run("OKLinesAndHindi", func(t *testing.T) {
		err := n.Do(ctx, "clerk", func(tx *Tx) error {
			_, err := Emit(tx, noted, memo{Text: "पहली पंक्ति\nsecond\tline \"quoted\" \\ back"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// decodeEvent decodes the payload of a known type; one that does not fit
// its type is left undecoded for Apply, which names what is wrong.
func TestDecodeEvent(t *testing.T) {
	_, types, err := gather([]Service{notes()})
	if err != nil {
		t.Fatal(err)
	}
	good := (&journal.Event{Origin: "KA", Seq: 1, Time: time.Unix(0, 0), Actor: "a", Type: "test.noted", Payload: json.RawMessage(`{"text":"x"}`)}).Encode()
	e, err := decodeEvent(types, good)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := e.Value.(*memo); !ok || v.Text != "x" {
		t.Fatalf("decoded %#v", e.Value)
	}
	for name, payload := range map[string]string{"WrongType": `{"text":5}`, "UnknownField": `{"extra":1,"text":"x"}`} {
		t.Run(name, func(t *testing.T) {
			bad := (&journal.Event{Origin: "KA", Seq: 2, Time: time.Unix(0, 0), Actor: "a", Type: "test.noted", Payload: json.RawMessage(payload)}).Encode()
			e, err := decodeEvent(types, bad)
			if err != nil || e.Value != nil {
				t.Fatalf("an undecodable payload: %+v %v", e, err)
			}
			tx := &Tx{n: &Node{types: types}}
			if err := tx.Apply(e); err == nil || !strings.Contains(err.Error(), "payload is not a test.noted") {
				t.Fatalf("Apply: %v", err)
			}
		})
	}
}

// gather refuses two owners of one event type and a follower of a type no
// one declares.
func TestGather(t *testing.T) {
	follower := Service{Name: "other", Events: []Handler{Follow(noted, func(*Projection, *journal.Event, *memo) error { return nil })}}
	if _, _, err := gather([]Service{follower}); err == nil {
		t.Error("a follower of an undeclared type was accepted")
	}
	twice := notes()
	twice.Name = "again"
	twice.Migrations = nil
	if _, _, err := gather([]Service{notes(), twice}); err == nil {
		t.Error("two owners of one type were accepted")
	}
	_, types, err := gather([]Service{notes(), follower})
	if err != nil || len(types["test.noted"].apply) != 2 {
		t.Fatalf("owner and follower: %v", err)
	}
}
