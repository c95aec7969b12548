package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"
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

// wrapText splits text (cp1252) into lines w mm wide in the current font,
// at most maxLines of them, the last cut with "..." if there is more.
func wrapText(pdf *fpdf.Fpdf, text string, w float64, maxLines int) []string {
	var lines []string
	for _, l := range pdf.SplitLines([]byte(text), w) {
		lines = append(lines, string(l))
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = cutMark(pdf, lines[maxLines-1], w)
	}
	return lines
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

// The lab report's measures, in millimetres.
const (
	a4W, a4H   = 210.0, 297.0
	repMargin  = 15.0       // left and right
	repTop     = 12.0       // first line of every page
	repBottom  = a4H - 19.0 // nothing but the footer below this
	repFooterY = a4H - 14.0 // the footer's rule
	repLabelW  = 24.0       // a field's label
	repPt      = 9.0        // results table text
	// qrSymbol is the side of the QR symbol without its quiet zone: big
	// enough for a phone to read from a sheet on a desk, small enough to
	// leave the page to the results.
	qrSymbol = 32.0
	// qrQuiet is the quiet zone round the QR symbol, in modules, as
	// ISO/IEC 18004 asks.
	qrQuiet = 4
	// qrMaxModules is the largest QR symbol printed (version 10, about 200
	// characters of URL at level M): at 32 mm its modules are 0.56 mm,
	// still read by a phone; a longer URL is refused, not printed smaller.
	qrMaxModules = 57
)

// labCols are the results table's columns; their widths fill the 180 mm
// between the margins.
var labCols = [...]struct {
	title string
	w     float64
	align string
	lines int // most lines a cell wraps to
}{
	{"Investigation", 70, "L", 2},
	{"Result", 28, "L", 3},
	{"Unit", 24, "L", 2},
	{"Reference range", 40, "L", 2},
	{"Flag", 18, "C", 1},
}

const labFlagNote = "Flags: H = above the reference range, L = below the reference range; " +
	"HH / LL = critical value, beyond the laboratory's critical limits."

// validate reports what a report cannot be printed without, as an
// EINVALID error naming the fields.
func (r LabReport) validate(p ReportProof) error {
	f := kavach.Fields{}
	if strings.TrimSpace(r.UHID) == "" {
		f.Add("uhid", "UHID is empty")
	}
	if strings.TrimSpace(r.Name) == "" {
		f.Add("name", "patient Name is empty")
	}
	if strings.TrimSpace(r.Accession) == "" {
		f.Add("accession", "Accession is empty")
	}
	if r.Released.IsZero() {
		f.Add("released", "Released time is not set")
	}
	if strings.TrimSpace(r.VerifiedBy) == "" {
		f.Add("verified_by", "VerifiedBy is empty: a report is released only once a pathologist has verified it")
	}
	switch {
	case r.Version < 1:
		f.Add("version", fmt.Sprintf("Version %d is not 1 or more", r.Version))
	case r.Version > 1 && strings.TrimSpace(r.Amendment) == "":
		f.Add("amendment", fmt.Sprintf("Version %d replaces version %d but the Amendment does not say why", r.Version, r.Version-1))
	}
	if len(r.Tests) == 0 {
		f.Add("tests", "the report has no Tests")
	}
	for i, t := range r.Tests {
		if strings.TrimSpace(t.Name) == "" && strings.TrimSpace(t.Code) == "" {
			f.Add("tests", fmt.Sprintf("test %d of the Tests has neither a Name nor a Code", i+1))
		}
	}
	switch {
	case p.URL == "":
		f.Add("url", "verification URL is empty, so the QR code would carry nothing")
	case strings.IndexFunc(p.URL, func(r rune) bool { return r <= 0x20 || r > 0x7e }) >= 0:
		f.Add("url", fmt.Sprintf("verification URL %q may contain only ASCII characters and no spaces", p.URL))
	default:
		if _, n, err := qrModules(p.URL); err != nil || n > qrMaxModules {
			f.Add("url", fmt.Sprintf("verification URL is %d characters, too long for a QR code a phone can read from the printed report", len(p.URL)))
		}
	}
	if len(f) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(f))
	for _, k := range []string{"uhid", "name", "accession", "released", "verified_by", "version", "amendment", "tests", "url"} {
		if m, ok := f[k]; ok {
			msgs = append(msgs, m)
		}
	}
	return &kavach.Error{
		Code:    kavach.EINVALID,
		Message: "Cannot print the lab report: " + strings.Join(msgs, "; ") + ".",
		Fields:  f,
	}
}

