package opd

import (
	"net/http"

	"kavach/audit"
	"kavach/report"
	"kavach/web"
)

// pageSlipPDF sends the same PDF slip as the API, for the session's user.
func (h *handlers) pageSlipPDF(w http.ResponseWriter, r *http.Request, v *web.View) error {
	size, err := slipSize(r)
	if err != nil {
		return err
	}
	sv, err := h.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	paper := report.Thermal80
	if size == "a5" {
		paper = report.A5
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.slip.pdf", sv.Patient.UHID); err != nil {
		return err
	}
	return writeSlipPDF(w, sv.Slip, paper)
}
