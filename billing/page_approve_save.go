package billing

import (
	"net/http"
	"net/url"

	"kavach/idcode"
	"kavach/node"
	"kavach/web"
)

// pageApproveSave approves a refund that waits for it. The command refuses
// the user who asked for the refund; the list shows why, at the refund.
func (h *handlers) pageApproveSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	var f *Refund
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		f, err = ApproveRefund(tx, r.PathValue("refund"))
		return err
	})
	if err != nil {
		if !wantUser(err) {
			return err
		}
		return h.renderRefunds(w, r, v, errStatus(err), "", idcode.Normalize(r.PathValue("refund")), formMessage(v, err))
	}
	return web.Redirect(w, r, "/billing/refunds?approved="+url.QueryEscape(f.RefundNo))
}
