package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"filippo.io/age"
	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
	"kavach/replicate"
)

// How the pull loop paces itself. Variables so that tests can shorten them.
var (
	retryFirst    = time.Second      // after a failure; doubles at each failure in a row
	retryMax      = 5 * time.Second  // the longest pause between tries: a node back from a restart is pulled from again within it
	heldEvery     = 30 * time.Second // pulls while appending is stopped, only to log
	approvalEvery = time.Second      // re-reads vault.json while a key awaits approval
	reportEvery   = time.Second      // at most one cosignature report to the node per this
)

// Puller is the vault process: it pulls a node's journal into the store of a
// vault directory (see Setup for the layout), one long poll at a time, and
// accepts only an extension of the history it holds.
//
// Each answer is checked against the node's trusted origin and key before the
// store sees it, and the store checks that it extends the stored tree. What
// is refused is set aside in the store's forks/ and raised as an alert: a
// rollback of the node, a rewritten history, another origin or a retired key
// stop all appending for good (fork-detected: an operator must look); a key
// nobody approved stops it until the administrator approves the key. After
// each append the vault cosigns the checkpoint and reports it to the node.
// After each pull of the node's own journal it pulls the other nodes'
// journals the node holds, each into a store of its own (pull_origins.go).
// The vault never deletes, overwrites or truncates anything it stored, and
// listens on no port.
type Puller struct {
	Dir        string            // the vault directory, made by Setup
	Source     *replicate.Client // the node, with a read-only replication token
	Recipients []age.Recipient   // what the store encrypts to
	Wait       time.Duration     // how long one long poll waits (default 25 s, at most 60 s)
	ScrubEvery time.Duration     // how often the vault scrubs its own store; 0 never
	Log        *slog.Logger
	// S3, if set, is where the vault keeps a second copy of its store, each
	// object locked (see S3): each segment is uploaded after its append and
	// cosignature, and what the bucket lacks at the start and after a
	// failure is mirrored. Trouble with it never stops the pulling: it
	// shows in the status's s3 block and as the alerts s3-behind and
	// s3-differs. Run refuses to start only when the bucket has no Object
	// Lock (or is missing, unless S3CreateBucket).
	S3 *S3Config
	// S3CreateBucket creates a missing bucket with Object Lock
	// (EnsureBucket): for a first setup and tests.
	S3CreateBucket bool

	cfg              *Config
	store            *Store
	skey             string
	st               Status
	failures         int // failed tries in a row
	unreachableSince time.Time
	report           chan struct{} // wakes the cosignature reporter
	s3c              *s3copy       // nil without S3

	// mu guards snap, confirmed and the S3 copy's shared state, and orders
	// the writes of status.json, which the loop and the copier both make.
	mu   sync.Mutex
	snap Status // p.st as the loop last saved it
	// confirmed is the largest history the vault has confirmed to the node
	// (confirmed.json), as far as this process knows: never lowered.
	confirmed uint64
	// origins are the other nodes' journals the source holds, each in a
	// store of its own (see pull_origins.go), sorted by code; the loop
	// adds to the list, under mu.
	origins    []*originPull
	originsErr string // the last failure to pull them, logged once
}

// step is what the loop does after a batch.
type step int

const (
	stepNext     step = iota // pull again
	stepRetry                // pause (backing off), then pull again
	stepApproval             // wait for the administrator to approve a key
)

