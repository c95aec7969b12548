package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"kavach/hospital"
	"kavach/idcode"
	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
)

func backUp(t *testing.T, h *hospital.Hospital, vdir string, rcpt age.Recipient, per int) {
	servicetest.BackUp(t, h, vdir, rcpt, per)
}

func TestRestore(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	h, err := hospital.Open(ctx, node.Config{Dir: src})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SeedDemo(ctx, testPassword); err != nil {
		t.Fatal(err)
	}
	var uhids []string
	age30 := 30
	for i := 0; i < 60; i++ {
		err := h.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			p := patient(i)
			r, err := registration.Register(tx, &registration.NewPatient{Name: p["name"].(string), Sex: "F", AgeYears: &age30,
				Mobile: p["mobile"].(string), Address: "Ward 7", GuardianName: "Ram Lal"})
			if err == nil {
				uhids = append(uhids, r.Patient.UHID)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 29 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	// One department has a token today before the backup, the others none.
	var medVisit *opd.Visit
	err = h.Node.Do(ctx, "registration", func(tx *node.Tx) (err error) {
		medVisit, err = opd.Open(tx, opd.NewVisit{UHID: uhids[0], Department: "MED"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A clerk logged in on the node that will be attacked.
	token, _, err := h.Auth.Login(ctx, "registration", testPassword, "api", "test")
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	vdir := t.TempDir()
	backUp(t, h, vdir, id.Recipient(), 25)
	want := map[string]registration.Patient{}
	for _, u := range uhids {
		p, err := registration.Get(ctx, h.Node.DB(), u)
		if err != nil {
			t.Fatal(err)
		}
		want[u] = *p
	}
	oldVerifier := h.Node.Info().Verifier
	srcSchema := schemaOf(t, h.Node.DB())
	h.Close()
	idFile := filepath.Join(t.TempDir(), "id.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)

	t.Run("OK", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "restored")
		var out bytes.Buffer
		if err := run(ctx, []string{"restore", "--vault", vdir, "--identity", idFile, "--to", to, "--json"}, &out, os.Stderr); err != nil {
			t.Fatalf("restore: %v %s", err, out.String())
		}
		var rep struct {
			OK         bool    `json:"ok"`
			Events     uint64  `json:"events"`
			Checkpoint string  `json:"checkpoint"`
			Seconds    float64 `json:"seconds"`
			Last       string  `json:"last_event_time"`
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil || !rep.OK || rep.Events == 0 || rep.Checkpoint == "" || rep.Last == "" {
			t.Fatalf("report: %s", out.String())
		}
		r, err := hospital.Open(ctx, node.Config{Dir: to})
		if err != nil {
			t.Fatal(err)
		}
		for u, p := range want {
			got, err := registration.Get(ctx, r.Node.DB(), u)
			if err != nil || *got != p {
				t.Fatalf("patient %s after restore: %+v, %v; want %+v", u, got, err, p)
			}
		}
		// The same tables and indexes as the node it came from (a restore
		// drops the secondary indexes while it loads and makes them again).
		if got := schemaOf(t, r.Node.DB()); got != srcSchema {
			t.Fatalf("restored schema:\n%s\nwant\n%s", got, srcSchema)
		}
		if v := r.Node.Info().Verifier; v == oldVerifier || v == "" {
			t.Fatalf("the restored node signs with the old key")
		}
		// Everyone logs in again: the attacked node's tokens open nothing.
		if _, err := r.Auth.Authenticate(ctx, token); err == nil {
			t.Fatal("a session of the attacked node is still open on the restored one")
		}
		if _, _, err := r.Auth.Login(ctx, "registration", testPassword, "api", "test"); err != nil {
			t.Fatalf("log in on the restored node: %v", err)
		}
		// It carries on its namespace without reusing a UHID.
		var next string
		err = r.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			reg, err := registration.Register(tx, &registration.NewPatient{Name: "After Restore", Sex: "M", AgeYears: &age30, Mobile: "9123456789", Address: "A", GuardianName: "G"})
			if err == nil {
				next = reg.Patient.UHID
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := want[next]; ok {
			t.Fatalf("restored node reused UHID %s", next)
		}
		// Tokens and visit numbers jump past what the attacked node may
		// have issued after the backup: in MED, which had a token, and in
		// PED, which had none yet today (the attacked node may have issued
		// PED's first ones in the lag window), and so do visit numbers.
		_, medSerial, _ := idcode.Parse(medVisit.ID, 3)
		for _, dept := range []string{"MED", "PED"} {
			var v *opd.Visit
			err = r.Node.Do(ctx, "registration", func(tx *node.Tx) (err error) {
				v, err = opd.Open(tx, opd.NewVisit{UHID: uhids[1], Department: dept})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if v.Token <= 100 {
				t.Errorf("%s token after restore: %d, want past the restore's skip of 100", dept, v.Token)
			}
			if _, serial, _ := idcode.Parse(v.ID, 3); serial <= medSerial+10000 {
				t.Errorf("visit number after restore: %s, want past %d + the restore's skip of 10000", v.ID, medSerial)
			}
		}
		r.Close()
		vr, err := node.Verify(ctx, to, hospital.Services(), node.VerifyOptions{})
		if err != nil || !vr.OK {
			t.Fatalf("verify after restore: %v %+v", err, vr)
		}
	})
	t.Run("Until", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "restored")
		var out bytes.Buffer
		until := want[uhids[29]].Registered
		tm, _ := time.Parse("2006-01-02T15:04:05.000000Z", until)
		if err := run(ctx, []string{"restore", "--vault", vdir, "--identity", idFile, "--to", to, "--until", tm.Format(time.RFC3339Nano), "--json"}, &out, os.Stderr); err != nil {
			t.Fatalf("restore --until: %v %s", err, out.String())
		}
		var rep struct {
			Events         uint64 `json:"events"`
			Checkpoint     string `json:"checkpoint"`
			CheckpointSize uint64 `json:"checkpoint_size"`
		}
		json.Unmarshal(out.Bytes(), &rep)
		if rep.Checkpoint == "" || rep.CheckpointSize < rep.Events {
			t.Fatalf("restore --until names no checkpoint proving what it restored: %s", out.String())
		}
		r, err := hospital.Open(ctx, node.Config{Dir: to})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := registration.Get(ctx, r.Node.DB(), uhids[29]); err != nil {
			t.Fatalf("patient at --until missing: %v", err)
		}
		if _, err := registration.Get(ctx, r.Node.DB(), uhids[59]); err == nil {
			t.Fatal("a patient registered after --until was restored")
		}
	})
	t.Run("ErrUntilBeforeTheFirstEvent", func(t *testing.T) {
		to := filepath.Join(t.TempDir(), "restored")
		var out bytes.Buffer
		err := run(ctx, []string{"restore", "--vault", vdir, "--identity", idFile, "--to", to, "--until", "2020-01-01T00:00:00Z", "--json"}, &out, os.Stderr)
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage || !strings.Contains(out.String(), "no event in the vault is at or before 2020-01-01") {
			t.Fatalf("restore --until before the journal: %v %s", err, out.String())
		}
	})
	t.Run("ErrToNotEmpty", func(t *testing.T) {
		to := t.TempDir()
		keep := filepath.Join(to, "important.txt")
		os.WriteFile(keep, []byte("do not delete"), 0o600)
		err := run(ctx, []string{"restore", "--vault", vdir, "--identity", idFile, "--to", to}, os.Stdout, os.Stderr)
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage {
			t.Fatalf("restore into a non-empty directory: %v", err)
		}
		if b, err := os.ReadFile(keep); err != nil || string(b) != "do not delete" {
			t.Fatal("restore touched a file already in --to")
		}
	})
	t.Run("ErrWrongIdentity", func(t *testing.T) {
		other, _ := age.GenerateX25519Identity()
		f := filepath.Join(t.TempDir(), "other.txt")
		os.WriteFile(f, []byte(other.String()+"\n"), 0o600)
		to := filepath.Join(t.TempDir(), "restored")
		err := run(ctx, []string{"restore", "--vault", vdir, "--identity", f, "--to", to}, os.Stdout, os.Stderr)
		// The operator's input: a usage error that says so, not a fault of the vault.
		if ee, ok := err.(*exitError); !ok || ee.code != exitUsage || !strings.Contains(ee.msg, "does not open this vault's segments") {
			t.Fatalf("restore with the wrong identity: %v", err)
		}
		if _, err := os.Stat(node.DBPath(to)); err == nil {
			t.Fatal("a failed restore left a node behind")
		}
	})
	t.Run("ErrTamperedSegment", func(t *testing.T) {
		segs, _ := filepath.Glob(filepath.Join(vdir, "store", "segments", "*.age"))
		cp := t.TempDir()
		copyTree(t, vdir, cp)
		seg := filepath.Join(cp, "store", "segments", filepath.Base(segs[0]))
		b, _ := os.ReadFile(seg)
		b[len(b)/2] ^= 1
		os.Chmod(seg, 0o600)
		os.WriteFile(seg, b, 0o600)
		to := filepath.Join(t.TempDir(), "restored")
		err := run(ctx, []string{"restore", "--vault", cp, "--identity", idFile, "--to", to}, os.Stdout, os.Stderr)
		if ee, ok := err.(*exitError); !ok || ee.code != exitFault || !strings.Contains(ee.msg, filepath.Base(segs[0])[:8]) {
			t.Fatalf("restore from a tampered vault: %v", err)
		}
	})
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if fi.Name() == "lock" {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
}

// schemaOf lists a node database's tables and indexes with their SQL.
func schemaOf(t *testing.T, db interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT type, name, coalesce(sql, '') FROM sqlite_master
		WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY type, name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var typ, name, stmt string
		if err := rows.Scan(&typ, &name, &stmt); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s: %s\n", typ, name, stmt)
	}
	return b.String()
}
