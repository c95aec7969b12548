package vault

// Other nodes' journals. A central node holds every site's journal
// verbatim, each signed by its own node (a site holds the central's and the
// other sites'). The vault pulls each of them from its source into a store
// of its own, origins/<code>/store, with the checks it makes of the
// source's own journal: the origin's signed checkpoint over exactly each
// batch's end, under a key the vault trusts for that origin; events that
// are the origin's own, in order; a Merkle tree that every batch must
// extend. What is refused is set aside in that store's forks/ and raised as
// an alert naming the origin; a fork stops appending to that origin's store
// only, and a key nobody approved holds that origin only, until the
// administrator approves it (kavach vault approve-key --origin). The vault
// cosigns only the source's own journal: a cosignature tells the source
// what the vault holds of its journal.
//
// The origins are pulled after each pull of the source's own journal, so
// that the vault holds whatever events of other nodes the own journal's
// causal markers (node.synced) name: a restore then applies every event it
// has in causal order.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"kavach/journal"
	"kavach/replicate"
)

var (
	// originEvery is the longest the long poll of the source's own journal
	// waits while the source holds other nodes' journals: their events come
	// in while the source's own journal is quiet, and are pulled after it.
	originEvery = time.Second
	// originRounds bounds the pulls of one origin between two pulls of the
	// source's own journal.
	originRounds = 10
)

// originPull is the vault's copy of another node's journal.
type originPull struct {
	code  string
	store *Store

	// Kept by the loop.
	sourceEvents uint64 // what the source held of it at its last answer
	caughtUp     bool
	caughtUpAt   time.Time
	failed       bool // the last pull failed or did not verify: asked again after the next pull of the source's own journal, not at once
	// While a key-changed alert holds it: the keys trusted when it was
	// last pulled, and when. It is pulled again once the administrator
	// approves a key, or after heldEvery, to keep the log current.
	heldKeys int
	heldAt   time.Time
}

// openOrigins opens the store of every other node's journal the vault holds
// or trusts a key of, at the start.
func (p *Puller) openOrigins(prev Status) error {
	codes, err := OriginCodes(p.Dir)
	if err != nil {
		return fmt.Errorf("vault: %w", err)
	}
	for code := range p.cfg.Origins {
		if !slices.Contains(codes, code) {
			codes = append(codes, code)
		}
	}
	slices.Sort(codes)
	for _, code := range codes {
		if !isNodeCode(code) {
			continue
		}
		o, err := p.openOrigin(code)
		if err != nil {
			return err
		}
		if ps, ok := prev.Origins[code]; ok {
			o.sourceEvents, o.caughtUpAt = ps.SourceEvents, ps.CaughtUpAt
			if o.caughtUpAt.IsZero() && ps.CaughtUp {
				o.caughtUpAt = prev.UpdatedAt
			}
		}
	}
	return nil
}

// openOrigin opens (or makes) the store of node code's journal and adds it
// to the vault's origins. It returns an error only when vault.json does not
// trust the key the stored history is signed by.
func (p *Puller) openOrigin(code string) (*originPull, error) {
	store, err := OpenStore(OriginStoreDir(p.Dir, code))
	var damage *DamageError
	if err != nil && !errors.As(err, &damage) {
		if store != nil {
			store.Close()
		}
		return nil, err
	}
	o := &originPull{code: code, store: store}
	if err := p.reconcileOrigin(o); err != nil {
		store.Close()
		return nil, err
	}
	p.mu.Lock()
	p.origins = append(p.origins, o)
	slices.SortFunc(p.origins, func(a, b *originPull) int { return strings.Compare(a.code, b.code) })
	p.mu.Unlock()
	if damage != nil {
		p.raise(Alert{Kind: AlertDamaged, Cause: "open", Origin: code, Message: fmt.Sprintf("the store of node %s's journal does not verify (%d faults, the first: %s); the vault appends nothing more to it. Run kavach vault scrub for the full report; the vault host may be compromised", code, len(damage.Faults), damage.Faults[0])})
	}
	return o, nil
}

