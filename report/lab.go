package report

import (
	"bytes"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"kavach"
)

// Label is what a 50 × 25 mm sample label shows. One label goes on each
// container collected; its Code 128 barcode is the accession number, which
// the lab scans to receive the sample and analysers send back in OBR-3.
type Label struct {
	Accession string    // e.g. "KAL00001234" plus check character: the barcode
	UHID      string    // e.g. "KA00000127"
	Name      string    // Latin script (cp1252 until issue 13 brings Devanagari)
	AgeSex    string    // e.g. "34 Y / M"
	Container string    // e.g. "EDTA (purple)"
	Tests     []string  // test codes in this container: "CBC", "HBA1C"
	Collected time.Time // collection time, printed in its own location
	Urgent    bool      // prints a bold URGENT mark
}

// The label's measures, in millimetres.
const (
	labelW, labelH = 50.0, 25.0
	labelMargin    = 1.5 // text keeps this far from the edges
	// labelBarEdge is how close the barcode's quiet zone may come to the
	// edge: on a tube the label's edge meets blood or a coloured cap, which
	// a scanner would read as a bar if the quiet zone ran up to it.
	labelBarEdge = 1.0
	labelBarH    = 8.5
	// labelMaxModule is the widest module used, as on the OPD slip; the
	// module is otherwise as wide as the label allows.
	labelMaxModule = 0.375
	// labelMinModule is the narrowest module printed. Below it a 203 dpi
	// label printer has fewer than two dots a module and bench scanners
	// start to fail; an accession that needs narrower bars is refused.
	labelMinModule = 0.19
)

// labelTime is how times print on labels and reports: "02 Dec 2026 09:14".
const labelTime = "02 Jan 2006 15:04"

// labelEpoch stands in for the PDF's creation date when a label has no
// collection time, so that the output still depends only on the label.
var labelEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// validate reports the fields a label cannot be printed without, as an
// EINVALID error naming them.
func (l Label) validate() error {
	f := kavach.Fields{}
	switch {
	case l.Accession == "":
		f.Add("accession", "Accession is empty")
	case strings.IndexFunc(l.Accession, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0:
		f.Add("accession", fmt.Sprintf("Accession %q may contain only ASCII letters, digits and punctuation", l.Accession))
	default:
		if _, module, err := labelBarcode(l.Accession); err != nil || module < labelMinModule {
			f.Add("accession", fmt.Sprintf("Accession %q is too long for a barcode that scans on a 50 mm label", l.Accession))
		}
	}
	if strings.TrimSpace(l.UHID) == "" {
		f.Add("uhid", "UHID is empty")
	}
	if len(f) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(f))
	for _, k := range []string{"accession", "uhid"} {
		if m, ok := f[k]; ok {
			msgs = append(msgs, m)
		}
	}
	return &kavach.Error{
		Code:    kavach.EINVALID,
		Message: "Cannot print the sample label: " + strings.Join(msgs, "; ") + ".",
		Fields:  f,
	}
}

// labelBarcode returns the modules of the accession's Code 128 symbol and
// the module width, in mm, that fits it with its quiet zones on the label.
func labelBarcode(accession string) (bars []bool, module float64, err error) {
	bars, err = code128Bars(accession)
	if err != nil {
		return nil, 0, err
	}
	total := len(bars) + 2*quietModules
	module = math.Min(labelMaxModule, (labelW-2*labelBarEdge)/float64(total))
	return bars, module, nil
}

