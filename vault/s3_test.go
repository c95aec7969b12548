package vault_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"kavach/internal/s3test"
	"kavach/vault"
)

// rawClient is a plain S3 client with the vault's own credentials: what an
// attacker who took over the vault host would hold.
func rawClient(t *testing.T, endpoint string) *minio.Client {
	t.Helper()
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3test.Access, s3test.Secret, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func getBytes(ctx context.Context, c *minio.Client, key, version string) ([]byte, error) {
	o, err := c.GetObject(ctx, s3test.Bucket, key, minio.GetObjectOptions{VersionID: version})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

func TestS3ObjectLock(t *testing.T) {
	for _, tc := range []struct {
		name      string
		versioned bool
	}{{"Versioned", true}, {"Unversioned", false}} {
		t.Run(tc.name, func(t *testing.T) { testS3(t, tc.versioned) })
	}
}

func testS3(t *testing.T, versioned bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	endpoint := s3test.Start(t, versioned)
	raw := rawClient(t, endpoint)
	const retention = time.Hour
	cfg := vault.S3Config{Endpoint: "http://" + endpoint, Bucket: s3test.Bucket, AccessKey: s3test.Access, SecretKey: s3test.Secret, Region: "us-east-1", Retention: retention}

	t.Run("ErrNoBucket", func(t *testing.T) {
		_, err := vault.OpenS3(ctx, cfg)
		if !errors.Is(err, vault.ErrNoObjectLock) || !strings.Contains(err.Error(), "does not exist") {
			t.Fatalf("open a missing bucket: %v", err)
		}
	})
	t.Run("ErrBucketWithoutLock", func(t *testing.T) {
		if err := raw.MakeBucket(ctx, "plain", minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
		c := cfg
		c.Bucket = "plain"
		s, err := vault.OpenS3(ctx, c)
		if !errors.Is(err, vault.ErrNoObjectLock) || !strings.Contains(err.Error(), "without Object Lock") {
			t.Fatalf("open a bucket without Object Lock: %v", err)
		}
		if err := s.EnsureBucket(ctx); !errors.Is(err, vault.ErrNoObjectLock) {
			t.Fatalf("EnsureBucket on a bucket without Object Lock: %v", err)
		}
	})
	t.Run("ErrNoRetention", func(t *testing.T) {
		c := cfg
		c.Retention = 0
		if _, err := vault.OpenS3(ctx, c); err == nil || !strings.Contains(err.Error(), "retention") {
			t.Fatalf("open with no retention: %v", err)
		}
	})

	s3, err := vault.OpenS3(ctx, cfg)
	if !errors.Is(err, vault.ErrNoObjectLock) {
		t.Fatalf("open a missing bucket: %v", err)
	}
	if err := s3.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s3.EnsureBucket(ctx); err != nil {
		t.Fatalf("EnsureBucket again: %v", err)
	}
	if s3, err = vault.OpenS3(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	// A vault store with three segments, the last cosigned; the first two
	// are put as they are appended, the third is left for Mirror.
	l := newLog(t, 12)
	id := newIdentity(t)
	store := openStore(t, filepath.Join(t.TempDir(), "vault"))
	segs := fill(t, store, l, id, 4, 9, 12)
	skey, _, err := vault.GenerateKey("vault.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Cosign(skey); err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	for _, g := range segs[:2] {
		if err := s3.Put(ctx, store, g); err != nil {
			t.Fatal(err)
		}
		if err := s3.Put(ctx, store, g); err != nil {
			t.Fatalf("put again: %v", err)
		}
	}

	t.Run("ErrS3Differs", func(t *testing.T) {
		// Something already under the third manifest's name: Mirror
		// refuses to put anything over it.
		key := segs[2].Manifest()
		planted, err := raw.PutObject(ctx, s3test.Bucket, key, strings.NewReader("{}"), 2, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s3.Mirror(ctx, store); !errors.Is(err, vault.ErrS3Differs) {
			t.Fatalf("mirror over a planted manifest: %v", err)
		}
		// Not locked, so it goes; in a versioned bucket only by its version.
		if err := raw.RemoveObject(ctx, s3test.Bucket, key, minio.RemoveObjectOptions{VersionID: planted.VersionID}); err != nil {
			t.Fatal(err)
		}
	})

	n, err := s3.Mirror(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	// The third segment was uploaded by the failed Mirror already.
	if n != 2 {
		t.Fatalf("mirror uploaded %d files, want 2 (the third manifest, the cosigned checkpoint)", n)
	}
	if n, err := s3.Mirror(ctx, store); err != nil || n != 0 {
		t.Fatalf("mirror again: %d files, %v", n, err)
	}
	after := time.Now()

	// Every file is in the bucket once, locked in COMPLIANCE mode for the
	// retention period.
	versions := map[string]string{} // key: the version the vault put
	for o := range raw.ListObjects(ctx, s3test.Bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if _, dup := versions[o.Key]; dup {
			t.Fatalf("%s: more than one version after idempotent puts", o.Key)
		}
		versions[o.Key] = o.VersionID
	}
	local := listing(t, store.Dir())
	for name := range local {
		if name == "lock" {
			continue
		}
		key := filepath.ToSlash(name)
		if _, ok := versions[key]; !ok {
			t.Fatalf("%s is not in the bucket", key)
		}
		mode, until, err := s3.Retention(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if mode != "COMPLIANCE" || until.Before(before.Add(retention)) || until.After(after.Add(retention+time.Second)) {
			t.Fatalf("%s: retention %s until %s, want COMPLIANCE until %s + %v", key, mode, until, before.Format(time.RFC3339), retention)
		}
	}
	if len(versions) != len(local)-1 {
		t.Fatalf("the bucket has %d files, the store %d", len(versions), len(local)-1)
	}

	// An attacker with the vault's own credentials.
	seg, man := segs[0].File(), segs[1].Manifest()
	original, err := os.ReadFile(filepath.Join(store.Dir(), seg))
	if err != nil {
		t.Fatal(err)
	}
	version := map[bool]string{true: versions[seg], false: ""}[versioned]
	t.Run("DeleteRefused", func(t *testing.T) {
		err := raw.RemoveObject(ctx, s3test.Bucket, seg, minio.RemoveObjectOptions{})
		if versioned {
			// S3 semantics: a delete without a version only hides the
			// object behind a delete marker.
			if err != nil {
				t.Fatalf("delete without a version: %v", err)
			}
		} else if err == nil {
			t.Fatal("deleted a locked segment")
		}
		err = raw.RemoveObject(ctx, s3test.Bucket, seg, minio.RemoveObjectOptions{VersionID: version})
		if err == nil {
			t.Fatal("deleted a locked segment's version")
		}
		t.Logf("delete: %v", err)
		err = raw.RemoveObject(ctx, s3test.Bucket, seg, minio.RemoveObjectOptions{VersionID: version, GovernanceBypass: true})
		if err == nil {
			t.Fatal("deleted a locked segment with the governance bypass")
		}
	})
	t.Run("OverwriteRefused", func(t *testing.T) {
		bad := []byte("encrypted by ransomware")
		for _, key := range []string{seg, man} {
			_, err := raw.PutObject(ctx, s3test.Bucket, key, bytes.NewReader(bad), int64(len(bad)), minio.PutObjectOptions{})
			switch {
			case versioned && err != nil:
				t.Fatalf("overwrite %s in a versioned bucket: %v", key, err)
			case !versioned && err == nil:
				t.Fatalf("overwrote locked %s", key)
			}
		}
		if versioned {
			// The overwrite is a new version; the locked one is the one
			// a restore reads (see Download below).
			got, err := getBytes(ctx, raw, man, "")
			if err != nil || !bytes.Equal(got, bad) {
				t.Fatalf("the latest version of %s: %q, %v", man, got, err)
			}
		}
	})
	t.Run("ShortenRetentionRefused", func(t *testing.T) {
		for _, mode := range []minio.RetentionMode{minio.Compliance, minio.Governance} {
			soon := time.Now().Add(time.Minute)
			err := raw.PutObjectRetention(ctx, s3test.Bucket, seg, minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &soon, GovernanceBypass: true, VersionID: version})
			if err == nil {
				t.Fatalf("shortened the retention of a locked segment to %s %s", mode, soon)
			}
		}
	})
	t.Run("LockedBytesIntact", func(t *testing.T) {
		got, err := getBytes(ctx, raw, seg, version)
		if err != nil || !bytes.Equal(got, original) {
			t.Fatalf("locked %s after the attack: %d bytes, %v; want the %d it had", seg, len(got), err, len(original))
		}
		if !versioned {
			mode, until, err := s3.Retention(ctx, seg)
			if err != nil || mode != "COMPLIANCE" || until.Before(before.Add(retention)) {
				t.Fatalf("retention after the attack: %s %s %v", mode, until, err)
			}
		}
		// A planted file the manifests do not name is left in the bucket.
		if _, err := raw.PutObject(ctx, s3test.Bucket, "segments/planted.age", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Download", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "restore")
		if err := s3.Download(ctx, dir); err != nil {
			t.Fatal(err)
		}
		if err := s3.Download(ctx, dir); err != nil {
			t.Fatalf("download again into the same directory: %v", err)
		}
		got := listing(t, dir)
		want := listing(t, store.Dir())
		delete(want, "lock")
		if !sameFiles(got, want) {
			t.Fatalf("downloaded %v, the store has %v", keys(got), keys(want))
		}
		r := openStore(t, dir)
		if rep := r.Scrub(origin, l.v); !rep.OK || rep.Events != 12 {
			t.Fatalf("scrub of the download: %+v", rep)
		}
		events, err := readAll(r, id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(events, l.events, bytes.Equal) {
			t.Fatalf("restored %d events, not the %d appended", len(events), len(l.events))
		}
		if !bytes.Equal(r.LastCosigned(), store.LastCosigned()) {
			t.Fatal("the cosigned checkpoint did not come back")
		}
	})

	t.Run("Extend", func(t *testing.T) {
		// With a margin longer than the retention every lock is due: each
		// object the vault uploaded is extended, past a delete marker and
		// a newer version, and nothing it did not upload gets a lock.
		start := time.Now()
		ext, err := s3.Extend(ctx, store, 2*retention)
		files := len(local) - 1 // not the lock
		if err != nil || ext.Objects != files || ext.Extended != files || len(ext.Unlocked) != 0 {
			t.Fatalf("extend: %+v %v; want all %d files extended", ext, err, files)
		}
		if ext.Oldest.Before(start.Add(retention)) || ext.Oldest.After(time.Now().Add(retention+time.Second)) {
			t.Fatalf("extend: the earliest lock ends at %s, want about %s", ext.Oldest, start.Add(retention))
		}
		for name := range local {
			if name == "lock" {
				continue
			}
			key := filepath.ToSlash(name)
			id := map[bool]string{true: versions[key], false: ""}[versioned]
			mode, until, err := s3.RetentionOf(ctx, key, id)
			if err != nil || mode != "COMPLIANCE" || until.Before(start.Add(retention)) {
				t.Fatalf("%s after Extend: %s until %s (%v)", key, mode, until, err)
			}
		}
		if versioned {
			// The ransomware's version of the manifest stays unlocked.
			if _, _, err := s3.Retention(ctx, man); !errors.Is(err, vault.ErrNotLocked) {
				t.Fatalf("the newer, planted version of %s: %v; want no lock", man, err)
			}
		}
		if _, _, err := s3.Retention(ctx, "segments/planted.age"); !errors.Is(err, vault.ErrNotLocked) {
			t.Fatalf("a planted file: %v; want no lock", err)
		}
		// Nothing due: nothing done.
		if ext, err := s3.Extend(ctx, store, time.Minute); err != nil || ext.Extended != 0 || ext.Objects != files {
			t.Fatalf("extend again: %+v %v", ext, err)
		}
	})
}

func TestS3ConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  vault.S3Config
		want string
	}{
		{"ErrNoEndpoint", vault.S3Config{Bucket: "b", Retention: time.Hour}, "no endpoint"},
		{"ErrNoBucket", vault.S3Config{Endpoint: "localhost:9000", Retention: time.Hour}, "no bucket"},
		{"ErrEndpointPath", vault.S3Config{Endpoint: "https://s3.example/x", Bucket: "b", Retention: time.Hour}, "no path"},
		{"ErrRetention", vault.S3Config{Endpoint: "localhost:9000", Bucket: "b"}, "retention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := vault.OpenS3(context.Background(), tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OpenS3(%+v) = %v, want an error saying %q", tc.cfg, err, tc.want)
			}
		})
	}
}

func TestParseRetention(t *testing.T) {
	// What S3 answers, and what versitygw v1.8.0 answers.
	for _, body := range []string{
		`<?xml version="1.0" encoding="UTF-8"?><Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>COMPLIANCE</Mode><RetainUntilDate>2027-01-02T03:04:05.000Z</RetainUntilDate></Retention>`,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ObjectLockRetention><Mode>COMPLIANCE</Mode><RetainUntilDate>2027-01-02T03:04:05Z</RetainUntilDate></ObjectLockRetention>`,
	} {
		mode, until, err := vault.ParseRetention([]byte(body))
		if err != nil || mode != "COMPLIANCE" || !until.Equal(time.Date(2027, 1, 2, 3, 4, 5, 0, time.UTC)) {
			t.Errorf("parse %s: %s %s %v", body, mode, until, err)
		}
	}
	if _, _, err := vault.ParseRetention([]byte(`<Other><Mode>COMPLIANCE</Mode></Other>`)); err == nil {
		t.Error("parsed an answer that is not a retention")
	}
}
