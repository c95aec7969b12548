package vault_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/minio/minio-go/v7"

	"kavach/internal/s3test"
	"kavach/replicate"
	"kavach/vault"
)

// startVaultS3 is startVault with an S3 copy.
func startVaultS3(t *testing.T, dir, url string, id *age.X25519Identity, cfg vault.S3Config, create bool) *runningVault {
	t.Helper()
	logs := &syncLog{}
	p := &vault.Puller{
		Dir:            dir,
		Source:         &replicate.Client{URL: url, Token: "kvr_test"},
		Recipients:     []age.Recipient{id.Recipient()},
		Wait:           200 * time.Millisecond,
		Log:            slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		S3:             &cfg,
		S3CreateBucket: create,
	}
	ctx, cancel := context.WithCancel(context.Background())
	v := &runningVault{t: t, dir: dir, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- p.Run(ctx) }()
	t.Cleanup(func() { v.stop() })
	return v
}

func copiedToS3(n uint64) func(vault.Status) bool {
	return func(st vault.Status) bool {
		return synced(n)(st) && st.S3 != nil && st.S3.EventsCopied == n && !st.S3.Behind && st.S3.LastError == "" && len(st.Alerts) == 0
	}
}

func TestPullS3(t *testing.T) {
	endpoint := s3test.Start(t, true)
	raw := rawClient(t, endpoint)
	cfg := vault.S3Config{Endpoint: "http://" + endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: 48 * time.Hour}
	l := newLog(t, 10)
	node, srv := newFakeNode(t, l)
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")

	// A first start creates the bucket, and copies each segment.
	v := startVaultS3(t, dir, srv.URL, id, cfg, true)
	st := v.waitFor("10 events in S3", copiedToS3(10))
	if s := st.S3; s.Endpoint != cfg.Endpoint || s.Bucket != s3test.Bucket || s.Region != "us-east-1" || s.Retention != "2d" || s.RetentionSeconds != 2*24*3600 || s.CopiedAt.IsZero() {
		t.Fatalf("s3 block: %+v", s)
	}
	node.do(func(f *fakeNode) { f.log.grow(4) })
	v.waitFor("14 events in S3", copiedToS3(14))

	// Someone with the bucket's credentials plants an object under the
	// name of the next manifest: the vault goes on, says s3-differs at
	// once, and overwrites nothing.
	key := fmt.Sprintf("manifests/%020d.json", 14)
	planted, err := raw.PutObject(context.Background(), s3test.Bucket, key, strings.NewReader("{}"), 2, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.do(func(f *fakeNode) { f.log.grow(3) })
	st = v.waitFor("s3-differs", func(st vault.Status) bool {
		_, ok := alertOf(st, vault.AlertS3Differs)
		return ok && st.Events == 17
	})
	if st.State != vault.StateOK || st.S3.EventsCopied != 14 || !st.S3.Behind || !strings.Contains(st.S3.LastError, "other bytes") {
		t.Fatalf("with a planted manifest: %+v %+v", st, st.S3)
	}
	st = v.waitFor("s3-behind", func(st vault.Status) bool { _, ok := alertOf(st, vault.AlertS3Behind); return ok })
	if st.State != vault.StateOK {
		t.Fatalf("an S3 alert changed the state: %+v", st)
	}
	if !strings.Contains(v.logs.String(), `msg="vault alert" kind=s3-differs`) {
		t.Fatalf("s3-differs not logged:\n%s", v.logs)
	}
	if got, err := getBytes(context.Background(), raw, key, ""); err != nil || string(got) != "{}" {
		t.Fatalf("the planted object: %q %v", got, err)
	}

	// The administrator removes it (it is not locked): the next try
	// mirrors what is missing, and the alerts go.
	if err := raw.RemoveObject(context.Background(), s3test.Bucket, key, minio.RemoveObjectOptions{VersionID: planted.VersionID}); err != nil {
		t.Fatal(err)
	}
	v.waitFor("17 events in S3", copiedToS3(17))
	v.stop()

	// A restart finds everything there; the bucket then holds the store.
	node.do(func(f *fakeNode) { f.log.grow(2) })
	v = startVaultS3(t, dir, srv.URL, id, cfg, false)
	v.waitFor("19 events in S3", copiedToS3(19))
	v.stop()
	down := filepath.Join(t.TempDir(), "download")
	s3, err := vault.OpenS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s3.Download(context.Background(), down); err != nil {
		t.Fatal(err)
	}
	want := listing(t, vault.StoreDir(dir))
	delete(want, "lock")
	if got := listing(t, down); !sameFiles(got, want) {
		t.Fatalf("the bucket holds %v, the store %v", keys(got), keys(want))
	}
}

// TestPullS3Unreachable: S3 down does not stop the vault; it says so in the
// s3 block and, after a while, with s3-behind.
func TestPullS3Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := l.Addr().String()
	l.Close()
	cfg := vault.S3Config{Endpoint: endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: time.Hour}
	_, srv := newFakeNode(t, newLog(t, 5))
	dir := setupVault(t, srv.URL, "")
	v := startVaultS3(t, dir, srv.URL, newIdentity(t), cfg, true)
	st := v.waitFor("s3-behind", func(st vault.Status) bool { _, ok := alertOf(st, vault.AlertS3Behind); return ok })
	if st.State != vault.StateOK || st.Events != 5 || st.S3 == nil || st.S3.EventsCopied != 0 || !st.S3.Behind || st.S3.LastError == "" || st.S3.BehindSince.IsZero() {
		t.Fatalf("S3 down: %+v %+v", st, st.S3)
	}
	if len(st.AlertDetails) != 1 {
		t.Fatalf("alerts: %v", st.Alerts)
	}
}

