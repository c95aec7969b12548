package billing

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"time"

	"kavach"
	"kavach/journal"
	"kavach/registration"
	"kavach/report"
)

// ReceiptRefunds lists the refunds on a receipt, oldest first.
func ReceiptRefunds(ctx context.Context, db journal.DBTX, receiptNo string) ([]Refund, error) {
	return refunds(ctx, db, `WHERE receipt_no = ? ORDER BY requested, refund_no`, receiptNo)
}

// PrintedReceipt is what a receipt's PDF shows.
func PrintedReceipt(ctx context.Context, db journal.DBTX, hospital string, rc *Receipt) (report.Receipt, error) {
	p, err := registration.Get(ctx, db, rc.UHID)
	if err != nil {
		return report.Receipt{}, err
	}
	paid, _ := time.Parse(journal.TimeFormat, rc.Paid)
	out := report.Receipt{Hospital: hospital, ReceiptNo: rc.ReceiptNo, Time: paid.In(kavach.Zone), UHID: rc.UHID, Name: p.Name, NameHi: p.NameHi,
		Category: registration.CategoryLabel(p.Category), Total: Rupees(rc.Paise), Words: InWords(rc.Paise), WordsHi: InWordsHindi(rc.Paise),
		Mode: strings.ToUpper(rc.Mode[:1]) + rc.Mode[1:], Reference: rc.Reference, Counter: rc.Counter, Cashier: rc.Cashier}
	if rc.Mode == "upi" {
		out.Mode = "UPI"
	}
	var items int64
	for _, it := range rc.Items {
		out.Items = append(out.Items, report.ReceiptLine{What: it.Name, Amount: Rupees(it.Paise)})
		items += it.Paise
	}
	if credit := rc.Paise - items; credit > 0 {
		// What the receipt pays beyond the charges stays on the account.
		out.Items = append(out.Items, report.ReceiptLine{What: "Advance, credit on account / अग्रिम", Amount: Rupees(credit)})
	}
	fs, err := ReceiptRefunds(ctx, db, rc.ReceiptNo)
	if err != nil {
		return report.Receipt{}, err
	}
	for _, f := range fs {
		what := "Refund " + f.RefundNo
		if f.Status != "refunded" {
			what += " (awaiting approval)"
		}
		out.Refunds = append(out.Refunds, report.ReceiptLine{What: what, Amount: "-" + Rupees(f.Paise)})
	}
	return out, nil
}

// writeReceiptPDF answers with a receipt as an 80 mm PDF; the caller has
// audited the read.
func (h *handlers) writeReceiptPDF(w http.ResponseWriter, r *http.Request, rc *Receipt) error {
	pr, err := PrintedReceipt(r.Context(), h.n.DB(), h.n.Info().HospitalName, rc)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := report.ReceiptPDF(&buf, pr); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="receipt-`+rc.ReceiptNo+`.pdf"`)
	_, err = w.Write(buf.Bytes())
	return err
}
