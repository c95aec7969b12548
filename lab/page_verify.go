package lab

import (
	"net/http"

	"kavach/audit"
	"kavach/web"
)

// verifyLimit bounds the verification list.
const verifyLimit = 200

// verifyPage is the pathologist's list of samples awaiting verification.
type verifyPage struct {
	*web.View
	Items   []AwaitingItem
	Pending int
}

// Received shows when a sample came in.
func (p *verifyPage) Received(stamp string) string { return shortTime(stamp, p.Node().Now()) }

// pageVerify lists the samples whose results are all in and not released,
// urgent first; the first has the cursor, so Enter opens it.
func (h *handlers) pageVerify(w http.ResponseWriter, r *http.Request, v *web.View) error {
	items, total, err := AwaitingVerification(r.Context(), h.n.DB(), verifyLimit)
	if err != nil {
		return err
	}
	uhids := make([]string, len(items))
	for i := range items {
		uhids[i] = items[i].UHID
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.verify", uhids...); err != nil {
		return err
	}
	v.Title = v.T("Awaiting verification")
	return v.Render(w, http.StatusOK, "lab_verify", &verifyPage{View: v, Items: items, Pending: total})
}