// TestPullS3NoObjectLock: a bucket without Object Lock protects nothing, so
// the vault does not start with it.
func TestPullS3NoObjectLock(t *testing.T) {
	endpoint := s3test.Start(t, false)
	cfg := vault.S3Config{Endpoint: endpoint, Bucket: "plain", AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: time.Hour}
	_, srv := newFakeNode(t, newLog(t, 3))
	dir := setupVault(t, srv.URL, "")
	for _, create := range []bool{false, true} {
		if create {
			if err := rawClient(t, endpoint).MakeBucket(context.Background(), "plain", minio.MakeBucketOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		cfg := cfg
		p := &vault.Puller{Dir: dir, Source: &replicate.Client{URL: srv.URL, Token: "kvr_test"}, Recipients: []age.Recipient{newIdentity(t).Recipient()},
			Log: slog.New(slog.DiscardHandler), S3: &cfg, S3CreateBucket: create}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := p.Run(ctx)
		cancel()
		if !errors.Is(err, vault.ErrNoObjectLock) {
			t.Fatalf("create=%v: Run with a bucket without Object Lock: %v", create, err)
		}
	}
}

// TestPullS3ExtendsRetention: with a retention of a few seconds, the vault
// extends the lock of every object a restore needs before it lapses, so
// that long after the retention they were uploaded with has passed, the
// vault's own credentials in an attacker's hands still cannot delete them.
// An object the vault did not upload is never locked by it.
func TestPullS3ExtendsRetention(t *testing.T) {
	ctx := context.Background()
	endpoint := s3test.Start(t, true)
	raw := rawClient(t, endpoint)
	const retention = 4 * time.Second
	cfg := vault.S3Config{Endpoint: "http://" + endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: retention}
	l := newLog(t, 6)
	node, srv := newFakeNode(t, l)
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	v := startVaultS3(t, dir, srv.URL, id, cfg, true)
	v.waitFor("6 events in S3", copiedToS3(6))
	s3, err := vault.OpenS3(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Planted beside the store's files, unlocked: not the vault's to lock.
	if _, err := raw.PutObject(ctx, s3test.Bucket, "segments/planted.age", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}

	uploaded := map[string]time.Time{} // key: its lock at the upload
	var last time.Time
	for o := range raw.ListObjects(ctx, s3test.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if o.Key == "segments/planted.age" {
			continue
		}
		_, until, err := s3.Retention(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		uploaded[o.Key] = until
		if until.After(last) {
			last = until
		}
	}
	if len(uploaded) != 3 {
		t.Fatalf("the bucket holds %v, want a segment, its manifest and its cosigned checkpoint", uploaded)
	}
	// More events meanwhile, uploaded with their own locks.
	node.do(func(f *fakeNode) { f.log.grow(3) })
	v.waitFor("9 events in S3", copiedToS3(9))

	// Well past the lock every first object was uploaded with.
	time.Sleep(time.Until(last.Add(2 * time.Second)))
	now := time.Now()
	for key, was := range uploaded {
		mode, until, err := s3.Retention(ctx, key)
		if err != nil || mode != "COMPLIANCE" || !until.After(now) || !until.After(was) {
			t.Fatalf("%s at %s: %s until %s (%v); it was locked until %s at its upload", key, now.Format(time.RFC3339), mode, until.Format(time.RFC3339), err, was.Format(time.RFC3339))
		}
	}
	for o := range raw.ListObjects(ctx, s3test.Bucket, minio.ListObjectsOptions{Prefix: "segments/", Recursive: true, WithVersions: true}) {
		err := raw.RemoveObject(ctx, s3test.Bucket, o.Key, minio.RemoveObjectOptions{VersionID: o.VersionID})
		if planted := o.Key == "segments/planted.age"; planted != (err == nil) {
			t.Fatalf("delete %s version %s: %v", o.Key, o.VersionID, err)
		}
	}
	st := v.waitFor("the retention's status", func(st vault.Status) bool { return st.S3 != nil && st.S3.RetentionExtendedAt.After(now) })
	if s := st.S3; !s.OldestRetainUntil.After(now) || s.OldestRetainUntil.After(time.Now().Add(retention+time.Second)) || s.RetentionError != "" || len(st.Alerts) != 0 {
		t.Fatalf("s3 block: %+v, alerts %v", s, st.Alerts)
	}
}

// TestPullS3RetentionAlert: when the locks cannot be extended, the vault
// says so at once with s3-retention, goes on pulling in state ok, and
// resolves the alert once it works again.
func TestPullS3RetentionAlert(t *testing.T) {
	srv3 := s3test.StartServer(t, true)
	cfg := vault.S3Config{Endpoint: "http://" + srv3.Addr, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: 4 * time.Second}
	l := newLog(t, 4)
	node, srv := newFakeNode(t, l)
	dir := setupVault(t, srv.URL, "")
	v := startVaultS3(t, dir, srv.URL, newIdentity(t), cfg, true)
	v.waitFor("4 events in S3", copiedToS3(4))

	srv3.Stop()
	st := v.waitFor("s3-retention", func(st vault.Status) bool { _, ok := alertOf(st, vault.AlertS3Retention); return ok })
	a, _ := alertOf(st, vault.AlertS3Retention)
	if st.State != vault.StateOK || st.S3.RetentionError == "" || !strings.Contains(a.Message, "s3:PutObjectRetention") || !strings.Contains(a.Message, "earliest lock") {
		t.Fatalf("S3 down while the locks are due: %+v %+v", st, st.S3)
	}
	if !strings.Contains(v.logs.String(), `msg="vault alert" kind=s3-retention`) {
		t.Fatalf("s3-retention not logged:\n%s", v.logs)
	}
	node.do(func(f *fakeNode) { f.log.grow(2) })
	v.waitFor("6 events held", func(st vault.Status) bool { return st.Events == 6 && st.State == vault.StateOK })

	srv3.Restart()
	st = v.waitFor("the alerts to go", copiedToS3(6))
	// Two segments, each with its manifest and cosigned checkpoint.
	if st.S3.RetentionError != "" || st.S3.ObjectsLocked != 6 || st.S3.Unlocked != 0 {
		t.Fatalf("S3 back: %+v", st.S3)
	}
}

// TestPullS3Origins: the S3 copy holds the store of every other node's
// journal the vault pulls through the source, under origins/<code>/, and
// each downloads as the store it is; their locks are extended with the
// source's own.
func TestPullS3Origins(t *testing.T) {
	endpoint := s3test.Start(t, true)
	cfg := vault.S3Config{Endpoint: "http://" + endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: 48 * time.Hour}
	l := newLog(t, 6)
	src, srv := newFakeNode(t, l)
	kb := newOriginLog(t, "KB", 9)
	src.do(func(f *fakeNode) { f.origins = map[string]*testLog{"KB": kb} })
	id := newIdentity(t)
	dir := setupVault(t, srv.URL, "")
	v := startVaultS3(t, dir, srv.URL, id, cfg, true)
	inS3 := func(own, kb uint64) func(vault.Status) bool {
		return func(st vault.Status) bool {
			o := st.Origins["KB"]
			return copiedToS3(own)(st) && o.Events == kb && o.S3EventsCopied == kb && st.S3.ObjectsLocked > 0
		}
	}
	v.waitFor("both journals in S3", inS3(6, 9))
	src.do(func(f *fakeNode) { f.origins["KB"].grow(4) })
	v.waitFor("KB's new events in S3", inS3(6, 13))
	v.stop()
	// A restart finds it all there.
	src.do(func(f *fakeNode) { f.origins["KB"].grow(1); f.log.grow(1) })
	v = startVaultS3(t, dir, srv.URL, id, cfg, false)
	st := v.waitFor("both journals in S3 after a restart", inS3(7, 14))
	v.stop()

	s3, err := vault.OpenS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s3    *vault.S3
		store string
	}{{s3, vault.StoreDir(dir)}, {s3.Prefixed(vault.OriginPrefix("KB")), vault.OriginStoreDir(dir, "KB")}} {
		down := filepath.Join(t.TempDir(), "download")
		if err := c.s3.Download(context.Background(), down); err != nil {
			t.Fatal(err)
		}
		want := listing(t, c.store)
		delete(want, "lock")
		if got := listing(t, down); !sameFiles(got, want) {
			t.Fatalf("the bucket holds %v, the store %s %v", keys(got), c.store, keys(want))
		}
	}
	// Every object the restores need is locked: the source's store's and KB's.
	ext, err := s3.Extend(context.Background(), openStore(t, vault.StoreDir(dir)), 0)
	if err != nil {
		t.Fatal(err)
	}
	oext, err := s3.Prefixed(vault.OriginPrefix("KB")).Extend(context.Background(), openStore(t, vault.OriginStoreDir(dir, "KB")), 0)
	if err != nil {
		t.Fatal(err)
	}
	// (The status's count is exact only at each look at every lock.)
	if len(ext.Unlocked)+len(oext.Unlocked) != 0 || oext.Objects != 6 || st.S3.ObjectsLocked < ext.Objects+oext.Objects {
		t.Fatalf("locked: the status says %d, the bucket %d + %d; unlocked %v %v", st.S3.ObjectsLocked, ext.Objects, oext.Objects, ext.Unlocked, oext.Unlocked)
	}
}
