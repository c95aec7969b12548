// Package upstream is a site node's link to its central node: the
// enrolment, and replication both ways while the central answers. Writes
// never wait for it: the site appends to its own journal first, always,
// and the link sends its events on and brings the others' in when it can.
package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"kavach"
	"kavach/internal/durable"
	"kavach/journal"
	"kavach/node"
	"kavach/replicate"
)

// enrolmentFile keeps a site's enrolment, its key included, between the
// central's answer and the node's first start, so that a start that fails
// in between does not lose the one-time token's only answer.
const enrolmentFile = "enrolment.json"

type saved struct {
	URL        string          `json:"url"`
	Key        string          `json:"key"`
	Verifier   string          `json:"verifier"`
	Enrolment  *node.Enrolment `json:"enrolment"`
	EnrolledAt time.Time       `json:"enrolled_at"`
}

// Prepare readies the empty data directory dir of a new site: it makes the
// site's signing key, enrols with the central at url with the one-time
// token, and returns how to initialise the node and what the central said.
func Prepare(ctx context.Context, dir, url, token string, hc *http.Client) (node.InitConfig, *node.Enrolment, error) {
	path := filepath.Join(dir, enrolmentFile)
	var s saved
	if b, err := os.ReadFile(path); err == nil {
		// An earlier start enrolled and stopped before the node was made.
		if err := json.Unmarshal(b, &s); err != nil {
			return node.InitConfig{}, nil, fmt.Errorf("upstream: %s: %w", path, err)
		}
	} else {
		hospital, code, err := node.ParseEnrolmentToken(token)
		if err != nil {
			return node.InitConfig{}, nil, err
		}
		skey, vkey, err := journal.GenerateKey("kavach/" + hospital + "/" + code)
		if err != nil {
			return node.InitConfig{}, nil, err
		}
		c := &replicate.Client{URL: url, HTTP: hc}
		var en node.Enrolment
		if err := c.Enrol(ctx, token, vkey, &en); err != nil {
			return node.InitConfig{}, nil, fmt.Errorf("upstream: enrolment with %s: %w", url, err)
		}
		if en.Code != code || en.HospitalCode != hospital || en.Credential == "" {
			return node.InitConfig{}, nil, fmt.Errorf("upstream: %s answered the enrolment of %s/%s as %s/%s", url, hospital, code, en.HospitalCode, en.Code)
		}
		s = saved{URL: url, Key: skey, Verifier: vkey, Enrolment: &en, EnrolledAt: time.Now().UTC()}
		b, _ := json.Marshal(s)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return node.InitConfig{}, nil, err
		}
		if err := durable.WriteFile(path, b, 0o600); err != nil {
			return node.InitConfig{}, nil, fmt.Errorf("upstream: keep the enrolment: %w", err)
		}
	}
	en := s.Enrolment
	return node.InitConfig{HospitalCode: en.HospitalCode, HospitalName: en.HospitalName, NodeCode: en.Code, Key: s.Key, Verifier: s.Verifier}, en, nil
}

// Join records, in a new site's journal, its central and the central's
// key, and forgets the saved enrolment.
func Join(ctx context.Context, n *node.Node, en *node.Enrolment, url string) error {
	if err := n.JoinUpstream(ctx, en, url); err != nil {
		return err
	}
	return os.Remove(filepath.Join(n.Dir(), enrolmentFile))
}

// Link replicates a site node with its central.
type Link struct {
	n    *node.Node
	c    *replicate.Client
	log  *slog.Logger
	wait time.Duration // a pull's long poll

	mu        sync.Mutex
	contacted bool // the central has answered since the node started
	reachable bool
	since     time.Time
	held      uint64 // own events the central holds
	heldKnown bool
	lastErr   string
}

// New returns the link of site node n to the central at url, with the
// site's sync credential.
func New(n *node.Node, url, credential string, log *slog.Logger) *Link {
	if log == nil {
		log = slog.Default()
	}
	wait := 20 * time.Second
	return &Link{n: n, log: log, wait: wait, since: time.Now(),
		c: &replicate.Client{URL: url, Token: credential, HTTP: &http.Client{Timeout: wait + 15*time.Second}}}
}

// Status says whether the central answers and what waits to be sent.
func (l *Link) Status() node.LinkStatus {
	l.mu.Lock()
	st := node.LinkStatus{URL: l.c.URL, Reachable: l.reachable, Since: l.since}
	held, known := l.held, l.heldKnown
	l.mu.Unlock()
	own := l.n.Status().Events
	if !known {
		held = 0
	}
	if own > held {
		st.Pending = own - held
		if evs, err := l.n.EventsFrom(context.Background(), held, held+1, 1); err == nil && len(evs) == 1 {
			if e, err := journal.Decode(evs[0].Data); err == nil {
				st.Oldest = e.Time
			}
		}
	}
	return st
}

