package lab

import (
	"bytes"
	"net/http"

	"kavach/audit"
	"kavach/report"
	"kavach/web"
)

// pageLabelPDF sends a sample's label as the same PDF as the API, for the
// session's user: for a label printer that prints PDFs better than pages.
func (h *handlers) pageLabelPDF(w http.ResponseWriter, r *http.Request, v *web.View) error {
	l, s, err := h.label(r, r.PathValue("accession"))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.LabelPDF(&buf, *l); err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.label.pdf", s.UHID); err != nil {
		return err
	}
	return writePDF(w, "label-"+s.Accession+".pdf", buf.Bytes())
}