// Run runs the vault until ctx is done, then writes its last status and
// returns nil. It returns an error only when it cannot start: the directory
// is not a vault, vault.json and the store disagree, the store is open in
// another process.
func (p *Puller) Run(ctx context.Context) error {
	if p.Wait <= 0 {
		p.Wait = 25 * time.Second
	}
	if p.Log == nil {
		p.Log = slog.Default()
	}
	if len(p.Recipients) == 0 {
		return errors.New("vault: no age recipients: the vault stores events only encrypted")
	}
	cfg, err := LoadConfig(p.Dir)
	if err != nil {
		return err
	}
	p.cfg = cfg
	if p.skey, err = readCosignKey(p.Dir, cfg); err != nil {
		return err
	}
	// status.json carries the alerts that outlive the process, a fork above
	// all: without it the vault would not know it must not append.
	prev, err := ReadStatus(p.Dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; it records any fork the vault detected, so the vault does not start without a readable one: put it back, or move it aside only if you know the vault had no alert", err)
	}
	store, err := OpenStore(StoreDir(p.Dir))
	var damage *DamageError
	if err != nil && !errors.As(err, &damage) {
		if store != nil {
			store.Close()
		}
		return err
	}
	p.store = store
	defer store.Close()
	if err := p.reconcile(); err != nil {
		return err
	}

	now := time.Now().UTC()
	p.st = Status{Name: cfg.Name, Source: p.Source.URL, PID: os.Getpid(), StartedAt: now,
		CaughtUpAt: prev.CaughtUpAt, SourceEvents: prev.SourceEvents, Scrub: prev.Scrub}
	if p.st.CaughtUpAt.IsZero() && prev.CaughtUp {
		p.st.CaughtUpAt = prev.UpdatedAt
	}
	for _, a := range prev.AlertDetails {
		// The other alerts are about the moment; the next pull raises them
		// again if they still hold.
		if a.Kind == AlertForkDetected || a.Kind == AlertKeyChanged || (a.Kind == AlertDamaged && a.Cause == "scrub") {
			p.st.AlertDetails = append(p.st.AlertDetails, a)
		}
	}
	if damage != nil {
		p.raise(Alert{Kind: AlertDamaged, Cause: "open", Message: fmt.Sprintf("the store's files do not verify (%d faults, the first: %s); the vault appends nothing more. Run kavach vault scrub for the full report; the vault host may be compromised", len(damage.Faults), damage.Faults[0])})
	}
	p.checkConfirmed(prev)
	defer p.closeOrigins()
	if err := p.openOrigins(prev); err != nil {
		return err
	}
	if p.store.Size() > 0 && p.store.LastCosigned() == nil && len(p.store.Faults()) == 0 {
		p.cosign() // the process stopped between an append and its cosignature
	}
	if p.S3 != nil {
		if err := p.openS3(ctx); err != nil {
			return err
		}
	}
	p.save()
	p.Log.Info("vault: started", "dir", p.Dir, "name", cfg.Name, "source", p.Source.URL, "events", p.store.Size(), "recipients", len(p.Recipients))
	if p.held() {
		p.Log.Warn("vault: not appending: " + p.heldReason())
	}

	// Reports go out from their own goroutine, at most one a second: each is
	// a write on the node, and a busy node should not pay one per batch.
	p.report = make(chan struct{}, 1)
	rctx, stopReports := context.WithCancel(ctx)
	reporter := make(chan struct{})
	go func() { defer close(reporter); p.reportCosignatures(rctx, cfg.Name) }()
	p.reportSoon()
	copier := make(chan struct{})
	if p.s3c != nil {
		go func() { defer close(copier); p.copyToS3(rctx) }()
	} else {
		close(copier)
	}

	p.loop(ctx)

	stopReports()
	<-reporter
	<-copier
	p.st.Stopped = true
	p.save()
	p.Log.Info("vault: stopped", "events", p.store.Size())
	return nil
}

// checkConfirmed compares the store, as opened, with the largest history the
// vault confirmed to the node (confirmed.json, and status.json's count as
// the last run saved it): a store that holds less lost its newest files, or
// all of them, and is damaged. The files alone cannot show it: what is left
// is a shorter history, sound in itself.
func (p *Puller) checkConfirmed(prev Status) {
	conf, err := ReadConfirmed(p.Dir)
	var faults []string
	if err != nil {
		faults = append(faults, err.Error())
	} else if prev.ConfirmedEvents > conf.Events {
		faults = append(faults, fmt.Sprintf("%s records %d events, but status.json says the vault confirmed %d to the node (replaced by an older copy?)", confirmedFile, conf.Events, prev.ConfirmedEvents))
		conf = Confirmed{Events: prev.ConfirmedEvents, from: "status.json"}
	}
	if f := conf.Check(p.store); f != "" {
		faults = append(faults, f)
	}
	p.mu.Lock()
	p.confirmed = max(conf.Events, prev.ConfirmedEvents)
	p.mu.Unlock()
	if len(faults) == 0 {
		return
	}
	p.store.damage(faults...)
	p.raise(Alert{Kind: AlertDamaged, Cause: "confirmed", Message: strings.Join(faults, "; ") +
		"; the vault appends nothing more. The vault host may be compromised: keep it as evidence, compare with the node's record of what this vault confirmed (its status page, kavach_vault_backed_up_events), and restore from the S3 copy or another vault"})
}

