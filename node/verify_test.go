package node_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"kavach"
	"kavach/hospital"
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
	})
	t.Run("ErrEventByte", func(t *testing.T) {
		dir, _ := seed(t)
		// The event's JSON has "name":"Zorawar Singh"; change one byte of it.
		flipInFile(t, node.DBPath(dir), "Zorawar Singh", `"name":"`, false)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || len(rep.Faults) == 0 || !strings.Contains(rep.Faults[0], "event 3:") {
			t.Fatalf("verify did not name the changed event 3: %+v", rep.Faults)
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
		if rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), target.UHID) {
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

// A journal long enough to have a tile: changing a leaf hash in the tile is
// caught by the tree check, and the full check names the event whose bytes no
// longer match it; a deleted tile is named too.
func TestVerifyTiles(t *testing.T) {
	ctx := context.Background()
	seedTiles := func(t *testing.T) string {
		dir := t.TempDir()
		h := openHospital(t, dir)
		var wg sync.WaitGroup
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				for i := 0; i < 30; i++ {
					register(t, h, "Patient "+letters(g*30+i), fmt.Sprintf("97%08d", g*30+i))
				}
			}(g)
		}
		wg.Wait()
		if _, err := h.Node.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		h.Close()
		return dir
	}
	exec := func(t *testing.T, dir, q string) {
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("OK", func(t *testing.T) {
		dir := seedTiles(t)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil || !rep.OK || rep.Events < 300 {
			t.Fatalf("clean node: %v %+v", err, rep)
		}
	})
	t.Run("ErrTileChanged", func(t *testing.T) {
		dir := seedTiles(t)
		// Leaf 5 is bytes [160, 192) of tile 0; flip its first byte.
		db, err := node.OpenDB(node.DBPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		var tile []byte
		db.QueryRow(`SELECT leaves FROM journal_tiles WHERE idx = 0`).Scan(&tile)
		tile[160] ^= 1
		if _, err := db.Exec(`UPDATE journal_tiles SET leaves = ? WHERE idx = 0`, tile); err != nil {
			t.Fatal(err)
		}
		db.Close()
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(rep.Faults, "\n")
		if rep.OK || !strings.Contains(all, "root does not match") || !strings.Contains(all, "event 5: its bytes do not match its leaf hash in the journal's tile") {
			t.Fatalf("verify missed a changed tile: %+v", rep.Faults)
		}
	})
	t.Run("ErrTileDeleted", func(t *testing.T) {
		dir := seedTiles(t)
		exec(t, dir, `DELETE FROM journal_tiles`)
		rep, err := node.Verify(ctx, dir, hospital.Services(), node.VerifyOptions{SkipReplay: true})
		if err != nil {
			t.Fatal(err)
		}
		if rep.OK || !strings.Contains(strings.Join(rep.Faults, "\n"), "journal tiles: 0 stored, 1 expected") {
			t.Fatalf("verify missed a deleted tile: %+v", rep.Faults)
		}
	})
}