func (l *Link) contact(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ok := err == nil || !errors.Is(err, replicate.ErrUnreachable)
	if ok != l.reachable {
		l.reachable, l.since = ok, time.Now()
		switch {
		case ok && !l.contacted:
			l.log.Info("upstream: linked with the central", "url", l.c.URL)
		case ok:
			l.log.Info("upstream: the central answers again", "url", l.c.URL)
		default:
			l.log.Warn("upstream: the central does not answer; working locally", "url", l.c.URL, "err", err)
		}
	}
	l.contacted = l.contacted || ok
	if err != nil && err.Error() != l.lastErr && ok {
		l.log.Warn("upstream: the central refused", "err", err)
	}
	if err != nil {
		l.lastErr = err.Error()
	} else {
		l.lastErr = ""
	}
}

func (l *Link) setHeld(h uint64) {
	l.mu.Lock()
	l.held, l.heldKnown = h, true
	l.mu.Unlock()
}

// CatchUp pulls until the central has nothing more for this node, or the
// context ends: what a new site does before it serves.
func (l *Link) CatchUp(ctx context.Context) error {
	for {
		n, err := l.pull(ctx, 0)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// Run replicates both ways until ctx ends.
func (l *Link) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.pushLoop(ctx) }()
	go func() { defer wg.Done(); l.pullLoop(ctx) }()
	wg.Wait()
}

// pause waits d, or less if ctx ends; false if it ended.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (l *Link) pullLoop(ctx context.Context) {
	for ctx.Err() == nil {
		if _, err := l.pull(ctx, l.wait); err != nil && ctx.Err() == nil {
			if !pause(ctx, time.Second) {
				return
			}
		}
	}
}

// pull asks the central for what this node does not hold and takes it in;
// it returns how many events it stored.
func (l *Link) pull(ctx context.Context, wait time.Duration) (int, error) {
	have, err := l.n.Origins(ctx)
	if err != nil {
		return 0, err
	}
	self := l.n.Info().NodeCode
	mine := have[self]
	delete(have, self)
	f, err := l.c.Feed(ctx, have, mine, wait)
	if ctx.Err() != nil {
		return 0, ctx.Err() // stopping: not the central's doing
	}
	l.contact(err)
	if err != nil {
		return 0, err
	}
	l.setHeld(f.Held)
	stored := 0
	var refused error
	for _, run := range f.Runs {
		b := &node.ReplicaBatch{Origin: run.Origin, From: run.From, Checkpoint: []byte(run.Checkpoint)}
		for _, e := range run.Events {
			b.Events = append(b.Events, e.Data)
		}
		res, err := l.n.Receive(ctx, b)
		if err != nil {
			// The node journaled an alert if a person must look.
			l.log.Warn("upstream: a run was refused", "origin", run.Origin, "from", run.From, "events", len(run.Events), "err", err)
			refused = err
			continue
		}
		stored += res.Stored
	}
	if refused != nil {
		return stored, refused
	}
	return stored, nil
}

func (l *Link) pushLoop(ctx context.Context) {
	for ctx.Err() == nil {
		changed := l.n.Changed()
		sent, err := l.push(ctx)
		if err != nil {
			if !pause(ctx, time.Second) {
				return
			}
			continue
		}
		if sent {
			continue
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-changed:
		case <-t.C:
		}
		t.Stop()
	}
}

// maxPushEvents bounds one push.
const maxPushEvents = 5000

// push sends the own events the central does not hold; sent is false when
// there were none.
func (l *Link) push(ctx context.Context) (sent bool, err error) {
	l.mu.Lock()
	held, known := l.held, l.heldKnown
	l.mu.Unlock()
	own := l.n.Status().Events
	if known && own <= held {
		return false, nil
	}
	run := &replicate.Run{Origin: l.n.Info().NodeCode, From: held, Events: []replicate.RawEvent{}}
	if known {
		evs, err := l.n.EventsFrom(ctx, held, own, maxPushEvents)
		if err != nil {
			return false, err
		}
		for _, e := range evs {
			run.Events = append(run.Events, replicate.RawEvent{Index: e.Index, Data: e.Data})
		}
		if len(evs) > 0 {
			cp, err := l.n.CheckpointAt(ctx, held+uint64(len(evs)))
			if err != nil {
				return false, err
			}
			run.Checkpoint = string(cp)
		}
	}
	res, err := l.c.Push(ctx, run)
	if ctx.Err() != nil {
		return false, ctx.Err() // stopping: not the central's doing
	}
	l.contact(err)
	var se *replicate.StatusError
	if errors.As(err, &se) && se.Code == http.StatusConflict && strings.Contains(se.Body, `"held"`) {
		l.setHeld(res.Held) // the central holds another number: push from there
		return true, nil
	}
	if err != nil {
		return false, err
	}
	l.setHeld(res.Held)
	return len(run.Events) > 0, nil
}

// ErrNotSite is returned for a node without a central.
var ErrNotSite = &kavach.Error{Code: kavach.EINVALID, Message: "This node is not a site: it has no central (a site is made from an empty directory with --upstream and --enroll-token)."}