// reconcileOrigin checks that vault.json trusts the key that signed the
// stored history of an origin.
func (p *Puller) reconcileOrigin(o *originPull) error {
	if o.store.Size() == 0 {
		return nil
	}
	t := p.cfg.Origins[o.code]
	keys := t.Keys()
	if len(keys) == 0 {
		return fmt.Errorf("vault: origins/%s/store holds %d events of node %s's journal but vault.json trusts no key of it (vault.json replaced?); put back the vault.json from your records", o.code, o.store.Size(), o.code)
	}
	last := o.store.LastCheckpoint()
	cp, err := parseNote(last)
	if err != nil {
		return fmt.Errorf("vault: origins/%s/store's last checkpoint: %w", o.code, err)
	}
	i := keyIndex(keys, cp.signer)
	if i < 0 {
		return fmt.Errorf("vault: origins/%s/store's last checkpoint is signed by %s, a key vault.json does not trust for node %s (vault.json changed?)", o.code, cp.signer, o.code)
	}
	v, _ := note.NewVerifier(keys[i])
	if _, err := journal.OpenCheckpoint(last, t.Origin, v); err != nil {
		return fmt.Errorf("vault: origins/%s/store's last checkpoint does not verify with vault.json's origin and key for node %s (vault.json changed?): %w", o.code, o.code, err)
	}
	return nil
}

func (p *Puller) closeOrigins() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, o := range p.origins {
		o.store.Close()
	}
}

// originList returns the vault's origins, for the copier and the status.
func (p *Puller) originList() []*originPull {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.origins)
}

func (p *Puller) origin(code string) *originPull {
	for _, o := range p.originList() {
		if o.code == code {
			return o
		}
	}
	return nil
}

// originsBehind reports whether the vault lacks events of another node's
// journal that the source held at its last answer.
func (p *Puller) originsBehind() bool {
	for _, o := range p.originList() {
		if !o.caughtUp && !o.failed && !p.originHeld(o) && !p.hasOrigin(o.code, AlertKeyChanged, "") {
			return true
		}
	}
	return false
}

