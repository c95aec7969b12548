package web

import (
	"net/http"

	"kavach/node"
	"kavach/opd"
)

// pageVisitOpen opens today's visit for an existing patient (from the
// patient page, or "Use this patient" on the duplicate warning) and shows
// the slip ready to print.
func (s *Server) pageVisitOpen(w http.ResponseWriter, r *http.Request, v *view) error {
	in := opd.NewVisit{UHID: r.PostFormValue("uhid"), Department: r.PostFormValue("department")}
	var visit *opd.Visit
	err := s.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = opd.Open(tx, in)
		return err
	})
	if err != nil {
		return err
	}
	return redirect(w, r, "/visits/"+visit.ID+"/slip?print=1")
}
