package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kavach"
	"kavach/node"
	"kavach/replicate"
)

// Site nodes replicate with the central through three endpoints: a site
// enrols once with its one-time token (public: the token is the
// credential), then pulls every other node's journal (feed) and offers its
// own (push) with the sync credential it was given. The receiving node
// checks every run against its origin's signed checkpoint (node.Receive).

// maxPush bounds a push's body: a site sends at most maxPull events a run.
const maxPush = 64 << 20

// siteSeen is what the central knows of a site from its requests.
type siteSeen struct {
	lastSeen time.Time
	own      uint64 // the site's own journal size, as it last said
	inflight int    // its requests being answered (a long poll)
}

// siteSeenFor is how long after its last request a site counts as reachable.
const siteSeenFor = 10 * time.Second

// begin and end bracket a site's request.
func (t *siteTracker) begin(code string) {
	t.seen(code, 0, false)
	t.mu.Lock()
	t.sites[code].inflight++
	t.mu.Unlock()
}

func (t *siteTracker) end(code string) {
	t.mu.Lock()
	t.sites[code].inflight--
	t.sites[code].lastSeen = time.Now()
	t.mu.Unlock()
}

type siteTracker struct {
	mu    sync.Mutex
	sites map[string]*siteSeen
}

func (t *siteTracker) seen(code string, own uint64, ownKnown bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sites == nil {
		t.sites = map[string]*siteSeen{}
	}
	s := t.sites[code]
	if s == nil {
		s = &siteSeen{}
		t.sites[code] = s
	}
	s.lastSeen = time.Now()
	if ownKnown && own > s.own {
		s.own = own
	}
}

func (t *siteTracker) get(code string) siteSeen {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.sites[code]; s != nil {
		return *s
	}
	return siteSeen{}
}

// site wraps an endpoint for site nodes: the bearer token must be a site's
// sync credential; h gets the site's code.
func (s *Server) site(h func(w http.ResponseWriter, r *http.Request, code string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		code, err := s.n.SiteOf(r.Context(), bearer(r))
		if err != nil {
			apiError(s, w, r, kavach.Errorf(kavach.EUNAUTHORIZED, "A site node's sync credential is required (a site gets one when it enrols)."))
			return
		}
		s.sites.begin(code)
		defer s.sites.end(code)
		h(w, r, code)
	}
}

// apiEnrol answers POST /api/v1/sites/enroll {"token","verifier"}.
func (s *Server) apiEnrol(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Token    string `json:"token"`
		Verifier string `json:"verifier"`
	}
	if err := Decode(r, &in); err != nil {
		apiError(s, w, r, err)
		return
	}
	en, err := s.n.Enrol(r.Context(), strings.TrimSpace(in.Token), in.Verifier, s.client(r))
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	s.log.Info("site enrolled", "site", en.Code, "from", s.client(r))
	WriteJSON(w, http.StatusOK, en)
}

// parseHave reads "KA:10,KB:0".
func parseHave(v string) (map[string]uint64, error) {
	have := map[string]uint64{}
	if v == "" {
		return have, nil
	}
	for _, part := range strings.Split(v, ",") {
		o, n, ok := strings.Cut(part, ":")
		size, err := strconv.ParseUint(n, 10, 64)
		if !ok || err != nil || len(o) != 2 || len(have) > 1000 {
			return nil, &kavach.Error{Code: kavach.EINVALID, Message: "Bad have.", Fields: map[string]string{"have": "must be CODE:N,CODE:N"}}
		}
		have[o] = size
	}
	return have, nil
}