// reconcile checks that vault.json trusts the key that signed the stored
// history.
func (p *Puller) reconcile() error {
	if p.store.Size() == 0 {
		return nil
	}
	if p.cfg.SourceKey == "" || p.cfg.Origin == "" {
		return fmt.Errorf("vault: the store holds %d events but vault.json trusts no node key (vault.json replaced?); put back the vault.json from your records", p.store.Size())
	}
	last := p.store.LastCheckpoint()
	cp, err := parseNote(last)
	if err != nil {
		return fmt.Errorf("vault: the store's last checkpoint: %w", err)
	}
	i := p.cfg.keyIndex(cp.signer)
	if i < 0 {
		return fmt.Errorf("vault: the store's last checkpoint is signed by %s, a key vault.json does not trust (vault.json changed?)", cp.signer)
	}
	v, _ := note.NewVerifier(p.cfg.NodeKeys()[i])
	if _, err := journal.OpenCheckpoint(last, p.cfg.Origin, v); err != nil {
		return fmt.Errorf("vault: the store's last checkpoint does not verify with vault.json's origin and key (vault.json changed?): %w", err)
	}
	return nil
}

func (p *Puller) loop(ctx context.Context) {
	for ctx.Err() == nil {
		p.maybeScrub()
		if p.held() {
			p.pullToLog(ctx)
			p.save()
			sleep(ctx, heldEvery)
			continue
		}
		// Wait only when the last answer said there was nothing more: a
		// vault that is behind, or just started, asks at once. Events of
		// other nodes' journals come in while the source's own is quiet:
		// with such journals, ask again after originEvery at most.
		wait := time.Duration(0)
		if p.st.CaughtUp && !p.originsBehind() {
			wait = p.Wait
			if len(p.originList()) > 0 {
				wait = min(wait, originEvery)
			}
		}
		b, err := p.Source.Pull(ctx, p.store.Size(), wait)
		if ctx.Err() != nil {
			return
		}
		next := stepRetry
		if err != nil {
			p.unreachable(err)
		} else {
			p.reached(b)
			next = p.take(b)
			p.reportSoon()
			if next == stepNext && !p.held() {
				// After the source's own journal, so that the vault
				// holds the events its causal markers name.
				p.pullOrigins(ctx)
			}
		}
		p.s3Wake()
		p.save()
		switch next {
		case stepNext:
			p.failures = 0
		case stepRetry:
			p.failures++
			sleep(ctx, min(retryFirst<<min(p.failures-1, 16), retryMax))
		case stepApproval:
			p.waitApproval(ctx, heldEvery)
		}
	}
}

