package vault

// The S3 copy: the store's files, under the same names, in a bucket with
// Object Lock in COMPLIANCE mode, so that for the retention period nobody,
// not the vault with its own credentials nor the bucket's root account, can
// delete or change them. Where the bucket keeps versions (AWS requires it for
// Object Lock), a delete or an overwrite only adds a delete marker or a newer
// version in front of the locked one, and Download reads past them. The
// local store stays the vault's record; the bucket is a second copy that a
// restore downloads when the vault host is lost.

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"kavach/internal/durable"
)

// S3Config says where the S3 copy is. It is read once by the command and
// passed down.
type S3Config struct {
	Endpoint  string // host:port, or an http:// or https:// URL (whose scheme then sets Secure)
	Bucket    string // created with Object Lock enabled (an administrator's step; see EnsureBucket)
	AccessKey string // the vault's own credentials
	SecretKey string
	Region    string        // empty asks the server
	Secure    bool          // HTTPS
	Retention time.Duration // how long each object stays locked after its upload
}

// Errors of the S3 copy that tell the caller how to react.
var (
	// ErrNoObjectLock: the bucket is missing or has no Object Lock. An
	// administrator creates it with Object Lock enabled (EnsureBucket does,
	// for tests and a first setup).
	ErrNoObjectLock = errors.New("vault: s3: no bucket with Object Lock")
	// ErrS3Differs: the bucket holds other bytes under a name the vault
	// writes. Nothing is overwritten; raise an alert: someone planted or
	// changed it, or a second vault writes to the same bucket.
	ErrS3Differs = errors.New("vault: s3: the bucket holds other bytes under this name")
	// ErrNotLocked: the object has no retention: it can be deleted.
	ErrNotLocked = errors.New("vault: s3: the object has no Object Lock retention")
)

// S3 is the S3 copy of a store. Its methods are safe for concurrent use.
type S3 struct {
	cfg    S3Config
	prefix string // before every object's name: "" for the source's own store, origins/XX/ for another node's
	c      *minio.Client
	http   *http.Client // for the requests minio-go cannot parse the answer to
	now    func() time.Time

	mu sync.Mutex
	// locked is, by a segment's first event, the earliest time the locks of
	// its objects in the bucket end, as far as this process knows (it
	// uploaded them, or Extend read or set their locks): Extend asks S3
	// only about the others and about those it must extend.
	locked map[uint64]segmentLock
}

// segmentLock is what S3 knows of the locks of a segment's objects.
type segmentLock struct {
	until   time.Time // the earliest end of their locks
	objects int       // how many there are
}

// OpenS3 connects to the bucket and checks that it exists with Object Lock
// enabled. When it does not, OpenS3 returns an error wrapping
// ErrNoObjectLock together with an *S3 that is good only for EnsureBucket.
func OpenS3(ctx context.Context, cfg S3Config) (*S3, error) {
	switch {
	case cfg.Endpoint == "":
		return nil, errors.New("vault: s3: no endpoint")
	case cfg.Bucket == "":
		return nil, errors.New("vault: s3: no bucket")
	case cfg.Retention < time.Second:
		return nil, fmt.Errorf("vault: s3: retention %v: it must be at least a second, and should outlast the time an attack goes unnoticed (weeks)", cfg.Retention)
	}
	host, secure := cfg.Endpoint, cfg.Secure
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("vault: s3: endpoint %q: give host:port, or http(s)://host:port with no path", cfg.Endpoint)
		}
		host, secure = u.Host, u.Scheme == "https"
	}
	cfg.Secure = secure
	tr, err := minio.DefaultTransport(secure)
	if err != nil {
		return nil, fmt.Errorf("vault: s3: %w", err)
	}
	c, err := minio.New(host, &minio.Options{
		Creds:     credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:    secure,
		Region:    cfg.Region,
		Transport: tr,
	})
	if err != nil {
		return nil, fmt.Errorf("vault: s3: %w", err)
	}
	s := &S3{cfg: cfg, c: c, http: &http.Client{Transport: tr}, now: time.Now, locked: map[uint64]segmentLock{}}
	if err := s.checkLock(ctx); err != nil {
		if errors.Is(err, ErrNoObjectLock) {
			return s, err
		}
		return nil, err
	}
	return s, nil
}

