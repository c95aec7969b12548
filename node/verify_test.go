package node_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kavach"
	"kavach/hospital"
	"kavach/journal"
	"kavach/node"
	"kavach/registration"
)

func openHospital(t *testing.T, dir string) *hospital.Hospital {
	t.Helper()
	h, err := hospital.Open(context.Background(), node.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func register(t *testing.T, h *hospital.Hospital, name, mobile string) *registration.Patient {
	t.Helper()
	age := 40
	var p *registration.Patient
	err := h.Node.Do(context.Background(), "clerk", func(tx *node.Tx) error {
		r, err := registration.Register(tx, &registration.NewPatient{Name: name, Sex: "M", AgeYears: &age, Mobile: mobile, Address: "Sector 5, Dwarka", GuardianName: "Kishan Singh"})
		if r != nil {
			p = r.Patient
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seed makes a node with a few patients and returns its directory, closed,
// with its WAL folded into the database file.
func seed(t *testing.T) (string, *registration.Patient) {
	t.Helper()
	dir := t.TempDir()
	h := openHospital(t, dir)
	register(t, h, "Amit Verma", "9810000001")
	target := register(t, h, "Zorawar Singh", "9810000002")
	register(t, h, "Neha Gupta", "9810000003")
	if _, err := h.Node.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(node.DBPath(dir) + "-wal"); err == nil {
		t.Fatal("the WAL was not folded into the database on close")
	}
	return dir, target
}

// execIn runs one statement on the database of the node in dir.
func execIn(t *testing.T, dir, q string, args ...any) {
	t.Helper()
	db, err := node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatal(err)
	}
}

// flipInFile changes one byte of the first occurrence of pattern that is
// preceded by before (or not, if notBefore) in the database file itself.
func flipInFile(t *testing.T, path string, pattern, before string, notBefore bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for {
		i := bytes.Index(b[off:], []byte(pattern))
		if i < 0 {
			t.Fatalf("%q not found in %s", pattern, path)
		}
		i += off
		has := i >= len(before) && string(b[i-len(before):i]) == before
		if has != notBefore {
			b[i+len(pattern)-1] ^= 0x01 // "Singh" → "Singi"
			break
		}
		off = i + 1
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyCatchesTampering(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		dir, _ := seed(t)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK || len(rep.Faults) != 0 || rep.Events == 0 {
			t.Fatalf("a clean node failed verify: %+v", rep)
		}
		// The root as the last checkpoint, which covers every event, has it.
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var root []byte
		if err := db.QueryRow(`SELECT root FROM journal_checkpoints ORDER BY size DESC LIMIT 1`).Scan(&root); err != nil {
			t.Fatal(err)
		}
		if want := base64.StdEncoding.EncodeToString(root); rep.Root != want {
			t.Fatalf("verify's root %s, the checkpoint's %s", rep.Root, want)
		}
	})
	t.Run("ErrEventByte", func(t *testing.T) {
		dir, _ := seed(t)
		// The event's JSON has "name":"Zorawar Singh"; change one byte of it.
		flipInFile(t, node.DBPath(dir), "Zorawar Singh", `"name":"`, false)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || len(rep.Faults) == 0 || !strings.Contains(rep.Faults[0], "event 3:") || !strings.Contains(rep.Faults[0], "the event was changed") {
			t.Fatalf("verify did not name the changed event 3: %+v", rep.Faults)
		}
	})
	t.Run("ErrLeafOnly", func(t *testing.T) {
		// Only the leaf hash of an event in the last tile changed: the event
		// is named, the checkpoints after it fail, and its bytes, maybe the
		// node's, are still replayed: no projection row is blamed.
		dir, _ := seed(t)
		execIn(t, dir, `UPDATE journal_events SET leaf = zeroblob(32) WHERE idx = 3`)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(rep.Faults, "\n")
		if rep.OK || !strings.Contains(all, "event 3: its bytes do not match its leaf hash") || strings.Contains(all, "table ") {
			t.Fatalf("verify of a changed leaf hash: %q", rep.Faults)
		}
	})
	t.Run("ErrEventAndLeaf", func(t *testing.T) {
		// The event and its leaf hash changed together, in the last tile,
		// which is not full yet: only the checkpoints can tell, and the
		// first that fails, with the last that holds, names the event.
		dir, _ := seed(t)
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if err := db.QueryRow(`SELECT data FROM journal_events WHERE idx = 3`).Scan(&data); err != nil {
			t.Fatal(err)
		}
		data = bytes.Replace(data, []byte("Zorawar Singh"), []byte("Zorawar Sinha"), 1)
		if _, err := db.Exec(`UPDATE journal_events SET data = ?, leaf = ? WHERE idx = 3`, data, journal.LeafHash(data)); err != nil {
			t.Fatal(err)
		}
		db.Close()
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		named := false
		for _, f := range rep.Faults {
			if m := regexp.MustCompile(`(?:event (\d+)|one of events (\d+) to (\d+)), or its leaf hash, was changed`).FindStringSubmatch(f); m != nil {
				lo, _ := strconv.Atoi(m[1] + m[2])
				hi := lo
				if m[3] != "" {
					hi, _ = strconv.Atoi(m[3])
				}
				named = lo <= 3 && 3 <= hi
			}
		}
		if rep.OK || !named {
			t.Fatalf("verify did not bracket the changed event 3: %+v", rep.Faults)
		}
	})
	t.Run("ErrProjectionRow", func(t *testing.T) {
		dir, target := seed(t)
		// The patients row holds the name without a JSON key before it.
		flipInFile(t, node.DBPath(dir), "Zorawar Singh", `"name":"`, true)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || len(rep.Faults) == 0 || !strings.Contains(rep.Faults[0], "table patients") || !strings.Contains(rep.Faults[0], target.UHID) {
			t.Fatalf("verify did not name the changed patients row %s: %+v", target.UHID, rep.Faults)
		}
	})
	t.Run("ErrRowChangedBySQL", func(t *testing.T) {
		dir, target := seed(t)
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		db.Exec(`UPDATE visits SET token = 1`) // no visits: changes nothing
		if _, err := db.Exec(`UPDATE patients SET mobile = '9999999999' WHERE uhid = ?`, target.UHID); err != nil {
			t.Fatal(err)
		}
		db.Close()
		rep, _ := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		// The row by its key, and the column that changed.
		want := fmt.Sprintf(`table patients: row (uhid=%q) was changed: mobile is "9999999999", the journal's replay has %q`, target.UHID, target.Mobile)
		if rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), want) {
			t.Fatalf("verify missed a changed mobile: %+v", rep.Faults)
		}
	})
	t.Run("ErrEventDeleted", func(t *testing.T) {
		dir, _ := seed(t)
		db, _ := node.OpenDB(node.DBPath(dir))
		db.Exec(`DELETE FROM journal_events WHERE idx = (SELECT max(idx) FROM journal_events)`)
		db.Close()
		rep, _ := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if rep.OK {
			t.Fatal("verify missed a deleted event")
		}
	})
	t.Run("ErrCheckpointForged", func(t *testing.T) {
		dir, _ := seed(t)
		db, _ := node.OpenDB(node.DBPath(dir))
		db.Exec(`UPDATE journal_checkpoints SET note = replace(note, '—', '-')`)
		db.Exec(`UPDATE journal_checkpoints SET note = CAST(substr(note, 1, length(note) - 3) || 'AAA' AS BLOB)`)
		db.Close()
		rep, _ := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), "signature") {
			t.Fatalf("verify missed a forged checkpoint signature: %+v", rep.Faults)
		}
	})
}

func TestGroupCommit(t *testing.T) {
	dir := t.TempDir()
	h := openHospital(t, dir)
	defer h.Close()
	ctx := context.Background()
	before := h.Node.Status().Events
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			age := 30
			mobile := fmt.Sprintf("98%08d", i)
			if i%10 == 0 {
				mobile = "123" // invalid: must leave nothing behind
			}
			errs <- h.Node.Do(ctx, "clerk", func(tx *node.Tx) error {
				_, err := registration.Register(tx, &registration.NewPatient{Name: "Patient " + letters(i), Sex: "F", AgeYears: &age, Mobile: mobile, Address: "A", GuardianName: "G"})
				return err
			})
		}(i)
	}
	wg.Wait()
	close(errs)
	bad := 0
	for err := range errs {
		if err != nil {
			if kavach.ErrorCode(err) != kavach.EINVALID {
				t.Fatalf("unexpected error %v", err)
			}
			bad++
		}
	}
	if bad != 20 {
		t.Fatalf("%d invalid registrations, want 20", bad)
	}
	// 180 registrations, some with a duplicate-warning audit event.
	var patients int
	h.Node.DB().QueryRow(`SELECT count(*) FROM patients`).Scan(&patients)
	if patients != 180 {
		t.Fatalf("%d patients, want 180", patients)
	}
	if got := h.Node.Status().Events - before; got < 180 {
		t.Fatalf("journal grew by %d, want at least 180", got)
	}
	// UHIDs are consecutive with no gaps left by the rejected ones.
	var maxUHID string
	h.Node.DB().QueryRow(`SELECT max(uhid) FROM patients`).Scan(&maxUHID)
	if _, serial, _ := splitUHID(maxUHID); serial != 180 {
		t.Fatalf("highest UHID %s, want serial 180", maxUHID)
	}
	h.Close()
	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify after concurrent writes: %v %+v", err, rep)
	}
}

