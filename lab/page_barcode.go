package lab

import (
	"net/http"

	"kavach"
	"kavach/report"
	"kavach/web"
)

// Barcode image size: 660 pixels give a 12-character accession number
// three pixels a module, so the label scales it down cleanly.
const barcodeW, barcodeH = 660, 120

// pageBarcode serves an accession number's Code 128 barcode as a PNG. It
// shows nothing but the number, so it is not an audited read.
func (h *handlers) pageBarcode(w http.ResponseWriter, r *http.Request, v *web.View) error {
	acc, err := ParseAccession(r.PathValue("accession"))
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	png, err := report.Code128PNG(acc, barcodeW, barcodeH)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "image/png")
	hdr.Set("Cache-Control", "private, max-age=86400")
	_, err = w.Write(png)
	return err
}