// LabelPDF writes l as a one-page PDF exactly 50 mm wide and 25 mm high,
// for a label printer. The output depends only on l.
func LabelPDF(w io.Writer, l Label) error {
	if err := l.validate(); err != nil {
		return err
	}
	bars, module, err := labelBarcode(l.Accession)
	if err != nil {
		return err
	}
	total := len(bars) + 2*quietModules
	pxH := int(math.Round(labelBarH / module * barcodePxPerModule))
	var img bytes.Buffer
	if err := png.Encode(&img, drawBars(bars, total*barcodePxPerModule, pxH, barcodePxPerModule)); err != nil {
		return fmt.Errorf("report: label %s: barcode: %w", l.Accession, err)
	}

	created := l.Collected
	if created.IsZero() {
		created = labelEpoch
	}
	pdf := newDoc(fpdf.SizeType{Wd: labelW, Ht: labelH}, created, "Sample label "+l.Accession)
	pdf.SetMargins(labelMargin, labelMargin, labelMargin)
	pdf.AddPage()
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252
	x, cw := labelMargin, labelW-2*labelMargin

	// Name, with the URGENT mark at its right.
	y := 1.2
	nameW := cw
	if l.Urgent {
		pdf.SetFont("Helvetica", "B", 7.5)
		bw := pdf.GetStringWidth("URGENT") + 1.6
		pdf.SetFillColor(0, 0, 0)
		pdf.Rect(x+cw-bw, y+0.2, bw, 3.1, "F")
		pdf.SetTextColor(255, 255, 255)
		pdf.SetXY(x+cw-bw, y+0.2)
		pdf.CellFormat(bw, 3.1, "URGENT", "", 0, "CM", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
		nameW -= bw + 1
	}
	fitCell(pdf, x, y, nameW, lineH(8), "Helvetica", "B", 8, 6.5, tr(l.Name), "L")
	y += lineH(8)

	// UHID and age/sex, with the collection time at the right.
	if !l.Collected.IsZero() {
		when := l.Collected.Format(labelTime)
		pdf.SetFont("Helvetica", "", 6.5)
		tw := pdf.GetStringWidth(when)
		pdf.SetXY(x+cw-tw, y)
		pdf.CellFormat(tw, lineH(7), when, "", 0, "R", false, 0, "")
		fitCell(pdf, x, y, cw-tw-1.5, lineH(7), "Helvetica", "B", 7, 5.5, tr(joinNonEmpty("  ", l.UHID, l.AgeSex)), "L")
	} else {
		fitCell(pdf, x, y, cw, lineH(7), "Helvetica", "B", 7, 5.5, tr(joinNonEmpty("  ", l.UHID, l.AgeSex)), "L")
	}
	y += lineH(7) + 0.4

	// The barcode, centred with its quiet zones, and the accession under it.
	bw := float64(total) * module
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("accession", opt, bytes.NewReader(img.Bytes()))
	pdf.ImageOptions("accession", (labelW-bw)/2, y, bw, labelBarH, false, opt, 0, "")
	y += labelBarH + 0.3
	fitCell(pdf, x, y, cw, 3.2, "Courier", "B", 8, 6, tr(l.Accession), "C")
	y += 3.3

	// The container and the tests it is for.
	what := strings.Join(l.Tests, ", ")
	if l.Container != "" && what != "" {
		what = l.Container + ": " + what
	} else if l.Container != "" {
		what = l.Container
	}
	fitCell(pdf, x, y, cw, lineH(6.5), "Helvetica", "", 6.5, 5.5, tr(what), "L")

	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("report: label %s: %w", l.Accession, err)
	}
	return nil
}

// newDoc starts a PDF whose bytes depend only on what is drawn on it: the
// dates are the document's own, and fonts and images are written sorted.
// fpdf writes dates without a zone, which readers take as UTC, so they are
// given in UTC.
func newDoc(size fpdf.SizeType, created time.Time, title string) *fpdf.Fpdf {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "P", UnitStr: "mm", Size: size})
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(created.UTC())
	pdf.SetModificationDate(created.UTC())
	pdf.SetCreator("Kavach", false)
	pdf.SetTitle(title, true)
	// Every page is laid out by hand; nothing may spill onto a page the
	// layout did not plan.
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCellMargin(0)
	return pdf
}

