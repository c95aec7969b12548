package registration

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/report"
	"kavach/web"
)

// Barcode image size: wide enough for 4 pixels a module for a 10-character
// UHID (3 for a 12-character one), so the print view scales it down cleanly.
const barcodeW, barcodeH = 660, 120

// pageBarcode serves a UHID's Code 128 barcode as a PNG. It shows nothing
// but the UHID, so it is not an audited read of the record.
func (h *handlers) pageBarcode(w http.ResponseWriter, r *http.Request, v *web.View) error {
	file := r.PathValue("file")
	typed, ok := strings.CutSuffix(file, ".png")
	if !ok {
		return kavach.Errorf(kavach.ENOTFOUND, "No barcode %s.", file)
	}
	uhid, err := ParseUHID(typed)
	if err != nil {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: kavach.ErrorMessage(err)}
	}
	png, err := report.Code128PNG(uhid, barcodeW, barcodeH)
	if err != nil {
		return err
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "image/png")
	hdr.Set("Cache-Control", "private, max-age=86400")
	_, err = w.Write(png)
	return err
}