// apiFeed answers GET /api/v1/replicate/feed?have=KA:10,KC:0&mine=N&wait=S:
// for each origin this node holds more of than have says (all but the
// asking site's own), a run with its origin's checkpoint; with wait, it
// holds the request until there is one. held is how many of the site's own
// events this node holds, so that the site knows where to push from.
func (s *Server) apiFeed(w http.ResponseWriter, r *http.Request, site string) {
	q := r.URL.Query()
	have, err := parseHave(q.Get("have"))
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	if mine, err := strconv.ParseUint(q.Get("mine"), 10, 64); err == nil {
		s.sites.seen(site, mine, true)
	}
	wait := time.Duration(0)
	if ws := q.Get("wait"); ws != "" {
		secs, err := strconv.ParseFloat(ws, 64)
		if err != nil || secs < 0 || secs > 60 {
			apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "Bad wait.", Fields: map[string]string{"wait": "must be 0 to 60 seconds"}})
			return
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := s.n.Changed()
		held, err := s.feedable(r, site)
		if err != nil {
			apiError(s, w, r, err)
			return
		}
		more := false
		for o, n := range held {
			if n > have[o] {
				more = true
			}
		}
		if more || wait == 0 {
			break
		}
		select {
		case <-changed:
		case <-deadline.C:
			wait = 0
		case <-s.closing:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
	held, err := s.feedable(r, site)
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	origins, err := s.n.Origins(r.Context())
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	out := replicate.Feed{Node: s.n.Info().NodeCode, Held: origins[site], Runs: []replicate.Run{}}
	// The central's own journal first: it tells a site of the other sites.
	codes := make([]string, 0, len(held))
	for o := range held {
		codes = append(codes, o)
	}
	sort.Slice(codes, func(i, j int) bool {
		if (codes[i] == out.Node) != (codes[j] == out.Node) {
			return codes[i] == out.Node
		}
		return codes[i] < codes[j]
	})
	budget := maxPull
	for _, o := range codes {
		from := have[o]
		if held[o] <= from || budget <= 0 {
			continue
		}
		run := replicate.Run{Origin: o, From: from}
		var evs []node.RawEvent
		var cp []byte
		if o == out.Node {
			evs, err = s.n.EventsFrom(r.Context(), from, held[o], budget)
			if err == nil && len(evs) > 0 {
				cp, err = s.n.CheckpointAt(r.Context(), from+uint64(len(evs)))
			}
		} else {
			evs, cp, err = s.n.ReplicaRun(r.Context(), o, from, budget)
		}
		if err != nil {
			apiError(s, w, r, err)
			return
		}
		if len(evs) == 0 {
			continue
		}
		for _, e := range evs {
			run.Events = append(run.Events, replicate.RawEvent{Index: e.Index, Data: e.Data})
		}
		run.Checkpoint = string(cp)
		out.Runs = append(out.Runs, run)
		budget -= len(evs)
	}
	WriteJSON(w, http.StatusOK, out)
}

// feedable is how many events of each origin this node passes on to site:
// every other node's journal it holds, and its own, up to what a
// registered vault has confirmed (if any vault is registered), so that a
// site never holds events of this node that a restore of it from the vault
// would not bring back.
func (s *Server) feedable(r *http.Request, site string) (map[string]uint64, error) {
	held, err := s.n.Origins(r.Context())
	if err != nil {
		return nil, err
	}
	delete(held, site)
	self := s.n.Info().NodeCode
	if vs, err := node.RegisteredVaults(r.Context(), s.n.DB()); err != nil {
		return nil, err
	} else if len(vs) > 0 {
		confirmed, err := s.n.Vaults(r.Context())
		if err != nil {
			return nil, err
		}
		var best uint64
		for _, v := range confirmed {
			best = max(best, v.Size)
		}
		held[self] = min(held[self], best)
	}
	return held, nil
}

// apiPush answers POST /api/v1/replicate/push: a site's run of its own
// journal, checked, stored and applied before the answer. A run that does
// not start where this node's copy ends is a 409 with "held".
func (s *Server) apiPush(w http.ResponseWriter, r *http.Request, site string) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPush))
	if err != nil {
		apiError(s, w, r, kavach.Errorf(kavach.ETOOLARGE, "A push may carry at most %d MB.", maxPush>>20))
		return
	}
	var in replicate.Run
	if err := json.Unmarshal(body, &in); err != nil {
		apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "The push is not a run of events: " + err.Error()})
		return
	}
	s.sites.seen(site, in.From+uint64(len(in.Events)), true)
	if in.Origin != site {
		s.n.RaiseAlert(r.Context(), node.AlertSync, site, "site "+site+"'s sync credential was used to push "+in.Origin+"'s events from "+s.client(r)+": refused")
		apiError(s, w, r, kavach.Errorf(kavach.EFORBIDDEN, "This credential is site %s's: it pushes only %s's own events.", site, site))
		return
	}
	b := &node.ReplicaBatch{Origin: in.Origin, From: in.From, Checkpoint: []byte(in.Checkpoint)}
	for i, e := range in.Events {
		if e.Index != in.From+uint64(i) {
			apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "Event " + strconv.Itoa(i) + " of the run has the wrong index."})
			return
		}
		b.Events = append(b.Events, e.Data)
	}
	res, err := s.n.Receive(r.Context(), b)
	if err != nil {
		var ke *kavach.Error
		if res != nil && errors.As(err, &ke) && ke.Code == kavach.ECONFLICT && in.From > res.Held {
			WriteJSON(w, http.StatusConflict, map[string]any{"error": map[string]any{"code": ke.Code, "message": ke.Message}, "held": res.Held})
			return
		}
		if res == nil && kavach.ErrorCode(err) == kavach.EINTERNAL {
			s.n.RaiseAlert(r.Context(), node.AlertRefused, site, "site "+site+"'s events could not be applied here: "+err.Error())
		}
		apiError(s, w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, replicate.Pushed{Held: res.Held, Stored: res.Stored, Applied: res.Applied})
}
