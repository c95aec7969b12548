package web

import (
	"bytes"
	"fmt"
	"net/http"

	"kavach/audit"
	"kavach/report"
)

// pageSlipPDF sends the same PDF slip as the API, for the session's user.
func (s *Server) pageSlipPDF(w http.ResponseWriter, r *http.Request, v *view) error {
	size, err := slipSize(r)
	if err != nil {
		return err
	}
	slip, _, p, _, err := s.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	paper := report.Thermal80
	if size == "a5" {
		paper = report.A5
	}
	var buf bytes.Buffer
	if err := report.SlipPDF(&buf, *slip, paper); err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), s.n, v.User(), "page.slip.pdf", p.UHID); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="slip-%s.pdf"`, slip.VisitID))
	_, err = w.Write(buf.Bytes())
	return err
}
