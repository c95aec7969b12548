package web

import (
	"net/http"

	"kavach/node"
	"kavach/opd"
)

// pageSeenSave marks a visit seen and goes back to its queue.
func (s *Server) pageSeenSave(w http.ResponseWriter, r *http.Request, v *view) error {
	var visit *opd.Visit
	err := s.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = opd.MarkSeen(tx, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return redirect(w, r, "/queue/"+visit.Department)
}
