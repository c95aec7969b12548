package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"kavach/internal/s3test"
)

// The vault with its S3 copy, as separate processes: a node, a vault, and
// versitygw as the S3 server.

type vaultS3StatusJSON struct {
	State    string `json:"state"`
	Events   uint64 `json:"events"`
	CaughtUp bool   `json:"caught_up"`
	S3       *struct {
		Endpoint     string `json:"endpoint"`
		Bucket       string `json:"bucket"`
		Region       string `json:"region"`
		Retention    string `json:"retention"`
		EventsCopied uint64 `json:"events_copied"`
		Behind       bool   `json:"behind"`
		LastError    string `json:"last_error"`
		// The locks, which the vault extends before they end.
		RetentionExtendedAt time.Time `json:"retention_extended_at"`
		OldestRetainUntil   time.Time `json:"oldest_retain_until"`
		ObjectsLocked       int       `json:"objects_locked"`
	} `json:"s3"`
	Alerts []string `json:"alerts"`
}

func vaultS3Status(t *testing.T, dir string) vaultS3StatusJSON {
	t.Helper()
	out, stderr, _ := kavach(t, "vault", "status", "--data", dir, "--json")
	var st vaultS3StatusJSON
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("vault status --json: %v: %q %s", err, out, stderr)
	}
	return st
}