// OriginPrefix is the prefix in the bucket of the store of node code's
// journal, which the vault pulls through the source (see OriginStoreDir).
func OriginPrefix(code string) string { return "origins/" + code + "/" }

// Prefixed returns the copy in the same bucket of another store, whose
// objects' names begin with prefix (OriginPrefix): the store of another
// node's journal.
func (s *S3) Prefixed(prefix string) *S3 {
	return &S3{cfg: s.cfg, prefix: s.prefix + prefix, c: s.c, http: s.http, now: s.now, locked: map[uint64]segmentLock{}}
}

// key is the object's name in the bucket of the store's file name.
func (s *S3) key(name string) string { return s.prefix + name }

// checkLock returns nil when the bucket exists with Object Lock enabled.
func (s *S3) checkLock(ctx context.Context) error {
	b := s.cfg.Bucket
	enabled, _, _, _, err := s.c.GetObjectLockConfig(ctx, b)
	switch code := minio.ToErrorResponse(err).Code; {
	case err == nil && enabled == "Enabled":
		return nil
	case err == nil:
		return fmt.Errorf("%w: bucket %q has Object Lock %q; an administrator enables it, or creates a bucket with it", ErrNoObjectLock, b, enabled)
	case code == minio.NoSuchBucket:
		return fmt.Errorf("%w: bucket %q does not exist; an administrator creates it with Object Lock enabled (EnsureBucket does, for a first setup)", ErrNoObjectLock, b)
	case code == "ObjectLockConfigurationNotFoundError":
		return fmt.Errorf("%w: bucket %q was created without Object Lock; an administrator enables it, or creates a bucket with it", ErrNoObjectLock, b)
	default:
		return fmt.Errorf("vault: s3: bucket %q: %w", b, err)
	}
}

// EnsureBucket creates the bucket with Object Lock enabled if it does not
// exist, and checks that it has Object Lock. It is for tests and a first
// setup: in production an administrator, not the vault, should own the
// bucket and its settings.
func (s *S3) EnsureBucket(ctx context.Context) error {
	b := s.cfg.Bucket
	ok, err := s.c.BucketExists(ctx, b)
	if err != nil {
		return fmt.Errorf("vault: s3: bucket %q: %w", b, err)
	}
	if !ok {
		err := s.c.MakeBucket(ctx, b, minio.MakeBucketOptions{Region: s.cfg.Region, ObjectLocking: true})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("vault: s3: create bucket %q with Object Lock: %w", b, err)
		}
	}
	return s.checkLock(ctx)
}

// Put uploads a segment of store, its manifest and, if the store has
// cosigned its checkpoint, the cosigned checkpoint, under the names they have
// in the store's directory, each locked in COMPLIANCE mode until Retention
// from now. The segment goes first, so that a manifest in the bucket always
// has its segment. A file already in the bucket with the same bytes is
// skipped (its retention is left as it is); one with other bytes is an error
// wrapping ErrS3Differs, and nothing is overwritten.
func (s *S3) Put(ctx context.Context, store *Store, seg Segment) error {
	_, err := s.putSegment(ctx, store.Dir(), seg, nil)
	return err
}

// Mirror uploads what Put would for every segment of store that is not in
// the bucket yet, in journal order: for a vault that starts using S3 late, or
// after an outage. It returns how many files it uploaded.
func (s *S3) Mirror(ctx context.Context, store *Store) (int, error) {
	listed := map[string]string{} // key: ETag, of the current versions
	for _, prefix := range []string{"segments/", "manifests/"} {
		for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true}) {
			if o.Err != nil {
				return 0, fmt.Errorf("vault: s3: mirror: list %s: %w", s.key(prefix), o.Err)
			}
			listed[strings.TrimPrefix(o.Key, s.prefix)] = strings.Trim(o.ETag, `"`)
		}
	}
	total := 0
	for _, g := range store.Segments() {
		n, err := s.putSegment(ctx, store.Dir(), g, listed)
		total += n
		if err != nil {
			return total, fmt.Errorf("vault: s3: mirror: %w", err)
		}
	}
	return total, nil
}

