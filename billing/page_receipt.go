package billing

import (
	"net/http"
	"strings"

	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// receiptPage is the data of a receipt's 80 mm print view.
type receiptPage struct {
	*web.View
	R       *Receipt
	P       *registration.Patient
	Cashier string // the cashier's full name when it is the user's own receipt
	Refunds []Refund
	Total   int64 // what the receipt's items add up to (the amount, unless part of it is credit)
	Credit  int64 // the part of the amount no charge took: credit on the account
	CanNext bool
}

// pageReceipt shows a receipt as its 80 mm print view, with Hindi and
// English labels side by side; ?print=1 prints it as soon as it loads.
// The same path with .pdf is the receipt as a PDF.
func (h *handlers) pageReceipt(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	no, pdf := strings.CutSuffix(r.PathValue("receipt"), ".pdf")
	rc, err := GetReceipt(ctx, h.n.DB(), no)
	if err != nil {
		return err
	}
	p, err := registration.Get(ctx, h.n.DB(), rc.UHID)
	if err != nil {
		return err
	}
	action := "page.receipt"
	if pdf {
		action = "page.receipt_pdf"
	}
	if err := audit.Viewed(ctx, h.n, v.User(), action, rc.UHID); err != nil {
		return err
	}
	if pdf {
		return h.writeReceiptPDF(w, r, rc)
	}
	page := &receiptPage{View: v, R: rc, P: p, Cashier: rc.Cashier, CanNext: v.Can(string(TakePayments))}
	if rc.Cashier == v.User() && v.Sess.User.FullName != "" {
		page.Cashier = v.Sess.User.FullName
	}
	if page.Refunds, err = ReceiptRefunds(ctx, h.n.DB(), rc.ReceiptNo); err != nil {
		return err
	}
	for _, it := range rc.Items {
		page.Total += it.Paise
	}
	page.Credit = rc.Paise - page.Total
	v.Title = v.T("Receipt") + " " + rc.ReceiptNo
	v.AutoPrint = r.URL.Query().Get("print") == "1"
	return v.Render(w, http.StatusOK, "billing_receipt", page)
}
