package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"kavach"
	"kavach/access"
	"kavach/journal"
	"kavach/node"
)

func (s *Server) apiCheckpoint(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	cp, err := journal.LatestCheckpointUpTo(r.Context(), s.n.DB(), s.n.Status().Events)
	if errors.Is(err, journal.ErrNotFound) {
		return kavach.Errorf(kavach.ENOTFOUND, "No checkpoint has been signed yet.")
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, err = w.Write(cp.Note)
	return err
}

func queryUint(r *http.Request, name string) (uint64, error) {
	v, err := strconv.ParseUint(r.URL.Query().Get(name), 10, 64)
	if err != nil {
		return 0, &kavach.Error{Code: kavach.EINVALID, Message: "Bad " + name + ".", Fields: map[string]string{name: "must be a whole number"}}
	}
	return v, nil
}

// committedSize bounds proofs to what is committed and checkpointed.
func (s *Server) checkSize(size uint64) error {
	if st := s.n.Status(); size > st.Events || size == 0 {
		return &kavach.Error{Code: kavach.EINVALID, Message: "No tree of that size.", Fields: map[string]string{"size": "must be 1 to the journal's size"}}
	}
	return nil
}

func (s *Server) apiInclusionProof(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	index, err := queryUint(r, "index")
	if err != nil {
		return err
	}
	size, err := queryUint(r, "size")
	if err != nil {
		return err
	}
	if err := s.checkSize(size); err != nil {
		return err
	}
	if index >= size {
		return &kavach.Error{Code: kavach.EINVALID, Message: "Index beyond size.", Fields: map[string]string{"index": "must be less than size"}}
	}
	p, err := journal.InclusionProof(r.Context(), s.n.DB(), index, size)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"index": index, "size": size, "proof": p})
}

func (s *Server) apiConsistencyProof(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	from, err := queryUint(r, "from")
	if err != nil {
		return err
	}
	to, err := queryUint(r, "to")
	if err != nil {
		return err
	}
	if err := s.checkSize(to); err != nil {
		return err
	}
	if from > to {
		return &kavach.Error{Code: kavach.EINVALID, Message: "from is after to.", Fields: map[string]string{"from": "must not exceed to"}}
	}
	p, err := journal.ConsistencyProof(r.Context(), s.n.DB(), from, to)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "proof": p})
}

func (s *Server) apiStatus(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	st := s.n.Status()
	vaults, err := s.n.Vaults(r.Context())
	if err != nil {
		return err
	}
	origins, err := s.n.Origins(r.Context())
	if err != nil {
		return err
	}
	alerts, err := node.Alerts(r.Context(), s.n.DB(), st.Info.NodeCode, 20)
	if err != nil {
		return err
	}
	out := map[string]any{
		"role": "central", "origins": origins, "alerts": alerts,
		"vaults":   vaults,
		"hospital": st.Info.HospitalName, "hospital_code": st.Info.HospitalCode, "node": st.Info.NodeCode,
		"origin": st.Info.Origin, "verifier": st.Info.Verifier, "events": st.Events,
		"checkpoint_size": st.CheckpointSize, "checkpoint_time": st.CheckpointTime,
		"seconds_since_checkpoint": time.Since(st.CheckpointTime).Seconds(),
	}
	if s.link != nil {
		out["role"] = "site"
		out["upstream"] = s.link()
	} else {
		sites, err := s.siteStatus(r, origins)
		if err != nil {
			return err
		}
		out["sites"] = sites
	}
	return WriteJSON(w, http.StatusOK, out)
}

// SiteStatus is a site as the central sees it.
type SiteStatus struct {
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Enrolled  bool      `json:"enrolled"`
	Reachable bool      `json:"reachable"`
	Pending   uint64    `json:"pending"` // the site's events this node does not hold yet, as the site last said
	Held      uint64    `json:"held"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
}

func (s *Server) siteStatus(r *http.Request, origins map[string]uint64) ([]SiteStatus, error) {
	sites, err := node.Sites(r.Context(), s.n.DB())
	if err != nil {
		return nil, err
	}
	out := []SiteStatus{}
	for _, site := range sites {
		seen := s.sites.get(site.Code)
		st := SiteStatus{Code: site.Code, Name: site.Name, Enrolled: !site.Enrolled.IsZero(), Held: origins[site.Code], LastSeen: seen.lastSeen}
		st.Reachable = seen.inflight > 0 || (!seen.lastSeen.IsZero() && time.Since(seen.lastSeen) < siteSeenFor)
		if seen.own > st.Held {
			st.Pending = seen.own - st.Held
		}
		out = append(out, st)
	}
	return out, nil
}
