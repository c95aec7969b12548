package vault

// The vault's S3 copy, kept by the vault process: a goroutine of its own (the
// copier) uploads each new segment after its append and cosignature, and
// mirrors what is missing at the start and after a failure, so that a slow or
// unreachable S3 never holds up the pulling. At the start and then every
// quarter of the retention (at most a day) it also extends the locks that
// have less than half the retention left: an object whose lock lapsed could
// be deleted by anyone with the bucket's credentials, and every object is
// needed for a restore as long as the store lives. What goes wrong shows in
// the status's s3 block and as the alerts s3-behind, s3-differs and
// s3-retention; it never changes the vault's state. Nothing in the bucket is
// ever deleted.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// How the copier paces itself. Variables so that tests can shorten them.
var (
	s3RetryFirst    = time.Second      // after a failure; doubles at each failure in a row
	s3RetryMax      = 30 * time.Second // the longest pause between tries
	s3BehindAfter   = S3Grace          // lacking events this long raises s3-behind
	s3OpenTimeout   = 15 * time.Second // one try to reach the bucket
	s3PutTimeout    = 5 * time.Minute  // one segment with its manifest
	s3MirrorTimeout = time.Hour        // the whole store (it resumes where it stopped)
	s3ExtendRetry   = time.Minute      // after a failure to extend the locks
)

// s3ExtendEvery is how often the copier looks for locks to extend: a quarter
// of the retention, so that with a margin of half of it every lock is
// extended at least once before it ends, and at least once a day.
func s3ExtendEvery(retention time.Duration) time.Duration {
	return min(max(retention/4, time.Second), 24*time.Hour)
}

// s3copy is the state of the S3 copy. The fields marked so are the copier's
// own; the others are guarded by Puller.mu.
type s3copy struct {
	cfg    S3Config
	create bool
	wake   chan struct{}

	s3         *S3       // copier: nil until the bucket was reached
	needMirror bool      // copier: list the bucket and upload what it lacks
	failures   int       // copier: failed tries in a row
	nextExtend time.Time // copier: when to look for locks to extend

	ready     uint64      // the store's events appended and cosigned: what may be copied
	marks     []readyMark // when each size above copied became ready, oldest first
	copied    uint64      // the store's first events, all in the bucket
	lastErr   string      // while copying fails
	lastErrAt time.Time
	copiedAt  time.Time
	alerts    []Alert // s3-behind, s3-differs, s3-retention

	// origins is the copy of each other node's journal's store, under
	// origins/<code>/ in the bucket; the map and each copied count are
	// guarded by Puller.mu, the rest is the copier's.
	origins map[string]*originCopy

	extendedAt  time.Time // the last run of Extend that did not fail
	oldest      time.Time // the earliest end of a lock, after it
	locked      int       // the objects it found locked
	unlocked    int       // the store's files it found in no locked version
	extendErr   string    // while extending fails
	extendErrAt time.Time
}

// originCopy is the S3 copy of the store of another node's journal.
type originCopy struct {
	s3         *S3 // the bucket, under the origin's prefix
	needMirror bool
	copied     uint64 // its store's first events, all in the bucket
}

type readyMark struct {
	size uint64
	at   time.Time
}

// openS3 reaches the bucket at the start. A bucket without Object Lock (or
// none, without S3CreateBucket) is an error: the vault does not start, since
// such a copy would protect nothing. Any other failure (S3 down, refused
// credentials) is recorded, and the copier tries again.
func (p *Puller) openS3(ctx context.Context) error {
	c := &s3copy{cfg: *p.S3, create: p.S3CreateBucket, wake: make(chan struct{}, 1), needMirror: true, origins: map[string]*originCopy{}}
	p.s3c = c
	c.ready = p.store.Size()
	if c.ready > 0 {
		c.marks = []readyMark{{c.ready, time.Now().UTC()}}
	}
	err := c.open(ctx)
	switch {
	case err == nil:
		p.Log.Info("vault: s3: copying the store to the bucket", "endpoint", c.cfg.Endpoint, "bucket", c.cfg.Bucket, "retention", formatRetention(c.cfg.Retention))
	case errors.Is(err, ErrNoObjectLock):
		return fmt.Errorf("%w (or give --s3-create-bucket for a first setup)", err)
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		p.Log.Warn("vault: s3: cannot reach the bucket; pulling goes on, and the vault tries again", "endpoint", c.cfg.Endpoint, "bucket", c.cfg.Bucket, "err", err)
		now := time.Now().UTC()
		p.mu.Lock()
		c.lastErr, c.lastErrAt = err.Error(), now
		p.mu.Unlock()
	}
	return nil
}

