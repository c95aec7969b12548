package journal_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	_ "modernc.org/sqlite"

	"kavach/journal"
)

func TestEncodeDecode(t *testing.T) {
	payload, err := journal.MarshalPayload(map[string]any{"z": 1, "a": "रमेश <b>", "m": []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(payload); got != `{"a":"रमेश <b>","m":[1,2],"z":1}` {
		t.Fatalf("canonical payload = %s", got)
	}
	e := &journal.Event{Origin: "KA", Seq: 7, Time: time.Date(2026, 11, 26, 10, 0, 0, 123456000, time.UTC), Actor: "clerk", Type: "patient.registered", Payload: payload}
	data := e.Encode()
	back, err := journal.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Encode(), data) {
		t.Fatal("decode then encode changed the bytes")
	}
	// Escapes in the envelope take the slower way and come back the same.
	odd := *e
	odd.Actor, odd.Type = `a"b\c`, "x<y"
	if back, err := journal.Decode(odd.Encode()); err != nil || back.Actor != odd.Actor || back.Type != odd.Type || !bytes.Equal(back.Encode(), odd.Encode()) {
		t.Fatalf("escaped envelope: %+v, %v", back, err)
	}
	cases := map[string]string{
		"ErrSpace":        string(data[:1]) + " " + string(data[1:]),
		"ErrKeyOrder":     `{"seq":7,"origin":"KA","time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{}}`,
		"ErrPayloadOrder": `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{"b":1,"a":2}}`,
		"ErrTime":         `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00Z","actor":"clerk","type":"x","payload":{}}`,
		"ErrNotJSON":      `{"origin":`,
		"ErrHTMLEscape":   `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{"a":"\u003c"}}`,
		"ErrUnbalanced":   `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{}}}`,
		"ErrSeq":          `{"origin":"KA","seq":07,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{}}`,
		"ErrTrailing":     `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{}} `,
		"ErrPayloadSpace": `{"origin":"KA","seq":7,"time":"2026-11-26T10:00:00.123456Z","actor":"clerk","type":"x","payload":{"a": 1}}`,
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := journal.Decode([]byte(c)); err == nil {
				t.Fatalf("Decode(%s) accepted non-canonical bytes", c)
			}
		})
	}
}

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "j.db")+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(journal.Schema + journal.TilesSchema); err != nil {
		t.Fatal(err)
	}
	return db
}

// appendN appends n events in batches and returns their bytes.
func appendN(t *testing.T, db *sql.DB, a *journal.Appender, n, batch int) [][]byte {
	t.Helper()
	ctx := context.Background()
	var all [][]byte
	for done := 0; done < n; {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.Begin(ctx, tx)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < batch && done < n; i++ {
			p, _ := json.Marshal(map[string]int{"i": done})
			data, err := b.Append(ctx, &journal.Event{Time: time.Unix(int64(done), 0), Actor: "t", Type: "test", Payload: p})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, data)
			done++
		}
		if err := b.Finish(ctx); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		a.Committed(b)
	}
	return all
}

func rootOf(leaves [][]byte) []byte {
	rf := &compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for _, l := range leaves {
		r.Append(rfc6962.DefaultHasher.HashLeaf(l), nil)
	}
	if len(leaves) == 0 {
		return rfc6962.DefaultHasher.EmptyRoot()
	}
	h, _ := r.GetRootHash(nil)
	return h
}

func TestProofs(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a := journal.NewAppender("KA")
	events := appendN(t, db, a, 300, 37)
	for _, size := range []uint64{1, 2, 3, 16, 17, 100, 255, 256, 257, 300} {
		want := rootOf(events[:size])
		got, err := journal.RootAt(ctx, db, size)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("RootAt(%d) = %x, %v; want %x", size, got, err, want)
		}
		for _, idx := range []uint64{0, size / 2, size - 1} {
			p, err := journal.InclusionProof(ctx, db, idx, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := journal.VerifyInclusion(events[idx], idx, size, p, want); err != nil {
				t.Fatalf("inclusion %d in %d: %v", idx, size, err)
			}
		}
		for _, from := range []uint64{1, size / 3, size} {
			if from == 0 {
				continue
			}
			p, err := journal.ConsistencyProof(ctx, db, from, size)
			if err != nil {
				t.Fatal(err)
			}
			if err := journal.VerifyConsistency(from, size, p, rootOf(events[:from]), want); err != nil {
				t.Fatalf("consistency %d→%d: %v", from, size, err)
			}
		}
	}
	// A proof against a rewritten history fails.
	p, _ := journal.ConsistencyProof(ctx, db, 10, 300)
	forged := append([][]byte{}, events[:10]...)
	forged[3] = []byte(`{"forged":true}`)
	if err := journal.VerifyConsistency(10, 300, p, rootOf(forged), rootOf(events)); err == nil {
		t.Fatal("consistency proof verified against a rewritten history")
	}
}