// LabReportPDF writes the report as an A4 PDF with a QR code of p.URL and
// the proof embedded, so that ReadReportProof can take it out again. The
// output depends only on r and p.
//
// Like the OPD slip it uses only the core fonts with text in cp1252. The
// proof goes into the document's Keywords as "kavach-proof:" and the
// base64 of its JSON; fpdf writes the Info dictionary uncompressed, so the
// proof can be found in the file's bytes without a PDF parser.
func LabReportPDF(w io.Writer, r LabReport, p ReportProof) error {
	if err := r.validate(p); err != nil {
		return err
	}
	mods, n, err := qrModules(p.URL)
	if err != nil {
		return fmt.Errorf("report: lab report %s: QR code: %w", r.Accession, err)
	}
	qrPNG, err := qrImage(mods, n)
	if err != nil {
		return fmt.Errorf("report: lab report %s: QR code: %w", r.Accession, err)
	}
	keywords, err := proofKeywords(p)
	if err != nil {
		return fmt.Errorf("report: lab report %s: %w", r.Accession, err)
	}

	// Every page says "Page i of n", so lay the report out once to count
	// the pages, then again to print them.
	probe := newLabDoc(r, p, qrPNG, n, 0, keywords)
	probe.draw()
	if err := probe.pdf.Error(); err != nil {
		return fmt.Errorf("report: lab report %s: %w", r.Accession, err)
	}
	d := newLabDoc(r, p, qrPNG, n, probe.page, keywords)
	d.draw()
	if d.page != probe.page {
		return fmt.Errorf("report: lab report %s: laid out on %d pages, then on %d", r.Accession, probe.page, d.page)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("report: lab report %s: %w", r.Accession, err)
	}
	return nil
}

// qrModules encodes url as a QR code at error correction level M and
// returns its modules row by row, true for a dark one, and its side in
// modules, without the quiet zone.
func qrModules(url string) ([]bool, int, error) {
	code, err := qr.Encode(url, qr.M, qr.Auto)
	if err != nil {
		return nil, 0, err
	}
	b := code.Bounds()
	n := b.Dx()
	mods := make([]bool, n*n)
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			r, _, _, _ := code.At(b.Min.X+x, b.Min.Y+y).RGBA()
			mods[y*n+x] = r < 0x8000
		}
	}
	return mods, n, nil
}

