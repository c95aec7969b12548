package opd

import (
	"net/http"

	"kavach/node"
	"kavach/web"
)

// pageVisitOpen opens today's visit for an existing patient (from the
// patient page, or "Use this patient" on the duplicate warning) and shows
// the slip ready to print.
func (h *handlers) pageVisitOpen(w http.ResponseWriter, r *http.Request, v *web.View) error {
	in := NewVisit{UHID: r.PostFormValue("uhid"), Department: r.PostFormValue("department")}
	var visit *Visit
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = Open(tx, in)
		return err
	})
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/visits/"+visit.ID+"/slip?print=1")
}