// putSegment is Put; listed, if not nil, holds the ETags of what the bucket
// has, so that files already there need no request.
func (s *S3) putSegment(ctx context.Context, dir string, g Segment, listed map[string]string) (int, error) {
	names := segmentObjects(dir, g)
	until := s.retainUntil()
	n := 0
	for _, name := range names {
		want := ""
		if name == g.File() {
			want = g.Hash
		}
		up, err := s.putFile(ctx, dir, name, want, until, listed)
		if err != nil {
			return n, fmt.Errorf("vault: s3: put %s: %w", name, err)
		}
		if up {
			n++
		}
	}
	if n == len(names) {
		// All uploaded here, so all locked until then at least.
		s.mu.Lock()
		s.locked[g.First] = segmentLock{until, n}
		s.mu.Unlock()
	}
	return n, nil
}

// lockOf returns what S3 knows of the locks of the segment that starts at
// first: the earliest end and the number of objects.
func (s *S3) lockOf(first uint64) (time.Time, int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locked[first]
	return l.until, l.objects, ok
}

// segmentObjects names the files of a segment that go to the bucket: the
// segment, its manifest and, once the store has it, the cosigned checkpoint.
func segmentObjects(dir string, g Segment) []string {
	names := []string{g.File(), g.Manifest()}
	if _, err := os.Stat(filepath.Join(dir, cosignedFile(g.First))); err == nil {
		names = append(names, cosignedFile(g.First))
	}
	return names
}

// putFile uploads the store's file name, locked until until, unless the
// bucket has it. want, if not empty, is the SHA-256 the file must have. It
// reports whether it uploaded.
func (s *S3) putFile(ctx context.Context, dir, name, want string, until time.Time, listed map[string]string) (bool, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		return false, err
	}
	defer f.Close()
	// MD5 only to compare with S3's ETags; the SHA-256 is what is trusted.
	m, h := md5.New(), sha256.New()
	size, err := io.Copy(io.MultiWriter(m, h), f)
	if err != nil {
		return false, err
	}
	etag, sum := hex.EncodeToString(m.Sum(nil)), hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return false, errors.New("the local file's SHA-256 does not match its name (damaged? run a scrub); not uploaded")
	}
	if e, ok := listed[name]; ok && e == etag {
		return false, nil
	}
	switch have, err := s.holds(ctx, name, etag, sum); {
	case err != nil:
		return false, err
	case have:
		return false, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return false, err
	}
	// Content-MD5 lets the server check the bytes; AWS requires it (or a
	// checksum) on every upload that sets a retention.
	_, err = s.c.PutObject(ctx, s.cfg.Bucket, s.key(name), f, size, minio.PutObjectOptions{
		ContentType:      contentType(name),
		Mode:             minio.Compliance,
		RetainUntilDate:  until,
		SendContentMd5:   true,
		DisableMultipart: true,
	})
	if err != nil {
		return false, fmt.Errorf("upload: %w", err)
	}
	return true, nil
}

// retainUntil is now plus Retention, rounded up to the second that S3's
// dates are given in.
func (s *S3) retainUntil() time.Time {
	t := s.now().Add(s.cfg.Retention).UTC()
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second)
	}
	return t
}