// take checks a batch and appends it, or refuses it.
func (p *Puller) take(b *replicate.Batch) step {
	size := p.store.Size()
	if b.Size < size {
		p.fork("rollback", fmt.Sprintf("the node says it has %d synced events, the vault holds %d: the node's journal was rolled back (an old copy of its data put back?)", b.Size, size), size, nil, b.Checkpoint)
		return stepNext
	}
	if len(b.Events) == 0 {
		p.st.CaughtUp = b.Size == size
		if p.st.CaughtUp {
			p.st.CaughtUpAt = time.Now().UTC()
		}
		p.resolve(AlertInvalidAnswer)
		return stepNext
	}
	cp, err := parseNote(b.Checkpoint)
	if err != nil {
		return p.invalid(fmt.Sprintf("the checkpoint for events %d..%d: %v", b.From, b.From+uint64(len(b.Events))-1, err))
	}
	if p.cfg.Origin != "" && cp.origin != p.cfg.Origin {
		p.fork("origin-changed", fmt.Sprintf("the node's checkpoint is for the log %q, the vault holds %q", cp.origin, p.cfg.Origin), b.From, b.Events, b.Checkpoint)
		return stepNext
	}

	// Which key must have signed it: the one the vault holds the history
	// under, or one approved after it.
	var vkey string
	adopt := false
	if p.cfg.SourceKey == "" {
		// Trust on first use: the key the node names, if it made this
		// signature; pinned below once the batch verifies with it.
		if id, ok := keyID(b.Verifier); !ok || id != cp.signer {
			return p.invalid(fmt.Sprintf("the node names the key %q, but its checkpoint is signed by %s", b.Verifier, cp.signer))
		}
		vkey = b.Verifier
	} else {
		cur := 0
		if size > 0 {
			last, _ := parseNote(p.store.LastCheckpoint())
			cur = max(p.cfg.keyIndex(last.signer), 0)
		}
		i := p.cfg.keyIndex(cp.signer)
		if i < 0 || i > cur {
			p.reloadConfig()
			i = p.cfg.keyIndex(cp.signer)
		}
		switch {
		case i < 0:
			return p.keyChanged(b, cp)
		case i < cur:
			p.fork("retired-key", fmt.Sprintf("the node's checkpoint is signed by its old key %s, which the approved key %s replaced: whoever signs with the old key (an attacker who took it?) is serving this history", cp.signer, p.cfg.NodeKeys()[cur]), b.From, b.Events, b.Checkpoint)
			return stepNext
		}
		vkey, adopt = p.cfg.NodeKeys()[i], i > cur && size > 0
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return p.invalid(fmt.Sprintf("the node's key %q: %v", vkey, err))
	}
	origin := p.cfg.Origin
	if origin == "" {
		origin = cp.origin
	}
	if err := replicate.Check(b, origin, v); err != nil {
		return p.invalid(fmt.Sprintf("events %d..%d: %v", b.From, b.From+uint64(len(b.Events))-1, err))
	}
	if p.cfg.Origin == "" || p.cfg.SourceKey == "" {
		if err := p.pin(origin, vkey); err != nil {
			p.raise(Alert{Kind: AlertStoreError, Message: fmt.Sprintf("could not record the node's key in vault.json: %v", err)})
			return stepRetry
		}
	}
	if adopt {
		if err := p.store.ApproveKey(vkey); err != nil {
			return p.invalid(err.Error())
		}
	}

	g, err := p.store.Append(b.From, b.Events, b.Checkpoint, p.Recipients...)
	switch {
	case err == nil:
	case errors.Is(err, ErrGap), errors.Is(err, ErrOverlap):
		p.Log.Warn("vault: the batch does not start where the store ends; pulling again", "err", err)
		return stepRetry
	case errors.Is(err, ErrDiverged):
		p.fork("diverged", fmt.Sprintf("the node's events %d..%d do not extend the vault's history to its signed checkpoint: the node's journal was rewritten, or it is another history with the same key", b.From, b.From+uint64(len(b.Events))-1), b.From, b.Events, b.Checkpoint)
		return stepNext
	case errors.Is(err, ErrKeyChanged):
		p.fork("key-mismatch", fmt.Sprintf("the store refused the batch: %v", err), b.From, b.Events, b.Checkpoint)
		return stepNext
	case errors.Is(err, ErrDamaged):
		p.raise(Alert{Kind: AlertDamaged, Cause: "open", Message: fmt.Sprintf("%v; the vault appends nothing more. Run kavach vault scrub for the full report", err)})
		return stepNext
	case errors.Is(err, ErrInvalid):
		return p.invalid(err.Error())
	default:
		p.raise(Alert{Kind: AlertStoreError, Message: fmt.Sprintf("could not store events %d..%d: %v; check the vault host's disk", b.From, b.From+uint64(len(b.Events))-1, err)})
		return stepRetry
	}
	p.resolve(AlertStoreError)
	p.resolve(AlertInvalidAnswer)
	p.resolve(AlertKeyChanged)
	if adopt {
		p.Log.Info("vault: the node's new key, approved by the administrator, signs from here on", "key", cp.signer.String(), "from", g.First)
	}
	p.Log.Debug("vault: stored", "first", g.First, "count", g.Count, "segment", g.File())
	p.cosign()
	p.s3Ready(p.store.Size())
	p.st.CaughtUp = p.store.Size() >= b.Size
	if p.st.CaughtUp {
		p.st.CaughtUpAt = time.Now().UTC()
	}
	return stepNext
}

// pin records the node's origin and key at the first checkpoint.
func (p *Puller) pin(origin, vkey string) error {
	cfg, err := updateConfig(p.Dir, func(c *Config) error {
		switch {
		case c.SourceKey != "" && c.SourceKey != vkey:
			return fmt.Errorf("vault.json pins the key %s meanwhile", c.SourceKey)
		case c.Origin != "" && c.Origin != origin:
			return fmt.Errorf("vault.json pins the origin %q meanwhile", c.Origin)
		}
		c.Origin, c.SourceKey = origin, vkey
		return nil
	})
	if err != nil {
		return err
	}
	p.cfg = cfg
	p.Log.Info("vault: trusting the node's key of its first checkpoint; it accepts no other unless approved", "origin", origin, "key", vkey)
	return nil
}

