package opd

import (
	"net/http"

	"kavach/node"
	"kavach/web"
)

// pageSeenSave marks a visit seen and goes back to its queue.
func (h *handlers) pageSeenSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	var visit *Visit
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = MarkSeen(tx, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/queue/"+visit.Department)
}

// pageUnseenSave undoes a visit's seen mark and goes back to its queue.
func (h *handlers) pageUnseenSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	var visit *Visit
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		visit, err = MarkUnseen(tx, r.PathValue("id"))
		return err
	})
	if err != nil {
		return err
	}
	return web.Redirect(w, r, "/queue/"+visit.Department)
}