// holds reports whether the bucket's current version of key has the bytes
// with MD5 etag and SHA-256 sum, false when there is none, and an error
// wrapping ErrS3Differs when it has other bytes.
func (s *S3) holds(ctx context.Context, key, etag, sum string) (bool, error) {
	info, err := s.c.StatObject(ctx, s.cfg.Bucket, s.key(key), minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) || info.IsDeleteMarker {
			return false, nil
		}
		return false, fmt.Errorf("stat: %w", err)
	}
	if strings.Trim(info.ETag, `"`) == etag {
		return true, nil
	}
	// Not every ETag is an MD5 (multipart uploads, some encryption and
	// servers): compare the bytes themselves before calling it a conflict.
	o, err := s.c.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{VersionID: info.VersionID})
	if err != nil {
		return false, fmt.Errorf("get: %w", err)
	}
	defer o.Close()
	h := sha256.New()
	if _, err := io.Copy(h, o); err != nil {
		return false, fmt.Errorf("get: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) == sum {
		return true, nil
	}
	return false, fmt.Errorf("%w (planted, or written by another vault?); nothing is overwritten", ErrS3Differs)
}

func isNotFound(err error) bool {
	switch minio.ToErrorResponse(err).Code {
	case minio.NoSuchKey, "NotFound":
		return true
	}
	return false
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".cosigned"):
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

// Retention reads the Object Lock retention of the current version of key:
// its mode ("COMPLIANCE" or "GOVERNANCE") and the time it is locked until.
// An object with none is an error wrapping ErrNotLocked.
//
// It reads the raw GetObjectRetention answer rather than use minio-go's,
// because versitygw answers with the root element ObjectLockRetention where
// S3 says Retention, and minio-go refuses that.
func (s *S3) Retention(ctx context.Context, key string) (mode string, until time.Time, err error) {
	return s.retention(ctx, key, "")
}

