package lab

import (
	"net/http"

	"kavach/web"
)

// pageLabelPDF sends a sample's label as the same PDF as the API, for the
// session's user: for a label printer that prints PDFs better than pages.
func (h *handlers) pageLabelPDF(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.labelPDF(w, r, v.User(), "page.label.pdf")
}
