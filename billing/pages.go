package billing

import (
	"net/http"

	"kavach/web"
)

// pageRoutes registers billing's pages for the counter.
func pageRoutes(rt *web.Router, h *handlers) {}

// receiptPDF renders a receipt as an 80 mm PDF.
func (h *handlers) receiptPDF(r *http.Request, rc *Receipt) ([]byte, error) {
	return nil, nil
}
