package registration

import (
	"net/http"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/node"
	"kavach/web"
)

// reconcilePage is the data of the reconciliation page.
type reconcilePage struct {
	*web.View
	Items  []Item
	Today  time.Time
	Error  string
	Failed string // the item whose form failed
}

// pageReconciliation lists what nodes cut off from each other did that a
// person must look at.
func (h *handlers) pageReconciliation(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.renderReconciliation(w, r, v, http.StatusOK, "", "")
}

func (h *handlers) renderReconciliation(w http.ResponseWriter, r *http.Request, v *web.View, status int, failed, msg string) error {
	v.Title = v.T("Reconciliation")
	items, err := Worklist(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	var uhids []string
	for _, it := range items {
		uhids = append(uhids, it.Subjects...)
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.reconciliation", uhids...); err != nil {
		return err
	}
	return v.Render(w, status, "reconciliation", &reconcilePage{View: v, Items: items, Today: h.n.Now().In(kavach.Zone), Error: msg, Failed: failed})
}

// pageReconcileSave marks an item resolved with the reason given.
func (h *handlers) pageReconcileSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	id := r.PathValue("id")
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		return Reconcile(tx, id, r.PostFormValue("reason"))
	})
	if err != nil {
		code := kavach.ErrorCode(err)
		if code == kavach.EINTERNAL {
			return err
		}
		return h.renderReconciliation(w, r, v, web.Status(code), id, v.T(kavach.ErrorMessage(err)))
	}
	return web.Redirect(w, r, "/reconciliation")
}
