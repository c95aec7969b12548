package registration

import (
	"net/http"

	"kavach/access"
	"kavach/audit"
	"kavach/node"
	"kavach/web"
)

// worklistJSON is an item as the API shows it: patients as GET
// /api/v1/patients/{uhid} shows them.
type worklistJSON struct {
	Item
	Patients []patientJSON `json:"patients,omitempty"`
}

// apiReconciliation answers GET /api/v1/reconciliation: the open items.
func (h *handlers) apiReconciliation(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	items, err := Worklist(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	out := make([]worklistJSON, len(items))
	var uhids []string
	for i, it := range items {
		out[i].Item = it
		for _, p := range it.Patients {
			out[i].Patients = append(out[i].Patients, toJSON(p, h.n.Now()))
		}
		out[i].Item.Patients = nil
		uhids = append(uhids, it.Subjects...)
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.reconciliation", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}

// apiReconcile answers POST /api/v1/reconciliation/{id}/resolve {"reason"}.
func (h *handlers) apiReconcile(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error {
		return Reconcile(tx, r.PathValue("id"), in.Reason)
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "resolved": true})
}
