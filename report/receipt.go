package report

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"kavach"
	"kavach/idcode"
)

// Receipt is what a cash receipt shows.
type Receipt struct {
	Hospital  string
	ReceiptNo string    // the bill number, "KAP00000012X"
	Time      time.Time // when it was paid, printed in its own location
	UHID      string
	Name      string
	NameHi    string
	Category  string // "General", "BPL / exempt"
	Items     []ReceiptLine
	Total     string // "₹1,250.50"
	Words     string // the total in English words
	WordsHi   string // the total in Hindi words
	Mode      string // "Cash", "UPI", "Card"
	Reference string // the UPI or card reference
	Counter   string
	Cashier   string
	Refunds   []ReceiptLine // refunds on it so far: "Refund KAF…", amount
}

// ReceiptLine is one line of a receipt: what, and how much.
type ReceiptLine struct {
	What   string
	Amount string // as printed, "₹150.00"
}

func (r Receipt) validate() error {
	f := kavach.Fields{}
	if r.ReceiptNo == "" {
		f.Add("receipt_no", "receipt number is empty")
	}
	if r.UHID == "" {
		f.Add("uhid", "UHID is empty")
	}
	if r.Total == "" {
		f.Add("total", "total is empty")
	}
	if r.Time.IsZero() {
		f.Add("time", "time is empty")
	}
	return f.Err()
}

// receiptW is the 80 mm roll's width; margin its margins.
const (
	receiptW      = 80.0
	receiptMargin = 4.0
)

// ReceiptPDF writes r as a receipt on an 80 mm roll, as long as its
// content: the amount in figures and in words in English and Hindi. The
// output depends only on r.
func ReceiptPDF(w io.Writer, r Receipt) error {
	if err := r.validate(); err != nil {
		return err
	}
	probe := newReceiptDoc(r, 1000)
	probe.ts.noLayer = true
	end := probe.draw()
	if err := probe.pdf.Error(); err != nil {
		return fmt.Errorf("report: receipt %s: %w", r.ReceiptNo, err)
	}
	d := newReceiptDoc(r, math.Ceil(end+receiptMargin))
	d.draw()
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("report: receipt %s: %w", r.ReceiptNo, err)
	}
	return nil
}

type receiptDoc struct {
	pdf  *fpdf.Fpdf
	ts   *Typesetter
	r    Receipt
	x, w float64
	y    float64
}

func newReceiptDoc(r Receipt, pageH float64) *receiptDoc {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: fpdf.SizeType{Wd: receiptW, Ht: pageH}})
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(r.Time.UTC())
	pdf.SetModificationDate(r.Time.UTC())
	pdf.SetCreator("Kavach", false)
	pdf.SetTitle("Receipt "+r.ReceiptNo, true)
	pdf.SetAuthor(r.Hospital, true)
	pdf.SetMargins(receiptMargin, receiptMargin, receiptMargin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCellMargin(0)
	pdf.AddPage()
	return &receiptDoc{pdf: pdf, ts: NewTypesetter(pdf), r: r, x: receiptMargin, w: receiptW - 2*receiptMargin, y: receiptMargin}
}

// lines draws text wrapped to the width and returns the y below it.
func (d *receiptDoc) lines(text string, st Style, maxLines int, align string) {
	lh := d.ts.LineHeight(text, st)
	for _, l := range d.ts.Wrap(text, st, d.w, maxLines) {
		d.ts.Cell(d.x, d.y, d.w, lh, l, st, align)
		d.y += lh
	}
}

// row draws a label on the left and a value on the right of one line.
func (d *receiptDoc) row(label, value string, st Style) {
	lh := math.Max(d.ts.LineHeight(label, st), d.ts.LineHeight(value, st))
	vw := math.Min(d.ts.Width(value, st), d.w*0.6)
	d.ts.Cell(d.x, d.y, d.w-vw-1, lh, d.ts.Cut(label, st, d.w-vw-1), st, "L")
	d.ts.Cell(d.x+d.w-vw, d.y, vw, lh, d.ts.Cut(value, st, vw), st, "R")
	d.y += lh
}

func (d *receiptDoc) rule() {
	d.y += 1
	d.pdf.SetLineWidth(0.2)
	d.pdf.Line(d.x, d.y, d.x+d.w, d.y)
	d.y += 1.5
}

func (d *receiptDoc) draw() float64 {
	r := d.r
	small, body, bold := Style{Size: 8}, Style{Size: 9}, Style{Size: 9, Bold: true}
	if r.Hospital != "" {
		d.lines(r.Hospital, Style{Size: 11, Bold: true}, 2, "C")
	}
	d.lines("RECEIPT / रसीद", Style{Size: 10, Bold: true}, 1, "C")
	d.rule()
	d.row("Receipt no. / रसीद सं.", r.ReceiptNo, bold)
	d.row("Date / दिनांक", kavach.ShowTime(r.Time), body)
	name := r.Name
	if r.NameHi != "" {
		name = strings.TrimSpace(name + " / " + r.NameHi)
	}
	d.row("Patient / रोगी", "", body)
	d.lines(name, bold, 2, "L")
	d.row("UHID", idcode.ShowUHID(r.UHID), body)
	if r.Category != "" {
		d.row("Category / श्रेणी", r.Category, body)
	}
	d.rule()
	for _, it := range r.Items {
		d.row(it.What, it.Amount, body)
	}
	if len(r.Items) == 0 {
		d.lines("Advance / अग्रिम", body, 1, "L")
	}
	d.rule()
	d.row("Total / कुल", r.Total, Style{Size: 11, Bold: true})
	d.y += 0.5
	d.lines(r.Words, small, 3, "L")
	d.lines(r.WordsHi, small, 3, "L")
	d.rule()
	mode := r.Mode
	if r.Reference != "" {
		mode += " · " + r.Reference
	}
	d.row("Paid by / भुगतान", mode, body)
	for _, f := range r.Refunds {
		d.row(f.What, f.Amount, body)
	}
	d.row("Counter / काउंटर", r.Counter, body)
	d.row("Cashier / कैशियर", r.Cashier, body)
	d.y += 8
	d.lines("Signatory / हस्ताक्षर", small, 1, "R")
	return d.y
}
