package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"

	"kavach/internal/s3test"
	"kavach/internal/servicetest"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/replicate"
	"kavach/vault"
)

// TestRestoreOrigins: a vault of a central with a site holds the site's
// journal beside the central's, in its directory and in its S3 copy. kavach
// vault status and scrub show it; kavach restore restores both, from the
// directory and from S3, and the restored central equals the central;
// kavach vault approve-key --origin takes only a key of that node.
func TestRestoreOrigins(t *testing.T) {
	ctx := context.Background()
	endpoint := s3test.Start(t, true)
	ka := servicetest.Open(t, "KA", "A")
	kb := servicetest.Enrol(t, ka.Hospital, "KB", "OPD counter 2")
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	age30 := 30
	var atB string
	var uhids []string
	for i := range 8 {
		kb.Do(t, "registration", func(tx *node.Tx) error {
			r, err := registration.Register(tx, &registration.NewPatient{Name: fmt.Sprintf("Site Patient %c", 'A'+i), Sex: "F", AgeYears: &age30,
				Mobile: fmt.Sprintf("95%08d", i), Address: "Ward 1", GuardianName: "Guardian"})
			if err == nil {
				atB = r.Patient.UHID
				uhids = append(uhids, atB)
			}
			return err
		})
	}
	servicetest.Exchange(t, ka.Hospital, kb.Hospital)
	ka.Do(t, "registration", func(tx *node.Tx) error {
		_, err := opd.Open(tx, opd.NewVisit{UHID: atB, Department: "MED"})
		return err
	})

	ws, err := ka.Hospital.Server(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	token, err := node.NewReplicationToken(ctx, ka.Dir, "vault", 0)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600)
	vdir := filepath.Join(t.TempDir(), "vault")
	if _, err := vault.Setup(vdir, vault.Config{Name: "vault-origins", Source: srv.URL}); err != nil {
		t.Fatal(err)
	}
	s3cfg := vault.S3Config{Endpoint: "http://" + endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: 24 * time.Hour}
	p := &vault.Puller{Dir: vdir, Source: &replicate.Client{URL: srv.URL, Token: token}, Recipients: []age.Recipient{id.Recipient()},
		Wait: time.Second, Log: slog.New(slog.DiscardHandler), S3: &s3cfg, S3CreateBucket: true}
	vctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(vctx) }()
	own, held := ka.Node.Status().Events, origins(t, ka)["KB"]
	waitUntil(t, "the vault and its S3 copy to hold both journals", &strings.Builder{}, func() bool {
		st, err := vault.ReadStatus(vdir)
		o := st.Origins["KB"]
		return err == nil && st.Events == own && st.S3 != nil && st.S3.EventsCopied == own && o.Events == held && o.S3EventsCopied == held
	})
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	if out, _, code := kavach(t, "vault", "status", "--data", vdir); !strings.Contains(out, fmt.Sprintf("origin KB:   source-unreachable: %d events held of %d at the node's last answer, %d in S3", held, held, held)) || code != 1 {
		t.Fatalf("vault status (stopped): exit %d\n%s", code, out)
	}
	out, _, code := kavach(t, "vault", "scrub", "--data", vdir, "--json")
	var scrub struct {
		OK      bool
		Origins map[string]struct {
			Events uint64
			OK     bool
		}
	}
	if json.Unmarshal([]byte(out), &scrub); code != 0 || !scrub.OK || scrub.Origins["KB"].Events != held || !scrub.Origins["KB"].OK {
		t.Fatalf("vault scrub: exit %d %s", code, out)
	}

	restored := func(args ...string) (string, map[string]uint64) {
		t.Helper()
		to := filepath.Join(t.TempDir(), "restored")
		out, stderr, code := kavach(t, append(append([]string{"restore", "--identity", idFile, "--to", to}, args...), "--json")...)
		var rr struct {
			OK      bool
			Events  uint64
			Origins map[string]uint64
		}
		if json.Unmarshal([]byte(out), &rr); code != 0 || !rr.OK || rr.Events != own {
			t.Fatalf("restore %v: exit %d %s %s", args, code, out, stderr)
		}
		// The site's patients read as on the central. (The tables differ
		// otherwise only by what kavach restore adds: the new key, the
		// restore, its counters moved ahead.)
		db, err := node.OpenDB(node.DBPath(to))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		for _, u := range uhids {
			want, err := registration.Get(ctx, ka.Node.DB(), u)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := registration.Get(ctx, db, u); err != nil || fmt.Sprint(*got) != fmt.Sprint(*want) {
				t.Fatalf("restore %v: %s reads %+v %v, on the central %+v", args, u, got, err, want)
			}
		}
		return to, rr.Origins
	}
	to, got := restored("--vault", vdir)
	if got["KB"] != held {
		t.Fatalf("restored %v of the other nodes' journals, the central holds %d of KB's", got, held)
	}
	if out, stderr, code := kavach(t, "verify", "--data", to, "--json"); code != 0 {
		t.Fatalf("verify the restored central: %d %s %s", code, out, stderr)
	}
	out, stderr, code := kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", filepath.Join(t.TempDir(), "text"))
	if code != 0 || !strings.Contains(out, fmt.Sprintf("restored %d events of node KB's journal\n", held)) {
		t.Fatalf("restore, the text report: exit %d %s %s", code, out, stderr)
	}

	// The vault host lost: from S3, with a copy of vault.json alone.
	only := t.TempDir()
	os.WriteFile(filepath.Join(only, "vault.json"), []byte(readFile(t, filepath.Join(vdir, "vault.json"))), 0o600)
	access, secret := s3KeyFiles(t)
	if _, got = restored("--vault", only, "--from-s3", "--s3-endpoint", "http://"+endpoint, "--s3-bucket", s3test.Bucket, "--s3-region", "us-east-1",
		"--s3-access-key-file", access, "--s3-secret-key-file", secret); got["KB"] != held {
		t.Fatalf("restored from S3 %v of the other nodes' journals, the central holds %d of KB's", got, held)
	}

	// approve-key --origin takes only a key of that node.
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"ErrNotACode", []string{"--origin", "K1", "--key", kb.Node.Info().Verifier}, 2, "not a node's code"},
		{"ErrOtherNodesKey", []string{"--origin", "KB", "--key", ka.Node.Info().Verifier}, 2, "not a key of node KB's journal"},
		{"OKTrustedAlready", []string{"--origin", "KB", "--key", kb.Node.Info().Verifier}, 0, "trusts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := kavach(t, append([]string{"vault", "approve-key", "--data", vdir}, tc.args...)...)
			if code != tc.code || !strings.Contains(out+stderr, tc.want) {
				t.Fatalf("exit %d, %q %q; want %d and %q", code, out, stderr, tc.code, tc.want)
			}
		})
	}
}

func origins(t *testing.T, n *servicetest.Node) map[string]uint64 {
	t.Helper()
	o, err := n.Node.Origins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return o
}