// keyChanged holds a batch signed by a key that is not trusted: it is set
// aside once per key, and nothing is appended until the administrator
// approves the key.
func (p *Puller) keyChanged(b *replicate.Batch, cp checkpointInfo) step {
	key := cp.signer.String()
	for _, a := range p.st.AlertDetails {
		if a.Kind == AlertKeyChanged && a.Origin == "" && a.Key == key {
			return stepApproval
		}
	}
	cmd := "kavach vault approve-key --data " + p.Dir + " --key '" + b.Verifier + "'"
	if id, ok := keyID(b.Verifier); !ok || id != cp.signer {
		cmd = "kavach vault approve-key --data " + p.Dir + " --key 'THE NODE'S NEW KEY'"
	}
	msg := fmt.Sprintf("the node's checkpoint at %d events is signed by %s, a key the vault does not trust (it trusts %s). A node restored after an attack signs with a new key: ask the node's administrator, by phone or in person, for the new key, compare it, and run: %s. Until then nothing is appended",
		cp.size, key, p.cfg.current(), cmd)
	p.resolve(AlertKeyChanged) // one held key at a time: the newest
	a := Alert{Kind: AlertKeyChanged, Key: key, Message: msg}
	a.Quarantine = p.quarantine(p.store, msg, b.From, b.Events, b.Checkpoint)
	p.raise(a)
	p.st.CaughtUp = false
	return stepApproval
}

// fork sets a refused history aside and stops all appending from the node.
func (p *Puller) fork(cause, msg string, first uint64, events [][]byte, checkpoint []byte) {
	msg += "; the vault keeps its history and appends nothing more from this node until an operator has looked (see the alert's quarantine directory)"
	a := Alert{Kind: AlertForkDetected, Cause: cause, Message: msg}
	a.Quarantine = p.quarantine(p.store, msg, first, events, checkpoint)
	p.raise(a)
	p.st.CaughtUp = false
}

func (p *Puller) quarantine(store *Store, reason string, first uint64, events [][]byte, checkpoint []byte) string {
	dir, err := store.Quarantine(reason, first, events, checkpoint, p.Recipients...)
	if err != nil {
		p.Log.Error("vault: could not set the refused history aside", "err", err)
	}
	if dir == "" {
		return ""
	}
	if rel, err := filepath.Rel(p.Dir, dir); err == nil {
		return rel
	}
	return dir
}

// invalid notes an answer that does not verify: not a fork (nothing says the
// node's history changed), but nothing the vault can store either.
func (p *Puller) invalid(msg string) step {
	msg = "the node's answer does not verify: " + msg + "; the vault stores nothing of it and asks again"
	if !p.has(AlertInvalidAnswer, msg) {
		p.resolve(AlertInvalidAnswer)
		p.raise(Alert{Kind: AlertInvalidAnswer, Message: msg})
	}
	p.st.CaughtUp = false
	return stepRetry
}

func (p *Puller) reached(b *replicate.Batch) {
	now := time.Now().UTC()
	p.st.SourceReachable, p.st.LastContact, p.st.SourceEvents, p.st.LastError = true, now, b.Size, ""
	if !p.unreachableSince.IsZero() {
		p.Log.Info("vault: the node answers again", "after", now.Sub(p.unreachableSince).Round(time.Second).String())
	}
	p.unreachableSince = time.Time{}
	p.resolve(AlertSourceUnreachable)
}

func (p *Puller) unreachable(err error) {
	now := time.Now().UTC()
	p.st.SourceReachable, p.st.CaughtUp, p.st.LastError = false, false, err.Error()
	if p.unreachableSince.IsZero() {
		p.unreachableSince = now
		p.Log.Warn("vault: cannot pull from the node; retrying", "err", err)
	}
	// A refused token needs a person at once; a node that does not answer,
	// or answers with an error, may be restarting.
	refused := replicate.Refused(err)
	if (refused || now.Sub(p.unreachableSince) >= UnreachableGrace) && !p.has(AlertSourceUnreachable, "") {
		p.raise(Alert{Kind: AlertSourceUnreachable, Message: fmt.Sprintf("cannot pull from the node at %s since %s: %v; check the node, the network path and the replication token", p.Source.URL, p.unreachableSince.Format(time.RFC3339), err)})
	}
}