// qrImage draws an n × n QR symbol with its quiet zone as a PNG, every
// module the same whole number of pixels so that its edges stay sharp.
func qrImage(mods []bool, n int) ([]byte, error) {
	const px = barcodePxPerModule
	side := (n + 2*qrQuiet) * px
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for i, dark := range mods {
		if !dark {
			continue
		}
		x0, y0 := (i%n+qrQuiet)*px, (i/n+qrQuiet)*px
		for y := y0; y < y0+px; y++ {
			for x := x0; x < x0+px; x++ {
				img.SetGray(x, y, color.Gray{Y: 0})
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// labDoc lays out one lab report, page by page; y is where the next block
// starts on the current page.
type labDoc struct {
	pdf   *fpdf.Fpdf
	tr    func(string) string
	r     LabReport
	p     ReportProof
	qrPNG []byte
	qrN   int // QR side in modules, without the quiet zone
	pages int // the page count; 0 while it is being counted
	page  int
	x, w  float64 // content box
	y     float64
}

func newLabDoc(r LabReport, p ReportProof, qrPNG []byte, qrN, pages int, keywords string) *labDoc {
	pdf := newDoc(fpdf.SizeType{Wd: a4W, Ht: a4H}, r.Released, "Laboratory report "+r.Accession)
	pdf.SetAuthor(r.Hospital, true)
	pdf.SetKeywords(keywords, false)
	pdf.SetMargins(repMargin, repTop, repMargin)
	return &labDoc{
		pdf:   pdf,
		tr:    pdf.UnicodeTranslatorFromDescriptor(""), // cp1252
		r:     r,
		p:     p,
		qrPNG: qrPNG,
		qrN:   qrN,
		pages: pages,
		x:     repMargin,
		w:     a4W - 2*repMargin,
	}
}

func (d *labDoc) draw() {
	d.newPage()
	d.header()
	d.patient()
	d.sample()
	d.results()
	d.verification()
	d.footer()
}

// newPage ends the current page, if any, with its footer and starts the
// next. Pages after the first repeat whose report they belong to, so that
// a page that comes loose can still be put back.
func (d *labDoc) newPage() {
	if d.page > 0 {
		d.footer()
	}
	d.pdf.AddPage()
	d.page++
	d.y = repTop
	if d.page == 1 {
		return
	}
	lh := lineH(8.5)
	fitCell(d.pdf, d.x, d.y, d.w, lh, "Helvetica", "B", 8.5, 7,
		d.tr(joinNonEmpty(" \u00b7 ", d.r.Hospital, "LABORATORY REPORT (continued)")), "L")
	d.y += lh
	fitCell(d.pdf, d.x, d.y, d.w, lh, "Helvetica", "", 8.5, 7,
		d.tr(joinNonEmpty(" \u00b7 ", d.r.Name, "UHID "+d.r.UHID, "Accession "+d.r.Accession, "Version "+strconv.Itoa(d.r.Version))), "L")
	d.y += lh
	d.rule(0.4)
}

// ensure starts a new page unless h mm fit above the footer; it reports
// whether it did.
func (d *labDoc) ensure(h float64) bool {
	if d.y+h <= repBottom {
		return false
	}
	d.newPage()
	return true
}

func (d *labDoc) footer() {
	pdf := d.pdf
	pdf.SetLineWidth(0.2)
	pdf.SetDrawColor(0, 0, 0)
	pdf.Line(d.x, repFooterY, d.x+d.w, repFooterY)
	of := "?"
	if d.pages > 0 {
		of = strconv.Itoa(d.pages)
	}
	num := fmt.Sprintf("Page %d of %s", d.page, of)
	lh := lineH(7.5)
	pdf.SetTextColor(80, 80, 80)
	pdf.SetFont("Helvetica", "", 7.5)
	nw := pdf.GetStringWidth(num)
	pdf.SetXY(d.x+d.w-nw, repFooterY+1)
	pdf.CellFormat(nw, lh, num, "", 0, "R", false, 0, "")
	left := joinNonEmpty(" \u00b7 ", "Accession "+d.r.Accession, "UHID "+d.r.UHID,
		"Version "+strconv.Itoa(d.r.Version), "Released "+fmtTime(d.r.Released))
	fitCell(pdf, d.x, repFooterY+1, d.w-nw-4, lh, "Helvetica", "", 7.5, 6, d.tr(left), "L")
	pdf.SetTextColor(0, 0, 0)
}

func (d *labDoc) header() {
	pdf := d.pdf
	if d.r.Hospital != "" {
		pdf.SetFont("Helvetica", "B", 15)
		d.y = d.lines(d.x, d.y, d.w, d.tr(d.r.Hospital), 2, "C", lineH(15)) + 0.5
	}
	pdf.SetFont("Helvetica", "B", 13)
	pdf.SetXY(d.x, d.y)
	pdf.CellFormat(d.w, lineH(13), "LABORATORY REPORT", "", 0, "C", false, 0, "")
	d.y += lineH(13)
	d.rule(0.4)
	if v := d.r.Version; v > 1 {
		// An amended report says so before anything else, in a box.
		pdf.SetFont("Helvetica", "B", 9.5)
		text := fmt.Sprintf("Version %d \u2014 replaces version %d: %s", v, v-1, d.r.Amendment)
		lines := wrapText(pdf, d.tr(text), d.w-4, 4)
		h := float64(len(lines))*lineH(9.5) + 2
		pdf.SetLineWidth(0.4)
		pdf.Rect(d.x, d.y, d.w, h, "D")
		y := d.y + 1
		for _, l := range lines {
			pdf.SetXY(d.x+2, y)
			pdf.CellFormat(d.w-4, lineH(9.5), l, "", 0, "L", false, 0, "")
			y += lineH(9.5)
		}
		d.y += h + 2.5
	}
}

func (d *labDoc) patient() {
	d.section("PATIENT")
	gap := 8.0
	cw := (d.w - gap) / 2
	x2 := d.x + cw + gap
	y1 := d.field(d.x, d.y, cw, "Name", d.r.Name, "B", 11, 2)
	y2 := d.field(x2, d.y, cw, "UHID", d.r.UHID, "B", 10, 1)
	y2 = d.field(x2, y2, cw, "Age / Sex", d.r.AgeSex, "", 10, 1)
	d.y = math.Max(y1, y2)
	d.rule(0.2)
}

func (d *labDoc) sample() {
	d.section("SAMPLE")
	gap := 8.0
	cw := (d.w - gap) / 2
	x2 := d.x + cw + gap
	y1 := d.field(d.x, d.y, cw, "Accession", d.r.Accession, "B", 10, 1)
	y1 = d.field(d.x, y1, cw, "Specimen", d.r.Specimen, "", 10, 1)
	y1 = d.field(d.x, y1, cw, "Container", d.r.Container, "", 10, 1)
	y1 = d.field(d.x, y1, cw, "Ordered by", d.r.OrderedBy, "", 10, 2)
	prio, style := priorityText(d.r.Priority)
	y2 := d.field(x2, d.y, cw, "Priority", prio, style, 10, 1)
	y2 = d.field(x2, y2, cw, "Collected", fmtTime(d.r.Collected), "", 10, 1)
	y2 = d.field(x2, y2, cw, "Received", fmtTime(d.r.Received), "", 10, 1)
	y2 = d.field(x2, y2, cw, "Released", fmtTime(d.r.Released), "B", 10, 1)
	d.y = math.Max(y1, y2)
	d.rule(0.4)
}

func priorityText(p string) (text, style string) {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "urgent":
		return "URGENT", "B"
	case "routine":
		return "Routine", ""
	}
	return p, ""
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(labelTime)
}

// results draws the results table: per test a heading row, then a row per
// analyte. A test is never split from its first result, and a page that
// continues a test repeats the column titles and the test's name.
func (d *labDoc) results() {
	d.y += 1
	d.tableHeader()
	for _, t := range d.r.Tests {
		title := t.Name
		if title == "" {
			title = t.Code
		} else if t.Code != "" && t.Code != t.Name {
			title += " (" + t.Code + ")"
		}
		headH := lineH(10) + 1
		first := headH
		if len(t.Results) > 0 {
			first += d.layoutRow(t.Results[0]).h
		}
		if d.ensure(first) {
			d.tableHeader()
		}
		d.testHeading(title)
		for _, res := range t.Results {
			row := d.layoutRow(res)
			if d.ensure(row.h) {
				d.tableHeader()
				d.testHeading(title + " (continued)")
			}
			d.drawRow(row)
		}
	}
	d.y += 2
	d.pdf.SetFont("Helvetica", "", 7.5)
	lines := wrapText(d.pdf, labFlagNote, d.w, 2)
	d.ensure(float64(len(lines)) * lineH(7.5))
	d.pdf.SetTextColor(80, 80, 80)
	d.y = d.lines(d.x, d.y, d.w, labFlagNote, 2, "L", lineH(7.5))
	d.pdf.SetTextColor(0, 0, 0)
}

func (d *labDoc) tableHeader() {
	pdf := d.pdf
	h := lineH(8.5) + 1.4
	pdf.SetFillColor(225, 225, 225)
	pdf.Rect(d.x, d.y, d.w, h, "F")
	pdf.SetFont("Helvetica", "B", 8.5)
	x := d.x
	for _, c := range labCols {
		pdf.SetXY(x+1, d.y+0.7)
		pdf.CellFormat(c.w-2, lineH(8.5), c.title, "", 0, c.align, false, 0, "")
		x += c.w
	}
	d.y += h
}

func (d *labDoc) testHeading(title string) {
	d.y += 1
	fitCell(d.pdf, d.x+1, d.y, d.w-2, lineH(10), "Helvetica", "B", 10, 8, d.tr(title), "L")
	d.y += lineH(10)
}

// labRow is one result laid out: each cell's lines and the row's height.
type labRow struct {
	cells   [len(labCols)][]string
	flagged bool
	h       float64
}

func (d *labDoc) layoutRow(res LabReportResult) labRow {
	name := res.Name
	if name == "" {
		name = res.Code
	}
	row := labRow{flagged: res.Flag != ""}
	text := [len(labCols)]string{name, res.Value, res.Unit, res.Range, res.Flag}
	n := 1
	for i, c := range labCols {
		style := ""
		if row.flagged && (i == 1 || i == 4) {
			style = "B"
		}
		d.pdf.SetFont("Helvetica", style, repPt)
		row.cells[i] = wrapText(d.pdf, d.tr(text[i]), d.cellW(i), c.lines)
		n = max(n, len(row.cells[i]))
	}
	row.h = float64(n)*lineH(repPt) + 1.2
	return row
}

// cellW is the text width of column i: analytes are indented under their
// test, and every cell keeps 1 mm clear either side.
func (d *labDoc) cellW(i int) float64 {
	if i == 0 {
		return labCols[0].w - 5
	}
	return labCols[i].w - 2
}

func (d *labDoc) drawRow(row labRow) {
	pdf := d.pdf
	x := d.x
	for i, c := range labCols {
		style := ""
		if row.flagged && (i == 1 || i == 4) {
			style = "B"
		}
		pdf.SetFont("Helvetica", style, repPt)
		cx := x + 1
		if i == 0 {
			cx = x + 4
		}
		y := d.y + 0.6
		for _, l := range row.cells[i] {
			pdf.SetXY(cx, y)
			pdf.CellFormat(d.cellW(i), lineH(repPt), l, "", 0, c.align, false, 0, "")
			y += lineH(repPt)
		}
		x += c.w
	}
	d.y += row.h
	pdf.SetLineWidth(0.1)
	pdf.SetDrawColor(190, 190, 190)
	pdf.Line(d.x, d.y, d.x+d.w, d.y)
	pdf.SetDrawColor(0, 0, 0)
}

// verification draws the QR code of the verification URL, the URL under
// it, and who verified the report; it ends the report.
func (d *labDoc) verification() {
	pdf := d.pdf
	module := qrSymbol / float64(d.qrN)
	quiet := qrQuiet * module
	side := qrSymbol + 2*quiet
	pdf.SetFont("Courier", "", 7.5)
	urlLines := wrapText(pdf, d.p.URL, d.w, 3)
	h := side + lineH(8.5) + float64(len(urlLines))*lineH(7.5) + 2 + lineH(8)
	d.y += 2
	d.ensure(h)

	// The quiet zone is part of the image; it overhangs into the margin so
	// that the symbol lines up with the text under it.
	top := d.y
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("qr", opt, bytes.NewReader(d.qrPNG))
	pdf.ImageOptions("qr", d.x-quiet, top, side, side, false, opt, 0, "")
	pdf.LinkString(d.x, top+quiet, qrSymbol, qrSymbol, d.p.URL)
	y := top + side
	pdf.SetFont("Helvetica", "B", 8.5)
	pdf.SetXY(d.x, y)
	pdf.CellFormat(d.w, lineH(8.5), "Scan to check this report is genuine and current", "", 0, "L", false, 0, "")
	y += lineH(8.5)
	pdf.SetFont("Courier", "", 7.5)
	for _, l := range urlLines {
		pdf.SetXY(d.x, y)
		pdf.CellFormat(d.w, lineH(7.5), l, "", 0, "L", false, 0, "")
		pdf.LinkString(d.x, y, pdf.GetStringWidth(l), lineH(7.5), d.p.URL)
		y += lineH(7.5)
	}

	// Who verified it, beside the QR code.
	vx := d.x + qrSymbol + quiet + 8
	vw := d.x + d.w - vx
	vy := top + quiet + 2
	pdf.SetFont("Helvetica", "B", 11)
	vy = d.lines(vx, vy, vw, d.tr("Verified by "+d.r.VerifiedBy), 2, "L", lineH(11))
	pdf.SetFont("Helvetica", "", 9)
	vy = d.lines(vx, vy, vw, "Released "+fmtTime(d.r.Released), 1, "L", lineH(9))
	d.lines(vx, vy, vw, "Report version "+strconv.Itoa(d.r.Version), 1, "L", lineH(9))

	d.y = y + 2
	pdf.SetFont("Helvetica", "", 8)
	pdf.SetTextColor(80, 80, 80)
	pdf.SetXY(d.x, d.y)
	pdf.CellFormat(d.w, lineH(8), d.tr("\u2014 End of report \u2014"), "", 0, "C", false, 0, "")
	pdf.SetTextColor(0, 0, 0)
	d.y += lineH(8)
}

func (d *labDoc) section(title string) {
	d.pdf.SetFont("Helvetica", "B", 7.5)
	d.pdf.SetTextColor(80, 80, 80)
	d.pdf.SetXY(d.x, d.y)
	d.pdf.CellFormat(d.w, lineH(7.5), title, "", 0, "L", false, 0, "")
	d.pdf.SetTextColor(0, 0, 0)
	d.y += lineH(7.5)
}

// field draws "label  value" in a box w mm wide at (x, y), wrapping the
// value over at most maxLines lines, and returns the y below it. Empty
// values are left out.
func (d *labDoc) field(x, y, w float64, label, value, style string, pt float64, maxLines int) float64 {
	if strings.TrimSpace(value) == "" {
		return y
	}
	lh := lineH(pt)
	d.pdf.SetFont("Helvetica", "", 8)
	d.pdf.SetTextColor(80, 80, 80)
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(repLabelW, lh, label, "", 0, "L", false, 0, "")
	d.pdf.SetTextColor(0, 0, 0)
	d.pdf.SetFont("Helvetica", style, pt)
	return d.lines(x+repLabelW, y, w-repLabelW, d.tr(value), maxLines, "L", lh)
}

// lines writes text (cp1252) in the current font from (x, y), wrapped to
// w mm over at most maxLines lines, and returns the y below it.
func (d *labDoc) lines(x, y, w float64, text string, maxLines int, align string, lh float64) float64 {
	for _, l := range wrapText(d.pdf, text, w, maxLines) {
		d.pdf.SetXY(x, y)
		d.pdf.CellFormat(w, lh, l, "", 0, align, false, 0, "")
		y += lh
	}
	return y
}

// rule draws a horizontal line across the content box below the current
// block and leaves a little space after it.
func (d *labDoc) rule(width float64) {
	d.y += 1.2
	d.pdf.SetLineWidth(width)
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.Line(d.x, d.y, d.x+d.w, d.y)
	d.y += 1.8
}

// proofMarker starts the proof in a report's Keywords; the base64 of the
// proof's JSON follows it.
const proofMarker = "kavach-proof:"

var proofRE = regexp.MustCompile(proofMarker + `([A-Za-z0-9+/]*={0,2})`)

// proofJSON is the embedded form of a ReportProof; []byte fields are
// standard base64 in JSON.
type proofJSON struct {
	Origin     string   `json:"origin"`
	Index      uint64   `json:"index"`
	Event      []byte   `json:"event"`
	Checkpoint []byte   `json:"checkpoint"`
	Proof      [][]byte `json:"proof"`
	Key        string   `json:"key"`
	URL        string   `json:"url"`
}

func proofKeywords(p ReportProof) (string, error) {
	b, err := json.Marshal(proofJSON{
		Origin: p.Origin, Index: p.Index, Event: p.Event, Checkpoint: p.Checkpoint,
		Proof: p.Proof, Key: p.Key, URL: p.URL,
	})
	if err != nil {
		return "", fmt.Errorf("proof: %w", err)
	}
	return proofMarker + base64.StdEncoding.EncodeToString(b), nil
}

// ReadReportProof takes the embedded proof out of a report PDF made by
// LabReportPDF; it does not check it.
func ReadReportProof(pdf []byte) (*ReportProof, error) {
	ms := proofRE.FindAllSubmatch(pdf, -1)
	if len(ms) == 0 {
		return nil, kavach.Errorf(kavach.EINVALID, "This PDF carries no Kavach report proof: either Kavach did not make it, or it was saved again or printed to PDF after it was issued.")
	}
	enc := ms[0][1]
	for _, m := range ms[1:] {
		if !bytes.Equal(m[1], enc) {
			return nil, kavach.Errorf(kavach.EINVALID, "This PDF carries more than one Kavach report proof, so it was changed after it was issued.")
		}
	}
	raw, err := base64.StdEncoding.DecodeString(string(enc))
	if err != nil || len(raw) == 0 {
		return nil, kavach.Errorf(kavach.EINVALID, "The Kavach report proof in this PDF is damaged: it is not valid base64.")
	}
	var j proofJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, kavach.Errorf(kavach.EINVALID, "The Kavach report proof in this PDF is damaged: %v.", err)
	}
	return &ReportProof{
		URL: j.URL, Origin: j.Origin, Index: j.Index, Event: j.Event,
		Checkpoint: j.Checkpoint, Proof: j.Proof, Key: j.Key,
	}, nil
}