// retention is Retention of one version of key ("" the current one).
func (s *S3) retention(ctx context.Context, key, version string) (mode string, until time.Time, err error) {
	fail := func(err error) (string, time.Time, error) {
		return "", time.Time{}, fmt.Errorf("vault: s3: retention of %s: %w", key, err)
	}
	q := url.Values{"retention": {""}}
	if version != "" {
		q.Set("versionId", version)
	}
	u, err := s.c.Presign(ctx, http.MethodGet, s.cfg.Bucket, s.key(key), time.Minute, q)
	if err != nil {
		return fail(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fail(err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fail(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fail(err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct{ Code, Message string }
		xml.Unmarshal(body, &e) // a body that is no S3 error leaves e empty
		if e.Code == "NoSuchObjectLockConfiguration" {
			return fail(ErrNotLocked)
		}
		return fail(fmt.Errorf("HTTP %d %s: %s", resp.StatusCode, e.Code, e.Message))
	}
	return parseRetention(body)
}

// Extension is what one run of Extend did.
type Extension struct {
	Objects  int // objects of the store in the bucket, in locked versions
	Extended int // of those, how many it extended
	// Oldest is the earliest time a lock of them ends, after the run: until
	// then nobody can delete any. Zero when there are none.
	Oldest time.Time
	// Unlocked lists the store's files the bucket holds in no locked
	// version: missing (the copy's business) or planted by someone else.
	Unlocked []string
}

// Extend extends the Object Lock of every object a restore of store needs
// (each segment, its manifest and its cosigned checkpoint: everything, the
// store being append-only) whose lock ends within margin from now, to
// Retention from now, in COMPLIANCE mode, so that no lock lapses while the
// vault runs. It extends every version of such a key that carries a
// COMPLIANCE lock, which is the one the vault uploaded where the bucket
// keeps versions; it never locks a version that has none, nor one locked in
// GOVERNANCE mode (neither is the vault's). It asks S3 for the locks only
// of objects whose lock this process has not set or read before, and of
// those it must extend. What fails is reported in the error after
// everything else was done; the Extension counts what succeeded.
func (s *S3) Extend(ctx context.Context, store *Store, margin time.Duration) (Extension, error) {
	var ext Extension
	due := s.now().Add(margin)
	var listed map[string][]objVersion // listed when first needed
	var errs []error
	for _, g := range store.Segments() {
		known, objects, ok := s.lockOf(g.First)
		if ok && !known.Before(due) {
			ext.Objects += objects
			ext.Oldest = earliest(ext.Oldest, known)
			continue
		}
		names := segmentObjects(store.Dir(), g)
		if listed == nil {
			var err error
			if listed, err = s.versionsOf(ctx, "segments/", "manifests/"); err != nil {
				return ext, fmt.Errorf("vault: s3: extend the locks: %w", err)
			}
		}
		segUntil, whole := time.Time{}, true
		for _, name := range names {
			until, n, extended, err := s.extendKey(ctx, name, listed[name], due)
			switch {
			case err != nil:
				errs = append(errs, err)
				whole = false
			case n == 0:
				ext.Unlocked = append(ext.Unlocked, name)
				whole = false
			default:
				ext.Objects++
				ext.Extended += extended
				segUntil = earliest(segUntil, until)
			}
		}
		if !segUntil.IsZero() {
			ext.Oldest = earliest(ext.Oldest, segUntil)
		}
		if whole {
			s.mu.Lock()
			s.locked[g.First] = segmentLock{segUntil, len(names)}
			s.mu.Unlock()
		}
		if err := ctx.Err(); err != nil {
			return ext, fmt.Errorf("vault: s3: extend the locks: %w", err)
		}
	}
	if len(errs) > 0 {
		if len(errs) > 3 {
			errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
		}
		return ext, fmt.Errorf("vault: s3: extend the locks: %w", errors.Join(errs...))
	}
	return ext, nil
}

// extendKey extends the COMPLIANCE locks of the versions of key that end
// before due. It returns the earliest end among them afterwards, how many
// versions are so locked, and how many it extended.
func (s *S3) extendKey(ctx context.Context, key string, versions []objVersion, due time.Time) (time.Time, int, int, error) {
	var first time.Time
	locked, extended := 0, 0
	for _, v := range versions {
		id := v.id
		if id == "null" { // an unversioned object; versitygw refuses "null"
			id = ""
		}
		mode, until, err := s.retention(ctx, key, id)
		if errors.Is(err, ErrNotLocked) || (err == nil && mode != string(minio.Compliance)) {
			continue // not the vault's upload: never lock it
		}
		if err != nil {
			return first, locked, extended, err
		}
		if until.Before(due) {
			target := s.retainUntil()
			mode := minio.Compliance
			err := s.c.PutObjectRetention(ctx, s.cfg.Bucket, s.key(key), minio.PutObjectRetentionOptions{Mode: &mode, RetainUntilDate: &target, VersionID: id})
			switch err {
			case nil:
				extended++
				until = target
			default:
				// COMPLIANCE refuses a shorter lock: one set meanwhile
				// may be longer already.
				_, have, rerr := s.retention(ctx, key, id)
				if rerr != nil || have.Before(target) {
					return first, locked, extended, fmt.Errorf("%s version %s: extend the lock to %s: %w", key, v.id, target.Format(time.RFC3339), err)
				}
				until = have
			}
		}
		locked++
		first = earliest(first, until)
	}
	return first, locked, extended, nil
}

// versionsOf is versions for several prefixes.
func (s *S3) versionsOf(ctx context.Context, prefixes ...string) (map[string][]objVersion, error) {
	all := map[string][]objVersion{}
	for _, p := range prefixes {
		vs, err := s.versions(ctx, p)
		if err != nil {
			return nil, err
		}
		for k, v := range vs {
			all[k] = v
		}
	}
	return all, nil
}

// earliest returns the earlier of two times, a zero one counting as none.
func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// parseRetention reads a GetObjectRetention answer: S3's root element is
// Retention; versitygw's (v1.8.0) is ObjectLockRetention.
func parseRetention(body []byte) (string, time.Time, error) {
	var r struct {
		XMLName         xml.Name
		Mode            string `xml:"Mode"`
		RetainUntilDate string `xml:"RetainUntilDate"`
	}
	if err := xml.Unmarshal(body, &r); err != nil {
		return "", time.Time{}, fmt.Errorf("vault: s3: retention: %w", err)
	}
	if r.XMLName.Local != "Retention" && r.XMLName.Local != "ObjectLockRetention" {
		return "", time.Time{}, fmt.Errorf("vault: s3: retention: unexpected answer <%s>", r.XMLName.Local)
	}
	until, err := time.Parse(time.RFC3339Nano, r.RetainUntilDate)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("vault: s3: retention: retain-until date %q: %w", r.RetainUntilDate, err)
	}
	return r.Mode, until.UTC(), nil
}

// objVersion is one stored version of a key (delete markers left out).
type objVersion struct {
	id   string
	time time.Time
}

// versions lists the versions of every key under prefix, oldest first.
// Where the bucket keeps versions, a delete or an overwrite by whoever holds
// the credentials only adds a delete marker or a newer version: the locked
// original is still there, and is the oldest.
func (s *S3) versions(ctx context.Context, prefix string) (map[string][]objVersion, error) {
	vs := map[string][]objVersion{}
	for o := range s.c.ListObjects(ctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true, WithVersions: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("vault: s3: list %s: %w", s.key(prefix), o.Err)
		}
		if o.IsDeleteMarker {
			continue
		}
		k := strings.TrimPrefix(o.Key, s.prefix)
		vs[k] = append(vs[k], objVersion{o.VersionID, o.LastModified})
	}
	for _, v := range vs {
		// S3 lists a key's versions newest first; the stable sort keeps
		// that order, reversed, among versions of the same second.
		slices.Reverse(v)
		sort.SliceStable(v, func(i, j int) bool { return v[i].time.Before(v[j].time) })
	}
	return vs, nil
}

// get opens one version of key.
func (s *S3) get(ctx context.Context, key string, v objVersion) (*minio.Object, error) {
	id := v.id
	if id == "null" { // the only version of an unversioned object; versitygw refuses "null"
		id = ""
	}
	return s.c.GetObject(ctx, s.cfg.Bucket, s.key(key), minio.GetObjectOptions{VersionID: id})
}

// Download fetches the S3 copy into dir, laid out as a store (with an empty
// forks/), so that a restore from S3 is OpenSnapshot(dir), Scrub and Events. It takes, for each
// manifest in the bucket, its oldest version that reads as a manifest (the
// one the vault wrote, where the bucket keeps versions), the oldest version
// of the cosigned checkpoint beside it, and the segment it names, in the
// oldest version whose SHA-256 is the segment's name, checked as it
// downloads. Files that are none of these are left in
// the bucket. Files already in dir are kept if they are the same and are an
// error if not, so an interrupted Download can be run again.
//
// What cannot be fetched or does not verify is reported in the error, after
// everything else has been downloaded: OpenStore then holds the longest
// history that verifies.
func (s *S3) Download(ctx context.Context, dir string) error {
	for _, sub := range []string{"", "segments", "manifests", "forks", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return fmt.Errorf("vault: s3: download: %w", err)
		}
	}
	mans, err := s.versions(ctx, "manifests/")
	if err != nil {
		return err
	}
	segs, err := s.versions(ctx, "segments/")
	if err != nil {
		return err
	}
	var errs []error
	fault := func(name string, err error) { errs = append(errs, fmt.Errorf("%s: %w", name, err)) }
	keys := make([]string, 0, len(mans))
	for k := range mans {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		first, ok := parseIndexName(strings.TrimPrefix(key, "manifests/"), ".json")
		if !ok {
			continue // a .cosigned file, fetched with its manifest, or a stranger
		}
		m, data, err := s.fetchManifest(ctx, key, mans[key])
		if err == nil {
			err = place(dir, key, data)
		}
		if err != nil {
			fault(key, err)
			continue
		}
		if c := cosignedFile(first); len(mans[c]) > 0 {
			data, err := s.fetchSmall(ctx, c, mans[c][0])
			if err == nil {
				err = place(dir, c, data)
			}
			if err != nil {
				fault(c, err)
			}
		}
		if err := s.fetchSegment(ctx, dir, m.Segment, segs[segmentFile(m.Segment)]); err != nil {
			fault(segmentFile(m.Segment), err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("vault: s3: download: %w", err)
		}
	}
	for _, sub := range []string{"segments", "manifests"} {
		if err := durable.SyncDir(filepath.Join(dir, sub)); err != nil {
			errs = append(errs, fmt.Errorf("%s/: sync: %w", sub, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("vault: s3: download into %s: %w", dir, errors.Join(errs...))
	}
	return nil
}

// fetchManifest returns the first of versions of a manifest that reads as
// one (Scrub checks the rest).
func (s *S3) fetchManifest(ctx context.Context, key string, versions []objVersion) (*manifest, []byte, error) {
	var last error
	for _, v := range versions {
		data, err := s.fetchSmall(ctx, key, v)
		if err != nil {
			last = err
			continue
		}
		var m manifest
		if err := json.Unmarshal(data, &m); err != nil || m.Format != manifestFormat || !isSHA256Hex(m.Segment) {
			last = fmt.Errorf("version %s is not a manifest", v.id)
			continue
		}
		return &m, data, nil
	}
	return nil, nil, last
}

func isSHA256Hex(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == sha256.Size && hex.EncodeToString(b) == s
}

// maxSmall bounds a manifest (about 70 bytes an event) or a cosigned checkpoint.
const maxSmall = 256 << 20

func (s *S3) fetchSmall(ctx context.Context, key string, v objVersion) ([]byte, error) {
	o, err := s.get(ctx, key, v)
	if err != nil {
		return nil, err
	}
	defer o.Close()
	data, err := io.ReadAll(io.LimitReader(o, maxSmall+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSmall {
		return nil, fmt.Errorf("larger than %d bytes", maxSmall)
	}
	return data, nil
}

// place writes a small downloaded file into the store directory dir.
func place(dir, name string, data []byte) error {
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if have, err := os.ReadFile(dst); err == nil {
		if !bytes.Equal(have, data) {
			return fmt.Errorf("%s already holds other bytes; download into an empty directory", dst)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Join(dir, "tmp"), "s3-")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	return finish(tmp, dst, err)
}

// fetchSegment downloads segments/<hash>.age into dir from the first of
// versions whose SHA-256 is hash.
func (s *S3) fetchSegment(ctx context.Context, dir, hash string, versions []objVersion) error {
	name := segmentFile(hash)
	dst := filepath.Join(dir, filepath.FromSlash(name))
	if sum, err := hashFile(dst); err == nil {
		if sum != hash {
			return fmt.Errorf("%s already holds other bytes; download into an empty directory", dst)
		}
		return nil
	}
	if len(versions) == 0 {
		return errors.New("not in the bucket")
	}
	var last error
	for _, v := range versions {
		tmp, err := os.CreateTemp(filepath.Join(dir, "tmp"), "s3-")
		if err != nil {
			return err
		}
		h := sha256.New()
		err = s.copyVersion(ctx, io.MultiWriter(tmp, h), name, v)
		if err == nil && hex.EncodeToString(h.Sum(nil)) != hash {
			err = fmt.Errorf("version %s: SHA-256 %x is not its name (changed?)", v.id, h.Sum(nil))
		}
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			last = err
			continue
		}
		return finish(tmp, dst, nil)
	}
	return last
}

func (s *S3) copyVersion(ctx context.Context, w io.Writer, key string, v objVersion) error {
	o, err := s.get(ctx, key, v)
	if err != nil {
		return err
	}
	defer o.Close()
	_, err = io.Copy(w, o)
	return err
}

// finish syncs a written temporary file and links it to dst, read-only,
// without replacing anything; err is the error of writing it, if any.
func finish(tmp *os.File, dst string, err error) error {
	defer os.Remove(tmp.Name())
	if err == nil {
		err = tmp.Chmod(0o400)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Link(tmp.Name(), dst)
		if errors.Is(err, fs.ErrExist) {
			err = fmt.Errorf("%s: %w; nothing is overwritten", dst, fs.ErrExist)
		}
	}
	return err
}