// pullToLog asks the node where it is while appending is stopped, to keep
// the log and the status current; it stores nothing.
func (p *Puller) pullToLog(ctx context.Context) {
	b, err := p.Source.Pull(ctx, p.store.Size(), 0)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		p.unreachable(err)
		return
	}
	p.reached(b)
	p.Log.Warn("vault: not appending: "+p.heldReason(), "node_events", b.Size, "vault_events", p.store.Size())
}

// waitApproval waits up to d for a new approved key in vault.json.
func (p *Puller) waitApproval(ctx context.Context, d time.Duration) {
	n := len(p.cfg.NodeKeys())
	for end := time.Now().Add(d); time.Now().Before(end) && ctx.Err() == nil; {
		sleep(ctx, approvalEvery)
		p.reloadConfig()
		if len(p.cfg.NodeKeys()) != n {
			return
		}
	}
}

func (p *Puller) reloadConfig() {
	cfg, err := LoadConfig(p.Dir)
	if err != nil {
		p.Log.Error("vault: cannot read vault.json", "err", err)
		return
	}
	p.cfg = cfg
}

// held reports whether appending has stopped for good: after a fork, or on a
// damaged store, which refuses to grow.
func (p *Puller) held() bool {
	return p.has(AlertForkDetected, "") || len(p.store.Faults()) > 0
}

func (p *Puller) heldReason() string {
	for _, a := range p.st.AlertDetails {
		if a.Origin == "" && (a.Kind == AlertForkDetected || (a.Kind == AlertDamaged && (a.Cause == "open" || a.Cause == "confirmed"))) {
			return a.String()
		}
	}
	return "the store is damaged"
}

func (p *Puller) cosign() {
	if _, err := p.store.Cosign(p.skey); err != nil {
		p.Log.Error("vault: cosign", "err", err)
	}
}

// reportSoon wakes the reporter, unless appending has stopped: a node that
// forked is told nothing.
func (p *Puller) reportSoon() {
	if p.held() {
		return
	}
	select {
	case p.report <- struct{}{}:
	default:
	}
}

// reportCosignatures tells the node what the vault holds, when woken, and
// records what the node accepted in confirmed.json; a failure is logged and
// tried again at the next wake, after the next pull.
func (p *Puller) reportCosignatures(ctx context.Context, name string) {
	var sent, recorded []byte
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.report:
		}
		if c := p.store.LastCosigned(); c != nil && !bytes.Equal(c, sent) {
			if err := p.Source.SendCosignature(ctx, name, c); err == nil {
				sent = c
			} else if ctx.Err() == nil {
				p.Log.Warn("vault: could not report the cosigned checkpoint to the node", "err", err)
			}
		}
		if sent != nil && !bytes.Equal(sent, recorded) && p.confirm(sent) {
			recorded = sent
		}
		sleep(ctx, reportEvery)
	}
}

// confirm raises confirmed.json to a cosigned checkpoint the node accepted.
// It reports whether the record holds it.
func (p *Puller) confirm(cosigned []byte) bool {
	cp, err := parseNote(cosigned)
	if err != nil {
		return true // the store cosigned it; cannot happen
	}
	p.mu.Lock()
	have := p.confirmed
	p.mu.Unlock()
	if cp.size <= have {
		return true // never lowered
	}
	// The file first: the count in memory, and so in status.json, is never
	// ahead of it.
	if _, err := writeConfirmed(p.Dir, p.store, cosigned, time.Now()); err != nil {
		p.Log.Error("vault: could not record what the node accepted; trying again at the next report", "err", err)
		return false
	}
	p.mu.Lock()
	p.confirmed = max(p.confirmed, cp.size)
	p.mu.Unlock()
	return true
}

