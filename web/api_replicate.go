package web

import (
	"net/http"
	"strconv"
	"time"

	"kavach"
	"kavach/node"
)

// Replication endpoints take a read-only replication token (kavach token
// --scope replicate), not a user's session. Nothing here deletes or changes
// anything; the only write is a vault's report of what it holds.

func (s *Server) replicator(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok := bearer(r)
		if err := s.n.CheckReplicationToken(r.Context(), tok); err != nil {
			msg := "A replication token is required: make one on the node with 'kavach token --scope replicate'."
			if tok != "" {
				msg = "This replication token is not valid here: it was revoked, it expired, or it was made on another node (a restored node needs a new one). Make one on this node with 'kavach token --scope replicate'."
			}
			apiError(s, w, r, kavach.Errorf(kavach.EUNAUTHORIZED, "%s", msg))
			return
		}
		h(w, r)
	}
}

// maxPull bounds one answer; a vault that is behind pulls again at once.
const maxPull = 20000

// A long poll answers after gatherFor, or as soon as gatherEvents are new.
const (
	gatherFor    = 250 * time.Millisecond
	gatherEvents = 5000
)

// apiReplicateEvents answers GET /api/v1/replicate/events?from=N[&wait=S]:
// the synced events from index N and a checkpoint over exactly the journal
// up to the last of them. With wait, it holds the request (a long poll) until
// there is something past N or the wait runs out.
func (s *Server) apiReplicateEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, err := strconv.ParseUint(q.Get("from"), 10, 64)
	if err != nil {
		apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "Bad from.", Fields: map[string]string{"from": "must be a whole number"}})
		return
	}
	wait := time.Duration(0)
	if ws := q.Get("wait"); ws != "" {
		secs, err := strconv.ParseFloat(ws, 64)
		if err != nil || !(secs >= 0 && secs <= 60) { // NaN too
			apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "Bad wait.", Fields: map[string]string{"wait": "must be 0 to 60 seconds"}})
			return
		}
		wait = time.Duration(secs * float64(time.Second))
	}
	limit := maxPull
	if ls := q.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil || n < 1 {
			apiError(s, w, r, &kavach.Error{Code: kavach.EINVALID, Message: "Bad limit.", Fields: map[string]string{"limit": "must be a whole number from 1"}})
			return
		}
		limit = min(n, maxPull)
	}
	// Another node's journal this node holds (a site's, on the central):
	// a vault pulls every origin.
	origin := q.Get("origin")
	if origin != "" && origin != s.n.Info().NodeCode {
		s.replicaEvents(w, r, origin, from, wait, limit)
		return
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		changed := s.n.Changed()
		size := s.n.Status().Events
		if size > from || wait == 0 {
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
	// A long poll that found something new gathers a little more before it
	// answers: each answer becomes a segment file in the vault, and one a
	// commit would mean millions of files a day. The vault's lag grows by at
	// most gatherFor.
	if q.Get("wait") != "" && s.n.Status().Events > from {
		gather := time.NewTimer(gatherFor)
	gathering:
		for s.n.Status().Events-from < gatherEvents {
			changed := s.n.Changed()
			select {
			case <-changed:
			case <-gather.C:
				break gathering
			case <-s.closing:
				break gathering
			case <-r.Context().Done():
				gather.Stop()
				return
			}
		}
		gather.Stop()
	}
	info := s.n.Info()
	size := s.n.Status().Events
	out := map[string]any{"origin": info.Origin, "verifier": info.Verifier, "size": size, "events": []node.RawEvent{}}
	if from > size {
		// The vault holds more than this node: the node was rolled back.
		// Say so plainly; the vault decides what that means.
		WriteJSON(w, http.StatusOK, out)
		return
	}
	events, err := s.n.EventsFrom(r.Context(), from, size, limit)
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	out["events"] = events
	if end := from + uint64(len(events)); end > 0 {
		cp, err := s.n.CheckpointAt(r.Context(), end)
		if err != nil {
			apiError(s, w, r, err)
			return
		}
		out["checkpoint"] = string(cp)
	}
	WriteJSON(w, http.StatusOK, out)
}

// apiReplicateCosignature takes a vault's cosigned checkpoint: the node's
// status page and /metrics then say what the vault holds.
func (s *Server) apiReplicateCosignature(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Vault      string `json:"vault"`
		Checkpoint string `json:"checkpoint"`
	}
	if err := Decode(r, &in); err != nil {
		apiError(s, w, r, err)
		return
	}
	v, err := s.n.RecordCosignature(r.Context(), in.Vault, []byte(in.Checkpoint))
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// replicaEvents answers a pull of another node's journal that this node
// holds: its events from index from, ending at a checkpoint the origin
// signed, as the origin itself would answer.
func (s *Server) replicaEvents(w http.ResponseWriter, r *http.Request, origin string, from uint64, wait time.Duration, limit int) {
	held := func() (node.ReplicaState, bool) {
		reps, err := s.n.Replicas(r.Context())
		if err != nil {
			return node.ReplicaState{}, false
		}
		for _, rep := range reps {
			if rep.Origin == origin {
				return rep, true
			}
		}
		return node.ReplicaState{}, false
	}
	rep, ok := held()
	if !ok {
		apiError(s, w, r, &kavach.Error{Code: kavach.ENOTFOUND, Message: "This node holds no journal of " + origin + ".", Fields: map[string]string{"origin": "not held here"}})
		return
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for rep.Size <= from && wait > 0 {
		changed := s.n.Changed()
		select {
		case <-changed:
		case <-deadline.C:
			wait = 0
		case <-s.closing:
			wait = 0
		case <-r.Context().Done():
			return
		}
		rep, _ = held()
	}
	out := map[string]any{"origin": rep.Log, "verifier": rep.Verifier, "size": rep.Size, "events": []node.RawEvent{}}
	if from < rep.Size {
		events, cp, err := s.n.ReplicaRun(r.Context(), origin, from, limit)
		if err != nil {
			apiError(s, w, r, err)
			return
		}
		out["events"] = events
		if len(events) > 0 {
			out["checkpoint"] = string(cp)
			// The origin's own size at this checkpoint: what it says it has.
			out["size"] = from + uint64(len(events))
		}
	}
	WriteJSON(w, http.StatusOK, out)
}

// apiReplicateOrigins answers GET /api/v1/replicate/origins: the other
// nodes' journals this node holds, for a vault to pull each.
func (s *Server) apiReplicateOrigins(w http.ResponseWriter, r *http.Request) {
	reps, err := s.n.Replicas(r.Context())
	if err != nil {
		apiError(s, w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]any{"node": s.n.Info().NodeCode, "origins": reps})
}
