package report

import (
	"bytes"
	"testing"
	"time"
)

func demoReceipt() Receipt {
	return Receipt{
		Hospital: "Kavach Demo Hospital, New Delhi", ReceiptNo: "KAP00000012W", Time: time.Date(2026, 12, 5, 10, 14, 0, 0, ist),
		UHID: "KA0000127X", Name: "Kamla Devi", NameHi: "कमला देवी", Category: "General",
		Items:   []ReceiptLine{{What: "OPD registration and consultation", Amount: "₹10.00"}, {What: "Complete blood count", Amount: "₹150.00"}},
		Total:   "₹160.00",
		Words:   "Rupees One Hundred Sixty Only",
		WordsHi: "एक सौ साठ रुपये मात्र",
		Mode:    "UPI", Reference: "UTR123456", Counter: "KA", Cashier: "billing",
		Refunds: []ReceiptLine{{What: "Refund KAF00000003Q", Amount: "-₹10.00"}},
	}
}

// TestReceiptPDF: an 80 mm receipt with every field, the amount in words
// in English and Hindi read back from the PDF, the same bytes each time.
func TestReceiptPDF(t *testing.T) {
	var a, b bytes.Buffer
	if err := ReceiptPDF(&a, demoReceipt()); err != nil {
		t.Fatal(err)
	}
	if err := ReceiptPDF(&b, demoReceipt()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("the same receipt gives different bytes")
	}
	pages, w, _ := pdfPages(t, a.Bytes())
	if pages != 1 || w < 226.7 || w > 226.8 { // 80 mm
		t.Errorf("%d pages, %.2f pt wide", pages, w)
	}
	checkText(t, pdfText(t, a.Bytes()), []string{"RECEIPT", "रसीद", "KAP00000012W", "05-12-2026 10:14", "Kamla Devi", "कमला देवी", "KA-0000127-X",
		"General", "Complete blood count", "₹150.00", "₹160.00", "Rupees One Hundred Sixty Only", "एक सौ साठ रुपये मात्र",
		"UPI · UTR123456", "KAF00000003Q", "Cashier", "billing", "Signatory"}, nil)
	bad := demoReceipt()
	bad.ReceiptNo, bad.Total = "", ""
	checkInvalid(t, ReceiptPDF(&a, bad), "total", "")
}