func (p *Puller) maybeScrub() {
	if p.ScrubEvery <= 0 || (p.st.Scrub != nil && time.Since(p.st.Scrub.Time) < p.ScrubEvery) {
		return
	}
	v, older, err := p.cfg.Verifiers()
	if err != nil {
		p.Log.Error("vault: scrub", "err", err)
		return
	}
	start := time.Now()
	p.mu.Lock()
	least := p.confirmed
	p.mu.Unlock()
	rep := p.store.Scrub(p.cfg.Origin, v, older...)
	rep.Faults = append(rep.Faults, p.scrubOrigins()...)
	// What the vault confirmed to the node, read after the count in memory,
	// which is never ahead of the file.
	conf, err := ReadConfirmed(p.Dir)
	switch {
	case err != nil:
		rep.Faults = append(rep.Faults, err.Error())
	case conf.Events < least:
		rep.Faults = append(rep.Faults, fmt.Sprintf("%s is gone or lowered: it records %d events, but this vault confirmed %d to the node (deleted or replaced?)", confirmedFile, conf.Events, least))
	}
	if f := conf.Check(p.store); f != "" {
		rep.Faults = append(rep.Faults, f)
	}
	rep.OK = len(rep.Faults) == 0
	p.st.Scrub = &Scrubbed{Time: start.UTC(), OK: rep.OK, Events: rep.Events, Faults: rep.Faults, Seconds: time.Since(start).Seconds()}
	if rep.OK {
		p.Log.Info("vault: scrub ok", "events", rep.Events, "segments", rep.Segments, "seconds", p.st.Scrub.Seconds)
		p.st.AlertDetails = slices.DeleteFunc(p.st.AlertDetails, func(a Alert) bool { return a.Kind == AlertDamaged && a.Cause == "scrub" })
		return
	}
	msg := fmt.Sprintf("the vault's own scrub found %d faults (the first: %s): a file in the vault was changed, renamed or removed. The vault host may be compromised: keep it as evidence and see kavach vault scrub", len(rep.Faults), rep.Faults[0])
	if !p.has(AlertDamaged, msg) {
		p.st.AlertDetails = slices.DeleteFunc(p.st.AlertDetails, func(a Alert) bool { return a.Kind == AlertDamaged && a.Cause == "scrub" })
		p.raise(Alert{Kind: AlertDamaged, Cause: "scrub", Message: msg})
	}
}

// raise adds an alert, logs it and saves the status at once: a fork must be
// on disk before anything else happens.
func (p *Puller) raise(a Alert) {
	if a.Time.IsZero() {
		a.Time = time.Now().UTC()
	}
	p.st.AlertDetails = append(p.st.AlertDetails, a)
	attrs := []any{"kind", a.Kind, "message", a.Message}
	if a.Origin != "" {
		attrs = append(attrs, "origin", a.Origin)
	}
	if a.Cause != "" {
		attrs = append(attrs, "cause", a.Cause)
	}
	if a.Quarantine != "" {
		attrs = append(attrs, "quarantine", a.Quarantine)
	}
	p.Log.Error("vault alert", attrs...)
	p.save()
}

// resolve removes the alerts of a kind about the source's own journal that
// no longer hold.
func (p *Puller) resolve(kind string) {
	n := len(p.st.AlertDetails)
	p.st.AlertDetails = slices.DeleteFunc(p.st.AlertDetails, func(a Alert) bool { return a.Kind == kind && a.Origin == "" })
	if len(p.st.AlertDetails) < n {
		p.Log.Info("vault: alert resolved", "kind", kind)
	}
}

// has reports whether an alert of kind (with message msg, unless empty)
// about the source's own journal, or the vault itself, is active.
func (p *Puller) has(kind, msg string) bool {
	return slices.ContainsFunc(p.st.AlertDetails, func(a Alert) bool {
		return a.Kind == kind && a.Origin == "" && (msg == "" || a.Message == msg)
	})
}

// save writes status.json.
func (p *Puller) save() {
	now := time.Now().UTC()
	p.st.Events = p.store.Size()
	p.st.LastCheckpoint = string(p.store.LastCheckpoint())
	p.st.CosignedEvents = 0
	if c := p.store.LastCosigned(); c != nil {
		if cp, err := parseNote(c); err == nil {
			p.st.CosignedEvents = cp.size
		}
	}
	p.st.UpdatedAt = now
	p.st.Origins = p.originStatus()
	p.mu.Lock()
	p.st.ConfirmedEvents = p.confirmed
	p.snap = p.st
	p.snap.AlertDetails = slices.Clone(p.st.AlertDetails)
	p.mu.Unlock()
	p.write()
}

// write writes status.json: the loop's status as it last saved it, with the
// S3 copy's state and alerts as they are now.
func (p *Puller) write() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now().UTC()
	st := p.snap
	st.UpdatedAt = now
	if p.s3c != nil {
		p.checkS3Behind(now)
		st.S3 = p.s3Status(now)
		st.AlertDetails = append(slices.Clone(st.AlertDetails), p.s3c.alerts...)
	}
	if err := writeStatus(p.Dir, st.At(now)); err != nil {
		p.Log.Error("vault: cannot write status.json", "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