// fitCell writes text (already cp1252) on one line at (x, y), w mm wide,
// at the largest size from maxPt down to minPt at which it fits, cut with
// "..." if it does not fit even at minPt.
func fitCell(pdf *fpdf.Fpdf, x, y, w, h float64, family, style string, maxPt, minPt float64, text, align string) {
	if text == "" {
		return
	}
	pt := maxPt
	for ; pt > minPt; pt -= 0.5 {
		pdf.SetFont(family, style, pt)
		if pdf.GetStringWidth(text) <= w {
			break
		}
	}
	pdf.SetFont(family, style, pt)
	pdf.SetXY(x, y)
	pdf.CellFormat(w, h, cutText(pdf, text, w), "", 0, align, false, 0, "")
}

// cutText cuts text (cp1252) to fit w mm in the current font, marking the
// cut with "...".
func cutText(pdf *fpdf.Fpdf, text string, w float64) string {
	if pdf.GetStringWidth(text) <= w {
		return text
	}
	return cutMark(pdf, text, w)
}

// cutMark shortens text (cp1252) until it fits w mm with "..." after it,
// and returns it with the "...".
func cutMark(pdf *fpdf.Fpdf, text string, w float64) string {
	text = strings.TrimRight(text, " ")
	for text != "" && pdf.GetStringWidth(text+"...") > w {
		text = strings.TrimRight(text[:len(text)-1], " ")
	}
	return text + "..."
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// LabReport is what a released lab report shows. Everything here is taken
// from the journaled release event, so the PDF can be rendered again, byte
// for byte, from the journal (kavach verify-report does).
type LabReport struct {
	Hospital   string
	UHID       string
	Name       string
	AgeSex     string // "34 Y / M", at collection
	Accession  string
	Specimen   string // "Blood", "Serum"
	Container  string
	OrderedBy  string // the doctor or "Outside prescription: Dr X"
	Priority   string // "routine" or "urgent"
	Collected  time.Time
	Received   time.Time
	Released   time.Time
	VerifiedBy string // the pathologist's full name
	Version    int    // 1 for the first release
	// Amendment says why this version replaced the one before (Version > 1).
	Amendment string
	Tests     []LabReportTest
}

// LabReportTest is one test of a report with its results.
type LabReportTest struct {
	Code    string
	Name    string
	Results []LabReportResult
}

// LabReportResult is one analyte's result.
type LabReportResult struct {
	Code  string // catalogue code, "HGB"
	Name  string // "Haemoglobin"
	Value string // as entered, "13.5"
	Unit  string // "g/dL"
	Range string // the reference range that applied, "13.0–17.0"
	Flag  string // "", "H", "L", "HH", "LL"
}

// ReportProof is what proves a report: the release event's canonical
// bytes, its index in its origin node's journal, an inclusion proof to a
// signed checkpoint of that journal, and the node's verifier key. URL is
// the public verification page's address, which the QR code carries.
type ReportProof struct {
	URL        string   // what the QR code holds (and prints under it)
	Origin     string   // the origin node's code, "KA"
	Index      uint64   // the event's index in the origin's journal
	Event      []byte   // the event's canonical bytes
	Checkpoint []byte   // the signed checkpoint (C2SP note) the proof is to
	Proof      [][]byte // the inclusion proof of the event at Index
	Key        string   // the origin node's note verifier key
}

// LabReportPDF writes the report as an A4 PDF with a QR code of p.URL and
// the proof embedded, so that ReadReportProof can take it out again. The
// output depends only on r and p.
func LabReportPDF(w io.Writer, r LabReport, p ReportProof) error {
	return errors.New("report: LabReportPDF not built yet")
}

// ReadReportProof takes the embedded proof out of a report PDF made by
// LabReportPDF; it does not check it.
func ReadReportProof(pdf []byte) (*ReportProof, error) {
	return nil, errors.New("report: ReadReportProof not built yet")
}