// open connects to the bucket, creating it if asked to.
func (c *s3copy) open(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s3OpenTimeout)
	defer cancel()
	s, err := OpenS3(ctx, c.cfg)
	if errors.Is(err, ErrNoObjectLock) && c.create && s != nil {
		err = s.EnsureBucket(ctx)
	}
	if err != nil {
		return err
	}
	c.s3 = s
	return nil
}

// s3Ready tells the copier that the store holds size events, appended and
// cosigned, and wakes it.
func (p *Puller) s3Ready(size uint64) {
	c := p.s3c
	if c == nil {
		return
	}
	p.mu.Lock()
	if size > c.ready {
		c.ready = size
		c.marks = append(c.marks, readyMark{size, time.Now().UTC()})
	}
	p.mu.Unlock()
	p.s3Wake()
}

// s3Wake wakes the copier: after each pull, so that a copy that failed is
// tried again (with Mirror) on the next pull, once its pause is over.
func (p *Puller) s3Wake() {
	if p.s3c == nil {
		return
	}
	select {
	case p.s3c.wake <- struct{}{}:
	default:
	}
}

// copyToS3 is the copier: it runs until ctx is done.
func (p *Puller) copyToS3(ctx context.Context) {
	c := p.s3c
	for ctx.Err() == nil {
		ok := p.s3Step(ctx)
		p.s3Extend(ctx)
		if ok {
			c.failures = 0
			t := time.NewTimer(time.Until(c.nextExtend))
			select {
			case <-ctx.Done():
			case <-c.wake:
			case <-t.C:
			}
			t.Stop()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		c.failures++
		// Wakes wait in the channel until the pause is over.
		sleep(ctx, min(s3RetryFirst<<min(c.failures-1, 16), s3RetryMax))
	}
}

// s3Step copies what the bucket lacks: everything (Mirror) at the start and
// after a failure, else the segments cosigned since the last step (Put). It
// reports whether the bucket then holds all it was asked to.
func (p *Puller) s3Step(ctx context.Context) bool {
	c := p.s3c
	if c.s3 == nil {
		if err := c.open(ctx); err != nil {
			p.s3Failed(ctx, fmt.Errorf("open: %w", err))
			return false
		}
		p.Log.Info("vault: s3: the bucket answers", "endpoint", c.cfg.Endpoint, "bucket", c.cfg.Bucket)
	}
	p.mu.Lock()
	ready, copied := c.ready, c.copied
	p.mu.Unlock()
	if c.needMirror {
		mctx, cancel := context.WithTimeout(ctx, s3MirrorTimeout)
		n, err := c.s3.Mirror(mctx, p.store)
		cancel()
		if err != nil {
			p.s3Failed(ctx, err)
			return false
		}
		c.needMirror = false
		copied = max(copied, ready)
		p.s3Copied(copied)
		if n > 0 {
			p.Log.Info("vault: s3: uploaded what the bucket lacked", "files", n, "events", copied)
			c.nextExtend = time.Time{} // look at their locks now, to count them
		}
	}
	for _, g := range p.store.Segments() {
		if g.First < copied {
			continue
		}
		if g.First+g.Count > ready {
			break
		}
		if g.First != copied { // cannot happen; a Mirror sorts it out
			c.needMirror = true
			p.s3Wake()
			break
		}
		pctx, cancel := context.WithTimeout(ctx, s3PutTimeout)
		err := c.s3.Put(pctx, p.store, g)
		cancel()
		if err != nil {
			c.needMirror = true
			p.s3Failed(ctx, err)
			return false
		}
		copied = g.First + g.Count
		if until, n, ok := c.s3.lockOf(g.First); ok {
			// Counted here until the next look at every lock.
			p.mu.Lock()
			c.locked, c.oldest = c.locked+n, earliest(c.oldest, until)
			p.mu.Unlock()
		}
		p.s3Copied(copied)
		p.Log.Debug("vault: s3: uploaded", "segment", g.File(), "events", copied)
	}
	for _, o := range p.originList() {
		if err := p.s3CopyOrigin(ctx, o); err != nil {
			p.s3Failed(ctx, fmt.Errorf("node %s's journal: %w", o.code, err))
			return false
		}
	}
	p.s3Succeeded()
	return true
}

// s3CopyOrigin copies what the bucket lacks of the store of another node's
// journal, under its prefix: everything it lacks at the start and after a
// failure (Mirror), else the segments stored since (Put).
func (p *Puller) s3CopyOrigin(ctx context.Context, o *originPull) error {
	c := p.s3c
	p.mu.Lock()
	oc := c.origins[o.code]
	if oc == nil {
		oc = &originCopy{s3: c.s3.Prefixed(OriginPrefix(o.code)), needMirror: true}
		c.origins[o.code] = oc
	}
	copied := oc.copied
	p.mu.Unlock()
	setCopied := func(n uint64) {
		p.mu.Lock()
		oc.copied = max(oc.copied, n)
		p.mu.Unlock()
	}
	if oc.needMirror {
		size := o.store.Size() // Mirror uploads at least the segments up to it
		mctx, cancel := context.WithTimeout(ctx, s3MirrorTimeout)
		n, err := oc.s3.Mirror(mctx, o.store)
		cancel()
		if err != nil {
			return err
		}
		oc.needMirror = false
		copied = max(copied, size)
		setCopied(copied)
		if n > 0 {
			p.Log.Info("vault: s3: uploaded what the bucket lacked", "origin", o.code, "files", n, "events", copied)
			c.nextExtend = time.Time{}
		}
	}
	for _, g := range o.store.Segments() {
		if g.First < copied {
			continue
		}
		if g.First != copied { // cannot happen; a Mirror sorts it out
			oc.needMirror = true
			return fmt.Errorf("segment %s starts at event %d, the bucket holds %d", g.File(), g.First, copied)
		}
		pctx, cancel := context.WithTimeout(ctx, s3PutTimeout)
		err := oc.s3.Put(pctx, o.store, g)
		cancel()
		if err != nil {
			oc.needMirror = true
			return err
		}
		copied = g.First + g.Count
		setCopied(copied)
		p.Log.Debug("vault: s3: uploaded", "origin", o.code, "segment", g.File(), "events", copied)
	}
	return nil
}

// s3Extend extends the locks in the bucket that end within half the
// retention, when it is time to look (see s3ExtendEvery), raising
// s3-retention when it fails and resolving it when it works again.
func (p *Puller) s3Extend(ctx context.Context) {
	c := p.s3c
	if c.s3 == nil || time.Now().Before(c.nextExtend) {
		return
	}
	ectx, cancel := context.WithTimeout(ctx, s3MirrorTimeout)
	ext, err := c.s3.Extend(ectx, p.store, c.cfg.Retention/2)
	// The other nodes' journals' stores too, under their prefixes.
	for _, o := range p.originList() {
		if err != nil {
			break
		}
		p.mu.Lock()
		oc := c.origins[o.code]
		p.mu.Unlock()
		if oc == nil {
			continue // not copied yet: the next look counts it
		}
		var oe Extension
		oe, err = oc.s3.Extend(ectx, o.store, c.cfg.Retention/2)
		ext.Objects, ext.Extended = ext.Objects+oe.Objects, ext.Extended+oe.Extended
		ext.Oldest = earliest(ext.Oldest, oe.Oldest)
		for _, u := range oe.Unlocked {
			ext.Unlocked = append(ext.Unlocked, OriginPrefix(o.code)+u)
		}
	}
	cancel()
	if ctx.Err() != nil {
		return // stopping: the next start looks at every lock
	}
	now := time.Now().UTC()
	p.mu.Lock()
	failed := c.extendErr != ""
	if err == nil {
		c.nextExtend = now.Add(s3ExtendEvery(c.cfg.Retention))
		c.extendedAt, c.oldest, c.locked, c.unlocked = now, ext.Oldest, ext.Objects, len(ext.Unlocked)
		c.extendErr, c.extendErrAt = "", time.Time{}
		p.resolveS3(AlertS3Retention)
	} else {
		c.nextExtend = now.Add(min(s3ExtendRetry, s3ExtendEvery(c.cfg.Retention)))
		c.extendErr, c.extendErrAt = err.Error(), now
		if !p.hasS3(AlertS3Retention) {
			ends := ""
			if !c.oldest.IsZero() {
				ends = fmt.Sprintf(" The earliest lock the vault knows of ends at %s.", c.oldest.Format(time.RFC3339))
			}
			p.raiseS3(Alert{Kind: AlertS3Retention, Time: now, Message: fmt.Sprintf(
				"the vault could not extend the Object Lock of the objects a restore needs in the bucket %q at %s (%v).%s Once an object's lock ends, anyone with the bucket's credentials can delete it. Check the endpoint, the network path, and that the vault's key may s3:GetObjectRetention and s3:PutObjectRetention; the vault tries again every %s",
				c.cfg.Bucket, c.cfg.Endpoint, err, ends, s3ExtendRetry)})
		}
	}
	p.mu.Unlock()
	switch {
	case err != nil && !failed:
		p.Log.Warn("vault: s3: cannot extend the locks in the bucket; the vault tries again", "bucket", c.cfg.Bucket, "err", err)
	case err == nil && failed:
		p.Log.Info("vault: s3: extending the locks works again", "objects", ext.Objects)
	}
	if ext.Extended > 0 {
		p.Log.Info("vault: s3: extended the locks that were ending", "extended", ext.Extended, "objects", ext.Objects, "oldest_until", ext.Oldest.Format(time.RFC3339))
	}
	p.write()
}

// s3Copied records that the bucket holds the store's first n events.
func (p *Puller) s3Copied(n uint64) {
	c := p.s3c
	p.mu.Lock()
	c.copied = max(c.copied, n)
	c.marks = slices.DeleteFunc(c.marks, func(m readyMark) bool { return m.size <= c.copied })
	c.copiedAt = time.Now().UTC()
	p.mu.Unlock()
	p.write()
}

// s3Succeeded clears the failure of the S3 copy, if there was one.
func (p *Puller) s3Succeeded() {
	c := p.s3c
	p.mu.Lock()
	failed := c.lastErr != ""
	c.lastErr, c.lastErrAt = "", time.Time{}
	p.resolveS3(AlertS3Differs)
	p.mu.Unlock()
	if failed {
		p.Log.Info("vault: s3: copying works again", "events", c.copied)
		p.write()
	}
}

// s3Failed records a failure of the S3 copy, raising s3-differs at once when
// the bucket holds other bytes under a name the vault writes.
func (p *Puller) s3Failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // stopping: the next start mirrors what is missing
	}
	c := p.s3c
	now := time.Now().UTC()
	p.mu.Lock()
	first := c.lastErr == ""
	c.lastErr, c.lastErrAt = err.Error(), now
	if errors.Is(err, ErrS3Differs) && !p.hasS3(AlertS3Differs) {
		p.raiseS3(Alert{Kind: AlertS3Differs, Time: now, Message: fmt.Sprintf(
			"the bucket %q at %s holds other bytes under a name the vault writes (%v): someone with the bucket's credentials planted or changed an object, or a second vault writes to the same bucket. Nothing was overwritten; the S3 copy stops at %d events until an administrator has looked at the bucket",
			c.cfg.Bucket, c.cfg.Endpoint, err, c.copied)})
	}
	p.mu.Unlock()
	if first {
		p.Log.Warn("vault: s3: cannot copy to the bucket; pulling goes on, and the vault tries again", "bucket", c.cfg.Bucket, "err", err)
	}
	p.write()
}