func TestBatchRollback(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a := journal.NewAppender("KA")
	appendN(t, db, a, 5, 5)
	tx, _ := db.Begin()
	b, _ := a.Begin(ctx, tx)
	tx.Exec("SAVEPOINT s")
	m := b.Mark()
	if _, err := b.Append(ctx, &journal.Event{Time: time.Unix(0, 0), Type: "dropped", Payload: json.RawMessage(`{}`)}); err != nil {
		t.Fatal(err)
	}
	tx.Exec("ROLLBACK TO s")
	b.Rollback(m)
	e := &journal.Event{Time: time.Unix(0, 0), Type: "kept", Payload: json.RawMessage(`{}`)}
	if _, err := b.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	if e.Index != 5 || e.Seq != 6 {
		t.Fatalf("after rollback the event got index %d seq %d, want 5 and 6", e.Index, e.Seq)
	}
	b.Finish(ctx)
	tx.Commit()
	a.Committed(b)
	st, _ := journal.LoadState(ctx, db)
	if st.Size != 6 {
		t.Fatalf("size %d, want 6", st.Size)
	}
	// Another appender (another process) sees the same state.
	a2 := journal.NewAppender("KA")
	appendN(t, db, a2, 1, 1)
	appendN(t, db, a, 1, 1)
	st, _ = journal.LoadState(ctx, db)
	if st.Size != 8 {
		t.Fatalf("size %d after appends from two appenders, want 8", st.Size)
	}
}

func TestCheckpoint(t *testing.T) {
	skey, vkey, err := journal.GenerateKey("kavach/KVH/KA")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	root := rfc6962.DefaultHasher.HashLeaf([]byte("x"))
	msg, err := journal.SignCheckpoint(s, "kavach/KVH/KA", 1, root)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := journal.OpenCheckpoint(msg, "kavach/KVH/KA", v)
	if err != nil || cp.Size != 1 || !bytes.Equal(cp.Hash, root) {
		t.Fatalf("OpenCheckpoint = %+v, %v", cp, err)
	}
	bad := bytes.Replace(msg, []byte("\n1\n"), []byte("\n2\n"), 1)
	if _, err := journal.OpenCheckpoint(bad, "kavach/KVH/KA", v); err == nil {
		t.Fatal("a changed checkpoint verified")
	}
	_, otherV, _ := journal.GenerateKey("kavach/KVH/KA")
	ov, _ := note.NewVerifier(otherV)
	if _, err := journal.OpenCheckpoint(msg, "kavach/KVH/KA", ov); err == nil {
		t.Fatal("a checkpoint verified with another key")
	}
}

// Tiles hold the leaf hashes of each full run of 256 events, whether the
// events came in one batch or many, and BackfillTiles rebuilds them exactly.
func TestTiles(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	a := journal.NewAppender("KA")
	events := appendN(t, db, a, 300, 7)
	// A new appender loads the unfilled tile's leaves from the events.
	events = append(events, appendN(t, db, journal.NewAppender("KA"), 300, 64)...)
	tiles := func() [][]byte {
		rows, err := db.Query(`SELECT leaves FROM journal_tiles ORDER BY idx`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out [][]byte
		for rows.Next() {
			var b []byte
			rows.Scan(&b)
			out = append(out, b)
		}
		return out
	}
	got := tiles()
	if len(got) != 2 {
		t.Fatalf("%d tiles for 600 events, want 2", len(got))
	}
	for i, tile := range got {
		var want []byte
		for _, e := range events[i*journal.TileSize : (i+1)*journal.TileSize] {
			want = append(want, journal.LeafHash(e)...)
		}
		if !bytes.Equal(tile, want) {
			t.Fatalf("tile %d does not hold its events' leaf hashes", i)
		}
	}
	for _, gone := range []string{"0", "1", "0, 1"} {
		if _, err := db.Exec(`DELETE FROM journal_tiles WHERE idx IN (` + gone + `)`); err != nil {
			t.Fatal(err)
		}
		if err := journal.BackfillTiles(ctx, db); err != nil {
			t.Fatalf("tiles %s deleted: %v", gone, err)
		}
		if back := tiles(); len(back) != 2 || !bytes.Equal(back[0], got[0]) || !bytes.Equal(back[1], got[1]) {
			t.Fatalf("tiles %s deleted: BackfillTiles did not rebuild them exactly", gone)
		}
	}
	// Exactly a tile's worth: the tile is written and the next state's
	// unfilled tile is empty.
	db2 := openDB(t)
	appendN(t, db2, journal.NewAppender("KA"), journal.TileSize, 16)
	var n int
	db2.QueryRow(`SELECT count(*) FROM journal_tiles`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d tiles after %d events, want 1", n, journal.TileSize)
	}
	appendN(t, db2, journal.NewAppender("KA"), journal.TileSize, 16)
	db2.QueryRow(`SELECT count(*) FROM journal_tiles`).Scan(&n)
	if n != 2 {
		t.Fatalf("%d tiles after %d events, want 2", n, 2*journal.TileSize)
	}
}
