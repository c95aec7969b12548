package web

import (
	"net/http"
	"time"

	"kavach/node"
)

// statusPage is the data of the node status page.
type statusPage struct {
	*View
	St      node.Status
	SinceCP string // time since the last checkpoint; empty if none
	Uptime  string
	Vaults  []node.VaultStatus
}

// pageStatus shows the node's journal and checkpoint at a glance.
func (s *Server) pageStatus(w http.ResponseWriter, r *http.Request, v *View) error {
	st := s.n.Status()
	v.Title = v.T("Node status")
	p := &statusPage{View: v, St: st, Uptime: time.Since(s.started).Round(time.Second).String()}
	if !st.CheckpointTime.IsZero() {
		p.SinceCP = time.Since(st.CheckpointTime).Round(time.Second).String()
	}
	vs, err := s.n.Vaults(r.Context())
	if err != nil {
		return err
	}
	p.Vaults = vs
	return v.Render(w, http.StatusOK, "status", p)
}