// s3KeyFiles writes the vault's S3 credentials into files, as an
// administrator would.
func s3KeyFiles(t *testing.T) (access, secret string) {
	t.Helper()
	dir := t.TempDir()
	access, secret = filepath.Join(dir, "s3-access"), filepath.Join(dir, "s3-secret")
	if err := os.WriteFile(access, []byte(s3test.Access+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte(s3test.Secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return access, secret
}

func TestVaultS3Usage(t *testing.T) {
	dir := t.TempDir()
	id, _ := age.GenerateX25519Identity()
	access, secret := s3KeyFiles(t)
	vaultArgs := []string{"vault", "--data", dir, "--source", "http://127.0.0.1:1", "--token-file", "/dev/null", "--recipient", id.Recipient().String()}
	all := []string{"--s3-endpoint", "127.0.0.1:1", "--s3-bucket", "b", "--s3-access-key-file", access, "--s3-secret-key-file", secret}
	restoreArgs := []string{"restore", "--vault", dir, "--identity", "/dev/null", "--to", filepath.Join(dir, "to")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(vaultArgs, "--s3-endpoint", "127.0.0.1:1"), "missing: --s3-bucket, --s3-access-key-file, --s3-secret-key-file"},
		{append(vaultArgs, "--s3-create-bucket"), "missing: --s3-endpoint, --s3-bucket"},
		{append(append(vaultArgs, all...), "--s3-retention", "90x"), "--s3-retention"},
		{append(append(vaultArgs, all...), "--s3-retention", "0d"), "--s3-retention"},
		{append(vaultArgs, "--s3-endpoint", "http://s3.example/path", "--s3-bucket", "b", "--s3-access-key-file", access, "--s3-secret-key-file", secret), "--s3-endpoint"},
		{append(vaultArgs, "--s3-endpoint", "127.0.0.1:1", "--s3-bucket", "b", "--s3-access-key-file", "/dev/null", "--s3-secret-key-file", secret), "the key alone"},
		{append(restoreArgs, "--s3-bucket", "b"), "--from-s3"},
		{append(restoreArgs, "--from-s3"), "--s3-endpoint"},
		{append(restoreArgs, "--from-s3", "--s3-endpoint", "127.0.0.1:1"), "missing: --s3-bucket"},
		{append(append(restoreArgs, all...), "--from-s3", "--s3-create-bucket"), "s3-create-bucket"},
	} {
		if out, stderr, code := kavach(t, tc.args...); code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %q %q; want 2 and %q", tc.args[:2], code, out, stderr, tc.want)
		}
	}
	if out, stderr, code := kavach(t, "vault", "--help"); code != 0 || !strings.Contains(out+stderr, "--s3-endpoint") {
		t.Errorf("vault --help does not show the S3 flags: %s%s", out, stderr)
	}
	if out, stderr, code := kavach(t, "restore", "--help"); code != 0 || !strings.Contains(out+stderr, "--from-s3") {
		t.Errorf("restore --help does not show --from-s3: %s%s", out, stderr)
	}
}

// TestVaultS3Process: a node, a vault copying to S3; ransomware on the vault
// host deletes its store, and the node is restored from the S3 copy and a
// copy of vault.json.
func TestVaultS3Process(t *testing.T) {
	endpoint := s3test.Start(t, true)
	access, secret := s3KeyFiles(t)
	dir := filepath.Join(t.TempDir(), "node")
	s := startServer(t, dir, "--demo")
	code, b := call(t, "POST", s.url+"/api/v1/patients", login(t, s, "registration"), patient(0))
	var first struct{ UHID, Name string }
	if json.Unmarshal(b, &first); code != 201 || first.UHID == "" {
		t.Fatalf("register: %d %s", code, b)
	}
	register(t, s, 1, 19)
	tokenFile := replicationToken(t, dir)
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	idFile := filepath.Join(t.TempDir(), "identity.txt")
	if err := os.WriteFile(idFile, []byte(id.String()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s3Args := []string{"--s3-endpoint", "http://" + endpoint, "--s3-bucket", s3test.Bucket, "--s3-region", "us-east-1",
		"--s3-access-key-file", access, "--s3-secret-key-file", secret}
	vdir := filepath.Join(t.TempDir(), "vault")
	v := startVaultProc(t, append([]string{"--data", vdir, "--source", s.url, "--token-file", tokenFile,
		"--recipient", id.Recipient().String(), "--name", "vault-s3", "--wait", "1s",
		"--s3-retention", "1d", "--s3-create-bucket"}, s3Args...)...)

	var st vaultS3StatusJSON
	copied := func() bool {
		st = vaultS3Status(t, vdir)
		return st.S3 != nil && st.Events > 0 && st.S3.EventsCopied == st.Events && !st.S3.Behind && st.S3.LastError == "" && len(st.Alerts) == 0
	}
	waitSynced(t, s, vdir, v)
	waitUntil(t, "the S3 copy to hold the vault's events", v.logs, func() bool { return copied() && st.State == "ok" && st.CaughtUp })
	if s3 := st.S3; s3.Endpoint != "http://"+endpoint || s3.Bucket != s3test.Bucket || s3.Region != "us-east-1" || s3.Retention != "1d" {
		t.Fatalf("s3 block: %+v", *s3)
	}
	// At the start the vault looked at every object's lock: each ends a
	// day after its upload.
	waitUntil(t, "the vault to check the locks in the bucket", v.logs, func() bool {
		st = vaultS3Status(t, vdir)
		return !st.S3.RetentionExtendedAt.IsZero()
	})
	if s3 := st.S3; s3.ObjectsLocked == 0 || !s3.OldestRetainUntil.After(time.Now().Add(23*time.Hour)) || s3.OldestRetainUntil.After(time.Now().Add(24*time.Hour+time.Minute)) {
		t.Fatalf("s3 block, the locks: %+v", *s3)
	}
	if out, _, code := kavach(t, "vault", "status", "--data", vdir); code != 0 || !strings.Contains(out, "events in the bucket "+s3test.Bucket) || !strings.Contains(out, "the earliest lock ends") {
		t.Fatalf("vault status: %d %s", code, out)
	}
	if raw := readFile(t, filepath.Join(vdir, "status.json")); strings.Contains(raw, s3test.Secret) {
		t.Fatal("status.json holds the S3 secret key")
	}

	// The vault's own credentials, in an attacker's hands, cannot delete a
	// segment the vault uploaded.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mc, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	var seg minio.ObjectInfo
	for o := range mc.ListObjects(ctx, s3test.Bucket, minio.ListObjectsOptions{Prefix: "segments/", Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		seg = o
	}
	if seg.Key == "" || seg.VersionID == "" {
		t.Fatalf("no versioned segment in the bucket: %+v", seg)
	}
	for _, opts := range []minio.RemoveObjectOptions{{VersionID: seg.VersionID}, {VersionID: seg.VersionID, GovernanceBypass: true}} {
		if err := mc.RemoveObject(ctx, s3test.Bucket, seg.Key, opts); err == nil {
			t.Fatalf("the vault's credentials deleted %s version %s", seg.Key, seg.VersionID)
		}
	}

	// The node stops (nothing new for the vault), the vault finishes its
	// copy and stops; then ransomware on the vault host deletes its store.
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	waitUntil(t, "the S3 copy to hold the vault's last events", v.logs, copied)
	v.stop(t)
	n := vaultS3Status(t, vdir).Events
	if err := os.RemoveAll(filepath.Join(vdir, "store")); err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(t.TempDir(), "restored")
	if out, stderr, code := kavach(t, "restore", "--vault", vdir, "--identity", idFile, "--to", to); code != 1 || !strings.Contains(stderr, "--from-s3") {
		t.Fatalf("restore from a vault without its store: exit %d %s %s", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(vdir, "store")); err == nil {
		t.Fatal("restore made an empty store in the vault directory")
	}

	// Restore from S3 and the vault's directory, then from S3 and nothing
	// but a copy of vault.json, as kept with the identity envelope.
	envelope := t.TempDir()
	if err := os.WriteFile(filepath.Join(envelope, "vault.json"), []byte(readFile(t, filepath.Join(vdir, "vault.json"))), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, vault := range []string{vdir, envelope} {
		to := filepath.Join(t.TempDir(), "restored")
		// The download goes under $TMPDIR; this one is the test's own.
		tmp := t.TempDir()
		out, stderr, code := kavachEnv(t, []string{"TMPDIR=" + tmp}, append([]string{"restore", "--vault", vault, "--from-s3", "--identity", idFile, "--to", to, "--json"}, s3Args...)...)
		var rr struct {
			OK     bool
			Events uint64
		}
		if json.Unmarshal([]byte(out), &rr); code != 0 || !rr.OK || rr.Events != n {
			t.Fatalf("restore from S3 with %s: exit %d %s %s; want %d events", vault, code, out, stderr, n)
		}
		if left, err := os.ReadDir(tmp); err != nil || len(left) > 0 {
			t.Fatalf("restore from S3 left its download in $TMPDIR: %v %v", left, err)
		}
		if i > 0 {
			break
		}
		// The restored node serves a patient registered before.
		r := startServer(t, to)
		code, b := call(t, "GET", r.url+"/api/v1/patients/"+first.UHID, login(t, r, "registration"), nil)
		var got struct{ UHID, Name string }
		if json.Unmarshal(b, &got); code != 200 || got.UHID != first.UHID || got.Name != first.Name {
			t.Fatalf("patient %s on the restored node: %d %s", first.UHID, code, b)
		}
	}
}
