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
	Link    *node.LinkStatus    // a site's link to its central
	Sites   []SiteStatus        // a central's sites
	Origins []node.ReplicaState // the other nodes' journals held
	Alerts  []node.AlertRow
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
	if s.link != nil {
		l := s.link()
		p.Link = &l
	} else {
		origins, err := s.n.Origins(r.Context())
		if err != nil {
			return err
		}
		if p.Sites, err = s.siteStatus(r, origins); err != nil {
			return err
		}
	}
	if p.Origins, err = s.n.Replicas(r.Context()); err != nil {
		return err
	}
	if p.Alerts, err = node.Alerts(r.Context(), s.n.DB(), st.Info.NodeCode, 20); err != nil {
		return err
	}
	return v.Render(w, http.StatusOK, "status", p)
}