// checkS3Behind raises s3-behind when the bucket has lacked events for
// s3BehindAfter, and resolves it when it lacks none. The caller holds p.mu.
func (p *Puller) checkS3Behind(now time.Time) {
	c := p.s3c
	if c.copied >= c.ready || len(c.marks) == 0 {
		p.resolveS3(AlertS3Behind)
		return
	}
	since := c.marks[0].at
	if now.Sub(since) < s3BehindAfter || p.hasS3(AlertS3Behind) {
		return
	}
	why := "it is still copying"
	if c.lastErr != "" {
		why = "the last try failed: " + c.lastErr
	}
	p.raiseS3(Alert{Kind: AlertS3Behind, Time: now, Message: fmt.Sprintf(
		"the S3 copy in the bucket %q at %s holds %d of the vault's %d events, and has lacked the rest since %s; %s. The vault goes on pulling and keeps trying; check the S3 endpoint, the network path, the credentials and the bucket",
		c.cfg.Bucket, c.cfg.Endpoint, c.copied, c.ready, since.Format(time.RFC3339), why)})
}

// s3Status is the status's s3 block. The caller holds p.mu.
func (p *Puller) s3Status(now time.Time) *S3Status {
	c := p.s3c
	st := &S3Status{Endpoint: c.cfg.Endpoint, Bucket: c.cfg.Bucket, Region: c.cfg.Region,
		Retention: formatRetention(c.cfg.Retention), RetentionSeconds: int64(c.cfg.Retention / time.Second),
		EventsCopied: c.copied, LastError: c.lastErr, LastErrorAt: c.lastErrAt, CopiedAt: c.copiedAt,
		RetentionExtendedAt: c.extendedAt, OldestRetainUntil: c.oldest, ObjectsLocked: c.locked, Unlocked: c.unlocked,
		RetentionError: c.extendErr}
	if c.copied < c.ready && len(c.marks) > 0 {
		st.BehindSince = c.marks[0].at
		st.Behind = c.lastErr != "" || now.Sub(st.BehindSince) > LagLimit
	}
	return st
}

// raiseS3 adds an alert of the S3 copy and logs it. The caller holds p.mu.
func (p *Puller) raiseS3(a Alert) {
	p.s3c.alerts = append(p.s3c.alerts, a)
	p.Log.Error("vault alert", "kind", a.Kind, "message", a.Message)
}

// resolveS3 removes the S3 alerts of a kind. The caller holds p.mu.
func (p *Puller) resolveS3(kind string) {
	n := len(p.s3c.alerts)
	p.s3c.alerts = slices.DeleteFunc(p.s3c.alerts, func(a Alert) bool { return a.Kind == kind })
	if len(p.s3c.alerts) < n {
		p.Log.Info("vault: alert resolved", "kind", kind)
	}
}

// hasS3 reports whether an S3 alert of kind is active. The caller holds p.mu.
func (p *Puller) hasS3(kind string) bool {
	return slices.ContainsFunc(p.s3c.alerts, func(a Alert) bool { return a.Kind == kind })
}

// formatRetention gives a retention in days when it is whole days.
func formatRetention(d time.Duration) string {
	const day = 24 * time.Hour
	if d > 0 && d%day == 0 {
		return fmt.Sprintf("%dd", d/day)
	}
	return d.String()
}