// pullOrigins asks the source which other nodes' journals it holds and
// pulls what the vault lacks of each.
func (p *Puller) pullOrigins(ctx context.Context) {
	list, err := p.Source.Origins(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil {
		p.originsFailed(fmt.Errorf("list the other nodes' journals: %w", err))
		return
	}
	self := list.Node
	if self == "" {
		self = p.cfg.Origin[strings.LastIndex(p.cfg.Origin, "/")+1:]
	}
	failed := false
	for _, lo := range list.Origins {
		if !isNodeCode(lo.Origin) || lo.Origin == self {
			p.originsFailed(fmt.Errorf("the source lists %q among the other nodes' journals it holds: not another node's code", lo.Origin))
			failed = true
			continue
		}
		o := p.origin(lo.Origin)
		if o == nil {
			if o, err = p.openOrigin(lo.Origin); err != nil {
				p.originsFailed(err)
				failed = true
				continue
			}
			p.Log.Info("vault: pulling another node's journal that the source holds", "origin", lo.Origin, "log", lo.Log, "events", lo.Size)
		}
		if err := p.pullOrigin(ctx, o, lo); err != nil {
			p.originsFailed(fmt.Errorf("node %s's journal: %w", o.code, err))
			failed = true
		}
		if ctx.Err() != nil {
			return
		}
	}
	if !failed && p.originsErr != "" {
		p.Log.Info("vault: pulling the other nodes' journals works again")
		p.originsErr = ""
	}
}

// originsFailed logs a failure to pull the other nodes' journals, once
// until it changes. The source's own pull raises source-unreachable when
// the source does not answer; the status shows each journal's lag.
func (p *Puller) originsFailed(err error) {
	if err.Error() != p.originsErr {
		p.Log.Warn("vault: cannot pull another node's journal from the source; trying again after the next pull", "err", err)
		p.originsErr = err.Error()
	}
}

// pullOrigin pulls what the vault lacks of one origin's journal, as the
// source listed it.
func (p *Puller) pullOrigin(ctx context.Context, o *originPull, lo replicate.Origin) error {
	o.sourceEvents = lo.Size
	if p.originHeld(o) {
		return nil
	}
	if p.hasOrigin(o.code, AlertKeyChanged, "") {
		p.reloadConfig()
		if len(p.cfg.OriginKeys(o.code)) == o.heldKeys && time.Since(o.heldAt) < heldEvery {
			return nil
		}
	}
	if lo.Size == o.store.Size() {
		p.originCaughtUp(o, true)
		return nil
	}
	for range originRounds {
		b, err := p.Source.PullOrigin(ctx, o.code, o.store.Size(), 0)
		if ctx.Err() != nil {
			return nil
		}
		o.failed = err != nil
		if err != nil {
			return err
		}
		next := p.takeOrigin(o, lo, b)
		o.failed = next == stepRetry
		if next != stepNext || len(b.Events) == 0 || o.caughtUp || p.originHeld(o) {
			return nil
		}
	}
	return nil
}

func (p *Puller) originCaughtUp(o *originPull, ok bool) {
	o.caughtUp = ok
	if ok {
		o.caughtUpAt = time.Now().UTC()
	}
}

// takeOrigin checks a batch of another node's journal and appends it to
// that journal's store, or refuses it.
func (p *Puller) takeOrigin(o *originPull, lo replicate.Origin, b *replicate.Batch) step {
	size := o.store.Size()
	if len(b.Events) == 0 {
		o.sourceEvents = b.Size
		if b.Size < size {
			p.forkOrigin(o, "rollback", fmt.Sprintf("the source says it holds %d events of it, the vault holds %d: the source's copy was rolled back (an old copy of the source's data put back?)", b.Size, size), size, nil, b.Checkpoint)
			return stepNext
		}
		p.originCaughtUp(o, b.Size == size)
		p.resolveOrigin(o.code, AlertInvalidAnswer)
		return stepNext
	}
	last := b.From + uint64(len(b.Events)) - 1
	cp, err := parseNote(b.Checkpoint)
	if err != nil {
		return p.invalidOrigin(o, fmt.Sprintf("the checkpoint for events %d..%d: %v", b.From, last, err))
	}
	t := p.cfg.Origins[o.code]
	log := originLog(p.cfg.Origin, o.code)
	if t != nil && t.Origin != "" {
		log = t.Origin
	}
	switch {
	case t != nil && t.Origin != "" && cp.origin != t.Origin:
		p.forkOrigin(o, "origin-changed", fmt.Sprintf("its checkpoint is for the log %q, the vault holds %q", cp.origin, t.Origin), b.From, b.Events, b.Checkpoint)
		return stepNext
	case log == "" || cp.origin != log:
		return p.invalidOrigin(o, fmt.Sprintf("its checkpoint is for the log %q, not node %s's of this hospital (%q)", cp.origin, o.code, log))
	}

	// Which key must have signed it: the one the vault holds the history
	// under, or one approved after it; the one the source names at first
	// sight.
	keys := t.Keys()
	var vkey string
	adopt := false
	if len(keys) == 0 {
		if id, ok := keyID(b.Verifier); !ok || id != cp.signer {
			return p.keyChangedOrigin(o, b, cp)
		}
		vkey = b.Verifier
	} else {
		cur := 0
		if size > 0 {
			last, _ := parseNote(o.store.LastCheckpoint())
			cur = max(keyIndex(keys, last.signer), 0)
		}
		i := keyIndex(keys, cp.signer)
		if i < 0 || i > cur {
			p.reloadConfig()
			keys = p.cfg.OriginKeys(o.code)
			i = keyIndex(keys, cp.signer)
		}
		switch {
		case i < 0:
			return p.keyChangedOrigin(o, b, cp)
		case i < cur:
			p.forkOrigin(o, "retired-key", fmt.Sprintf("its checkpoint is signed by the old key %s, which the approved key %s replaced: whoever signs with the old key (an attacker who took it?) made this history", cp.signer, keys[cur]), b.From, b.Events, b.Checkpoint)
			return stepNext
		}
		vkey, adopt = keys[i], i > cur && size > 0
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return p.invalidOrigin(o, fmt.Sprintf("the key %q: %v", vkey, err))
	}
	if err := replicate.Check(b, log, v); err != nil {
		return p.invalidOrigin(o, fmt.Sprintf("events %d..%d: %v", b.From, last, err))
	}
	for i, data := range b.Events {
		e, _ := journal.Decode(data) // replicate.Check decoded it
		if idx := b.From + uint64(i); e.Origin != o.code || e.Seq != idx+1 {
			return p.invalidOrigin(o, fmt.Sprintf("event %d says it is event %d of %s's journal", idx, e.Seq, e.Origin))
		}
	}
	if len(t.Keys()) == 0 {
		if err := p.pinOrigin(o.code, log, vkey); err != nil {
			p.raise(Alert{Kind: AlertStoreError, Origin: o.code, Message: fmt.Sprintf("could not record node %s's key in vault.json: %v", o.code, err)})
			return stepRetry
		}
	}
	if adopt {
		if err := o.store.ApproveKey(vkey); err != nil {
			return p.invalidOrigin(o, err.Error())
		}
	}

	g, err := o.store.Append(b.From, b.Events, b.Checkpoint, p.Recipients...)
	switch {
	case err == nil:
	case errors.Is(err, ErrGap), errors.Is(err, ErrOverlap):
		p.Log.Warn("vault: the batch of another node's journal does not start where its store ends; pulling again", "origin", o.code, "err", err)
		return stepRetry
	case errors.Is(err, ErrDiverged):
		p.forkOrigin(o, "diverged", fmt.Sprintf("its events %d..%d do not extend the vault's copy to the node's signed checkpoint: its journal was rewritten, or this is another history with the same key", b.From, last), b.From, b.Events, b.Checkpoint)
		return stepNext
	case errors.Is(err, ErrKeyChanged):
		p.forkOrigin(o, "key-mismatch", fmt.Sprintf("its store refused the batch: %v", err), b.From, b.Events, b.Checkpoint)
		return stepNext
	case errors.Is(err, ErrDamaged):
		p.raise(Alert{Kind: AlertDamaged, Cause: "open", Origin: o.code, Message: fmt.Sprintf("%v; the vault appends nothing more to node %s's journal. Run kavach vault scrub for the full report", err, o.code)})
		return stepNext
	case errors.Is(err, ErrInvalid):
		return p.invalidOrigin(o, err.Error())
	default:
		p.raise(Alert{Kind: AlertStoreError, Origin: o.code, Message: fmt.Sprintf("could not store events %d..%d of node %s's journal: %v; check the vault host's disk", b.From, last, o.code, err)})
		return stepRetry
	}
	p.resolveOrigin(o.code, AlertStoreError)
	p.resolveOrigin(o.code, AlertInvalidAnswer)
	p.resolveOrigin(o.code, AlertKeyChanged)
	o.heldKeys, o.heldAt = 0, time.Time{}
	if adopt {
		p.Log.Info("vault: another node's new key, approved by the administrator, signs from here on", "origin", o.code, "key", cp.signer.String(), "from", g.First)
	}
	p.Log.Debug("vault: stored", "origin", o.code, "first", g.First, "count", g.Count, "segment", g.File())
	p.s3Wake()
	o.sourceEvents = max(o.sourceEvents, b.Size)
	p.originCaughtUp(o, o.store.Size() >= max(b.Size, lo.Size))
	return stepNext
}

// pinOrigin records an origin's log and key at the first checkpoint of it
// the vault sees, as the source named it: the source verified that journal
// against the keys it trusts.
func (p *Puller) pinOrigin(code, log, vkey string) error {
	cfg, err := updateConfig(p.Dir, func(c *Config) error {
		if t := c.Origins[code]; t != nil && t.Key != "" {
			if t.Key != vkey || t.Origin != log {
				return fmt.Errorf("vault.json trusts the key %s for node %s meanwhile", t.Key, code)
			}
			return nil
		}
		if c.Origins == nil {
			c.Origins = map[string]*OriginTrust{}
		}
		c.Origins[code] = &OriginTrust{Origin: log, Key: vkey}
		return nil
	})
	if err != nil {
		return err
	}
	p.cfg = cfg
	p.Log.Info("vault: trusting the key the source names for another node's journal; it accepts no other unless approved", "origin", code, "log", log, "key", vkey)
	return nil
}

// keyChangedOrigin holds an origin's batch signed by a key the vault does
// not trust for it: it is set aside once per key, and nothing more of that
// journal is appended until the administrator approves the key.
func (p *Puller) keyChangedOrigin(o *originPull, b *replicate.Batch, cp checkpointInfo) step {
	o.caughtUp = false
	o.heldKeys, o.heldAt = len(p.cfg.OriginKeys(o.code)), time.Now()
	key := cp.signer.String()
	for _, a := range p.st.AlertDetails {
		if a.Kind == AlertKeyChanged && a.Origin == o.code && a.Key == key {
			return stepApproval
		}
	}
	// The full key: the one the source names, or the one the journal
	// itself names where it changed to it (node.key_added).
	full := ""
	if id, ok := keyID(b.Verifier); ok && id == cp.signer {
		full = b.Verifier
	} else {
		full = keyNamed(b.Events, cp.signer)
	}
	cmd := "kavach vault approve-key --data " + p.Dir + " --origin " + o.code + " --key '" + full + "'"
	if full == "" {
		cmd = "kavach vault approve-key --data " + p.Dir + " --origin " + o.code + " --key 'NODE " + o.code + "'S NEW KEY'"
	}
	trusts := "none yet"
	if keys := p.cfg.OriginKeys(o.code); len(keys) > 0 {
		trusts = keys[len(keys)-1]
	}
	msg := fmt.Sprintf("node %s's journal, as the source holds it: its checkpoint at %d events is signed by %s, a key the vault does not trust for it (it trusts %s). A node restored after an attack signs with a new key: ask node %s's administrator, by phone or in person, for its new key (its status shows it as \"verifier\"), compare it, and run: %s. Until then nothing more of node %s's journal is stored; the source's own journal and the other nodes' go on",
		o.code, cp.size, key, trusts, o.code, cmd, o.code)
	p.resolveOrigin(o.code, AlertKeyChanged) // one held key at a time: the newest
	a := Alert{Kind: AlertKeyChanged, Key: key, Message: msg, Origin: o.code}
	a.Quarantine = p.quarantine(o.store, msg, b.From, b.Events, b.Checkpoint)
	p.raise(a)
	return stepApproval
}

// keyNamed returns the key a node.key_added event among events names, whose
// signatures signer's are, or "".
func keyNamed(events [][]byte, signer sigID) string {
	for _, data := range events {
		e, err := journal.Decode(data)
		if err != nil || e.Type != "node.key_added" {
			continue
		}
		var k struct {
			Verifier string `json:"verifier"`
		}
		if json.Unmarshal(e.Payload, &k) == nil {
			if id, ok := keyID(k.Verifier); ok && id == signer {
				return k.Verifier
			}
		}
	}
	return ""
}

// forkOrigin sets a refused history of an origin aside and stops appending
// to that origin's store.
func (p *Puller) forkOrigin(o *originPull, cause, msg string, first uint64, events [][]byte, checkpoint []byte) {
	msg = "node " + o.code + "'s journal, as the source holds it: " + msg + "; the vault keeps its copy and appends nothing more to it until an operator has looked (see the alert's quarantine directory); the source's own journal and the other nodes' go on"
	a := Alert{Kind: AlertForkDetected, Cause: cause, Message: msg, Origin: o.code}
	a.Quarantine = p.quarantine(o.store, msg, first, events, checkpoint)
	p.raise(a)
	o.caughtUp = false
}

// invalidOrigin notes an answer about an origin that does not verify.
func (p *Puller) invalidOrigin(o *originPull, msg string) step {
	msg = "node " + o.code + "'s journal, as the source holds it, does not verify: " + msg + "; the vault stores nothing of it and asks again"
	if !p.hasOrigin(o.code, AlertInvalidAnswer, msg) {
		p.resolveOrigin(o.code, AlertInvalidAnswer)
		p.raise(Alert{Kind: AlertInvalidAnswer, Message: msg, Origin: o.code})
	}
	o.caughtUp = false
	return stepRetry
}

// originHeld reports whether appending to an origin's store has stopped
// for good: after a fork of it, or on its damaged store.
func (p *Puller) originHeld(o *originPull) bool {
	return p.hasOrigin(o.code, AlertForkDetected, "") || len(o.store.Faults()) > 0
}

// hasOrigin is has for the alerts about node code's journal.
func (p *Puller) hasOrigin(code, kind, msg string) bool {
	return slices.ContainsFunc(p.st.AlertDetails, func(a Alert) bool {
		return a.Origin == code && a.Kind == kind && (msg == "" || a.Message == msg)
	})
}

// resolveOrigin is resolve for the alerts about node code's journal.
func (p *Puller) resolveOrigin(code, kind string) {
	n := len(p.st.AlertDetails)
	p.st.AlertDetails = slices.DeleteFunc(p.st.AlertDetails, func(a Alert) bool { return a.Origin == code && a.Kind == kind })
	if len(p.st.AlertDetails) < n {
		p.Log.Info("vault: alert resolved", "kind", kind, "origin", code)
	}
}

// originStatus is the status of each origin's copy, for status.json.
func (p *Puller) originStatus() map[string]OriginStatus {
	os := p.originList()
	if len(os) == 0 {
		return nil
	}
	out := make(map[string]OriginStatus, len(os))
	for _, o := range os {
		st := OriginStatus{Events: o.store.Size(), SourceEvents: o.sourceEvents, LastCheckpoint: string(o.store.LastCheckpoint()),
			CaughtUp: o.caughtUp, CaughtUpAt: o.caughtUpAt}
		if t := p.cfg.Origins[o.code]; t != nil {
			st.Log = t.Origin
			if keys := t.Keys(); len(keys) > 0 {
				st.Key = keys[len(keys)-1]
			}
		}
		if p.s3c != nil {
			p.mu.Lock()
			if oc := p.s3c.origins[o.code]; oc != nil {
				st.S3EventsCopied = oc.copied
			}
			p.mu.Unlock()
		}
		out[o.code] = st
	}
	return out
}

// scrubOrigins scrubs the store of every origin's journal, naming the store
// in each fault.
func (p *Puller) scrubOrigins() []string {
	var faults []string
	for _, o := range p.originList() {
		v, older, err := p.cfg.OriginVerifiers(o.code)
		if err != nil {
			faults = append(faults, err.Error())
			continue
		}
		rep := o.store.Scrub(p.cfg.Origins[o.code].log(), v, older...)
		for _, f := range rep.Faults {
			faults = append(faults, "origins/"+o.code+"/store: "+f)
		}
	}
	return faults
}

// log is the origin line of an origin's journal, "" if the vault has not
// seen one.
func (o *OriginTrust) log() string {
	if o == nil {
		return ""
	}
	return o.Origin
}