func TestCommandErrorLeavesNothing(t *testing.T) {
	h := openHospital(t, t.TempDir())
	defer h.Close()
	ctx := context.Background()
	before := h.Node.Status().Events
	boom := errors.New("boom")
	err := h.Node.Do(ctx, "clerk", func(tx *node.Tx) error {
		age := 30
		if _, err := registration.Register(tx, &registration.NewPatient{Name: "Half Done", Sex: "M", AgeYears: &age, Mobile: "9812345678", Address: "A", GuardianName: "G"}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	var n int
	h.Node.DB().QueryRow(`SELECT count(*) FROM patients`).Scan(&n)
	if n != 0 || h.Node.Status().Events != before {
		t.Fatalf("a failed command left %d patients and %d events", n, h.Node.Status().Events-before)
	}
	// The next command gets the first UHID.
	p := register(t, h, "Next Patient", "9812345679")
	if !strings.HasSuffix(p.UHID[:9], "0000001") {
		t.Fatalf("UHID %s reused or skipped a number", p.UHID)
	}
}

func letters(i int) string {
	a := "abcdefghijklmnopqrstuvwxyz"
	return strings.ToUpper(a[i%26:i%26+1]) + a[i/26%26:i/26%26+1] + "ya"
}

func splitUHID(u string) (string, int64, error) {
	p, err := registration.ParseUHID(u)
	if err != nil {
		return "", 0, err
	}
	var n int64
	for _, c := range p[2:9] {
		n = n*10 + int64(c-'0')
	}
	return p[:2], n, nil
}

// registerMany registers n patients from 10 goroutines, so that their
// commands share transactions as a counter's would.
func registerMany(t *testing.T, h *hospital.Hospital, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < 10; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += 10 {
				age := 40
				errs <- h.Node.Do(context.Background(), "clerk", func(tx *node.Tx) error {
					_, err := registration.Register(tx, &registration.NewPatient{Name: "Patient " + letters(i), Sex: "M", AgeYears: &age,
						Mobile: fmt.Sprintf("97%08d", i), Address: "Dwarka", GuardianName: "G"})
					return err
				})
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A journal long enough to have a tile: each change to the tiles, the leaf
// hashes or the event rows is named, by the tree check where it reads them
// and by the full check.
func TestVerifyTiles(t *testing.T) {
	ctx := context.Background()
	seedTiles := func(t *testing.T) string {
		dir := t.TempDir()
		h := openHospital(t, dir)
		registerMany(t, h, 300)
		if _, err := h.Node.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		h.Close()
		return dir
	}
	verify := func(t *testing.T, dir string, treeOnly bool) string {
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{SkipReplay: treeOnly})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK != (len(rep.Faults) == 0) {
			t.Fatalf("ok %v with faults %v", rep.OK, rep.Faults)
		}
		return strings.Join(rep.Faults, "\n")
	}
	want := func(t *testing.T, faults string, parts ...string) {
		t.Helper()
		for _, p := range parts {
			if !strings.Contains(faults, p) {
				t.Fatalf("faults do not say %q:\n%s", p, faults)
			}
		}
	}
	t.Run("OK", func(t *testing.T) {
		dir := seedTiles(t)
		if f := verify(t, dir, false); f != "" {
			t.Fatalf("clean node: %s", f)
		}
	})
	t.Run("ErrTileChanged", func(t *testing.T) {
		dir := seedTiles(t)
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		var tile []byte
		if err := db.QueryRow(`SELECT leaves FROM journal_tiles WHERE idx = 0`).Scan(&tile); err != nil {
			t.Fatal(err)
		}
		db.Close()
		tile[5*32] ^= 1 // leaf 5
		execIn(t, dir, `UPDATE journal_tiles SET leaves = ? WHERE idx = 0`, tile)
		want(t, verify(t, dir, true), "root does not match")
		want(t, verify(t, dir, false), "root does not match", "event 5 and journal tile 0 disagree")
	})
	t.Run("ErrEventForgedWithLeaf", func(t *testing.T) {
		// The event's bytes and its leaf hash column changed together; the
		// tile, which the signed checkpoints prove, did not.
		dir := seedTiles(t)
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		var data []byte
		if err := db.QueryRow(`SELECT data FROM journal_events WHERE idx = 200`).Scan(&data); err != nil {
			t.Fatal(err)
		}
		db.Close()
		forged := bytes.Replace(data, []byte(`"actor":"clerk"`), []byte(`"actor":"clerx"`), 1)
		if bytes.Equal(forged, data) {
			t.Fatalf("event 200 has no clerk actor: %s", data)
		}
		execIn(t, dir, `UPDATE journal_events SET data = ?, leaf = ? WHERE idx = 200`, forged, journal.LeafHash(forged))
		if f := verify(t, dir, true); f != "" {
			t.Fatalf("the tree check, which reads only the tiles, found: %s", f)
		}
		want(t, verify(t, dir, false), "event 200: its bytes do not match the leaf hash that the signed checkpoints prove")
	})
	t.Run("ErrLeafChanged", func(t *testing.T) {
		dir := seedTiles(t)
		execIn(t, dir, `UPDATE journal_events SET leaf = zeroblob(32) WHERE idx = 7`)
		want(t, verify(t, dir, false), "event 7: its leaf hash was changed")
	})
	t.Run("ErrTileDeleted", func(t *testing.T) {
		dir := seedTiles(t)
		execIn(t, dir, `DELETE FROM journal_tiles`)
		want(t, verify(t, dir, true), "journal tile 0: missing")
	})
	t.Run("ErrTileAdded", func(t *testing.T) {
		dir := seedTiles(t)
		execIn(t, dir, `INSERT INTO journal_tiles (idx, leaves) SELECT 1, leaves FROM journal_tiles WHERE idx = 0`)
		want(t, verify(t, dir, true), "journal tile 1: beyond the journal")
	})
	t.Run("ErrEventDeletedInTile", func(t *testing.T) {
		dir := seedTiles(t)
		// The tree check reads the tiles, not the rows: the full check,
		// which reads every row, names it.
		execIn(t, dir, `DELETE FROM journal_events WHERE idx = 41`)
		want(t, verify(t, dir, false), "event 41: missing")
	})
}

// Verify reads one snapshot: while the node takes registrations it finds
// nothing wrong, again and again.
func TestVerifyWhileServing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	h := openHospital(t, dir)
	defer h.Close()
	registerMany(t, h, 50)
	stop := make(chan struct{})
	done := make(chan struct{})
	var wrote atomic.Int64 // registrations committed
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			age := 30
			err := h.Node.Do(ctx, "clerk", func(tx *node.Tx) error {
				_, err := registration.Register(tx, &registration.NewPatient{Name: "Busy " + letters(i), Sex: "F", AgeYears: &age,
					Mobile: fmt.Sprintf("96%08d", i), Address: "Dwarka", GuardianName: "G"})
				return err
			})
			if err == nil {
				wrote.Add(1)
			}
		}
	}()
	// Five times at least, and until the node has committed registrations
	// meanwhile: else verify ran beside a node that wrote nothing.
	before := wrote.Load()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 5 || wrote.Load() == before; i++ {
		if time.Now().After(deadline) {
			close(stop)
			<-done
			t.Fatalf("the node committed no registration during %d verifies", i)
		}
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil || !rep.OK {
			close(stop)
			<-done
			t.Fatalf("verify %d while the node writes: %v %+v", i, err, rep)
		}
	}
	close(stop)
	<-done
}

// A database that this build's migrations have not all run on, or that a
// newer build has migrated further, is refused, with what to do, rather than
// judged.
func TestVerifyRefusesOldSchema(t *testing.T) {
	dir, _ := seed(t)
	db, err := node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM local_migrations WHERE name = 'node/003'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = node.Verify(context.Background(), dir, hospital.Services(), node.VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "start 'kavach serve --data") {
		t.Fatalf("verify of a node that predates node/003: %v", err)
	}
	// And one that a newer kavach has migrated further.
	db, err = node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO local_migrations (name, applied) VALUES ('node/003', ''), ('lab/099', '')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = node.Verify(context.Background(), dir, hospital.Services(), node.VerifyOptions{})
	if err == nil || !strings.Contains(err.Error(), "newer kavach (migration lab/099") {
		t.Fatalf("verify of a node that a newer kavach migrated: %v", err)
	}
}

// A migration's Go step runs in its transaction: when it fails, its SQL is
// undone and the migration is not recorded, so the next start tries again.
func TestMigrationGoStepRollsBack(t *testing.T) {
	ctx := context.Background()
	db, err := node.OpenDB(node.DBPath(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ran := 0
	ms := []node.Migration{{Name: "t/001", SQL: `CREATE TABLE t (a INTEGER)`, Go: func(ctx context.Context, tx *sql.Tx) error {
		ran++
		if _, err := tx.ExecContext(ctx, `INSERT INTO t VALUES (1)`); err != nil {
			return err
		}
		if ran == 1 {
			return errors.New("backfill failed")
		}
		return nil
	}}}
	if err := node.Migrate(ctx, db, ms); err == nil || !strings.Contains(err.Error(), "backfill failed") {
		t.Fatalf("Migrate with a failing Go step: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 't'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the failed migration's table is there (%d, %v)", n, err)
	}
	if err := node.Migrate(ctx, db, ms); err != nil {
		t.Fatalf("second try: %v", err)
	}
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the second try t has %d rows (%v), want 1", n, err)
	}
}

// An event whose payload does not fit its type (here a number for a name)
// is named by the full check; the replay goes on past it.
func TestVerifyNamesUndecodablePayload(t *testing.T) {
	ctx := context.Background()
	dir, _ := seed(t)
	db, err := node.OpenDB(node.DBPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	var origin string
	if err := db.QueryRow(`SELECT code FROM nodes`).Scan(&origin); err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	b, err := journal.NewAppender(origin).Begin(ctx, tx)
	if err != nil {
		t.Fatal(err)
	}
	e := &journal.Event{Time: time.Now(), Actor: "clerk", Type: "patient.registered", Payload: json.RawMessage(`{"name":5,"uhid":"KA0000099X"}`)}
	if _, err := b.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := b.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), fmt.Sprintf("event %d: replaying patient.registered", e.Index)) {
		t.Fatalf("verify did not name event %d: %+v", e.Index, rep.Faults)
	}
}

// A node restored before node_restores existed gets its restores from the
// journal when migration node/004 runs, so that counters first used after
// the restore start past its skip, and verify, which rebuilds the table from
// the same events, agrees.
func TestRestoresBackfilled(t *testing.T) {
	ctx := context.Background()
	dir, _ := seed(t)
	// As a restore leaves it: a new signing key, journaled when the node
	// opens, then the restore.
	h := openHospital(t, dir)
	origin := h.Node.Info().Origin
	h.Close()
	skey, vkey, err := journal.GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(node.KeyPath(dir), []byte(skey+"\n"), 0o600)
	os.WriteFile(node.PubPath(dir), []byte(vkey+"\n"), 0o644)
	h = openHospital(t, dir)
	if err := h.Node.MarkRestored(ctx, 10, "checkpoint"); err != nil {
		t.Fatal(err)
	}
	h.Close()
	// Back to the tables as they were before node/004 (and node/005, which
	// moved them).
	execIn(t, dir, `CREATE TABLE node_info (id INTEGER PRIMARY KEY CHECK (id = 1), hospital_code TEXT NOT NULL,
			hospital_name TEXT NOT NULL, node_code TEXT NOT NULL, origin TEXT NOT NULL, verifier TEXT NOT NULL);
		INSERT INTO node_info SELECT 1, hospital_code, hospital_name, code, origin, verifier FROM nodes;
		CREATE TABLE node_keys (verifier TEXT PRIMARY KEY, from_idx INTEGER NOT NULL, reason TEXT NOT NULL);
		INSERT INTO node_keys SELECT verifier, seq - 1, reason FROM origin_keys;
		UPDATE counters SET name = substr(name, 4);
		DROP TABLE nodes; DROP TABLE origin_keys; DROP TABLE origin_restores;
		DELETE FROM local_migrations WHERE name IN ('node/004', 'node/005')`)
	h = openHospital(t, dir)
	var visits, today, tomorrow int64
	err = h.Node.Do(ctx, "system", func(tx *node.Tx) (err error) {
		if visits, err = tx.Counter("visit"); err != nil {
			return err
		}
		if today, err = tx.DailyCounter("token/PED/today", time.Now().Add(-time.Hour)); err != nil {
			return err
		}
		// A day that began after the restore lost none of its tokens.
		tomorrow, err = tx.DailyCounter("token/PED/tomorrow", time.Now().Add(time.Hour))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if visits != 10000 || today != 100 || tomorrow != 0 {
		t.Fatalf("unused counters after a restore: visit %d, tokens today %d, tomorrow %d; want 10000, 100, 0", visits, today, tomorrow)
	}
	h.Close()
	rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
	if err != nil || !rep.OK {
		t.Fatalf("verify after the backfill: %v %+v", err, rep)
	}
}
