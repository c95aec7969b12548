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
	"kavach/idcode"
)

// Label is what a 50 × 25 mm sample label shows. One label goes on each
// container collected; its Code 128 barcode is the accession number, which
// the lab scans to receive the sample and analysers send back in OBR-3.
type Label struct {
	Accession string    // e.g. "KAL00001234" plus check character: the barcode
	UHID      string    // e.g. "KA00000127"
	Name      string    // Latin script
	NameHi    string    // the name in Devanagari, printed after Name; either may be empty
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

// name is the patient's name as the label prints it: the Latin and the
// Devanagari side by side, or whichever of them there is.
func (l Label) name() string {
	return joinNonEmpty(" / ", l.Name, l.NameHi)
}

// LabelPDF writes l as a one-page PDF exactly 50 mm wide and 25 mm high,
// for a label printer. Any text may be Devanagari. The output depends only
// on l.
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
	ts := NewTypesetter(pdf)
	x, cw := labelMargin, labelW-2*labelMargin

	// Name, with the URGENT mark at its right.
	y := 1.2
	nameW := cw
	if l.Urgent {
		mark := Style{Size: 7.5, Bold: true}
		bw := ts.Width("URGENT", mark) + 1.6
		pdf.SetFillColor(0, 0, 0)
		pdf.Rect(x+cw-bw, y+0.2, bw, 3.1, "F")
		pdf.SetTextColor(255, 255, 255)
		ts.Cell(x+cw-bw, y+0.2, bw, 3.1, "URGENT", mark, "C")
		pdf.SetTextColor(0, 0, 0)
		nameW -= bw + 1
	}
	ts.Fit(x, y, nameW, lineH(8), l.name(), Style{Size: 8, Bold: true}, 6.5, "L")
	y += lineH(8)

	// UHID and age/sex, with the collection time at the right.
	idW := cw
	if !l.Collected.IsZero() {
		when := kavach.ShowTime(l.Collected)
		st := Style{Size: 6.5}
		tw := ts.Width(when, st)
		ts.Cell(x+cw-tw, y, tw, lineH(7), when, st, "R")
		idW = cw - tw - 1.5
	}
	ts.Fit(x, y, idW, lineH(7), joinNonEmpty("  ", idcode.ShowUHID(l.UHID), l.AgeSex), Style{Size: 7, Bold: true}, 5.5, "L")
	y += lineH(7) + 0.4

	// The barcode, centred with its quiet zones, and the accession under it.
	bw := float64(total) * module
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	pdf.RegisterImageOptionsReader("accession", opt, bytes.NewReader(img.Bytes()))
	pdf.ImageOptions("accession", (labelW-bw)/2, y, bw, labelBarH, false, opt, 0, "")
	y += labelBarH + 0.3
	ts.Fit(x, y, cw, 3.2, l.Accession, Style{Size: 8, Bold: true, Mono: true}, 6, "C")
	y += 3.3

	// The container and the tests it is for.
	what := strings.Join(l.Tests, ", ")
	if l.Container != "" && what != "" {
		what = l.Container + ": " + what
	} else if l.Container != "" {
		what = l.Container
	}
	ts.Fit(x, y, cw, lineH(6.5), what, Style{Size: 6.5}, 5.5, "L")

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
	NameHi     string // the name in Devanagari, under Name (layout 2); may be empty
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
	// Layout is the layout the report is drawn in: 0 for the newest,
	// LabReportLayout. The proof LabReportPDF embeds always names it, and
	// ReadReportProof gives it back, so that drawing the report again
	// gives the same bytes.
	Layout int
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
	hi    string // the title in Hindi, over the English from layout 2
	w     float64
	align string
	lines int // most lines a cell wraps to
}{
	{"Investigation", "जाँच", 70, "L", 2},
	{"Result", "परिणाम", 28, "L", 3},
	{"Unit", "इकाई", 24, "L", 2},
	{"Reference range", "संदर्भ सीमा", 40, "L", 2},
	{"Flag", "संकेत", 18, "C", 1},
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
	if p.Layout != 0 && (p.Layout < 2 || p.Layout > LabReportLayout) {
		f.Add("layout", fmt.Sprintf("layout %d is not one Kavach draws (2 to %d)", p.Layout, LabReportLayout))
	}
	if len(f) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(f))
	for _, k := range []string{"uhid", "name", "accession", "released", "verified_by", "version", "amendment", "tests", "url", "layout"} {
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

// LabReportLayout is the layout LabReportPDF draws a report in. A change
// to the rendering is a new layout, drawn beside the old ones, which stay
// for the reports issued with them: kavach verify-report draws a report
// again in the layout its proof names.
//
//   - 2: Hindi beside English in the headings and any text in Devanagari,
//     times as "02 Dec 2026 09:14". (Layout 1, core fonts and English only,
//     was never in a released build.)
//   - 3: as 2, with times and the UHID as every page shows them,
//     "02-12-2026 09:14" (kavach.TimeLayout) and "KA-0000012-7"
//     (idcode.ShowUHID).
const LabReportLayout = 3

// LabReportPDF writes the report as an A4 PDF with a QR code of p.URL and
// the proof embedded, so that ReadReportProof can take it out again. The
// output depends only on r and p, drawn in p.Layout (LabReportLayout if
// 0), which the embedded proof records.
//
// The proof goes into the document's Keywords as "kavach-proof:" and the
// base64 of its JSON; fpdf writes the Info dictionary uncompressed, so the
// proof can be found in the file's bytes without a PDF parser.
func LabReportPDF(w io.Writer, r LabReport, p ReportProof) error {
	if err := r.validate(p); err != nil {
		return err
	}
	if p.Layout == 0 {
		p.Layout = LabReportLayout
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
	var pdf *fpdf.Fpdf
	var pages [2]int
	for pass := range 2 {
		d := newLabDoc(r, p, qrPNG, n, pages[0], keywords)
		d.draw()
		pdf, pages[pass] = d.pdf, d.page
		if err := pdf.Error(); err != nil {
			return fmt.Errorf("report: lab report %s: %w", r.Accession, err)
		}
	}
	if pages[1] != pages[0] {
		return fmt.Errorf("report: lab report %s: laid out on %d pages, then on %d", r.Accession, pages[0], pages[1])
	}
	if err := pdf.Output(w); err != nil {
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

func priorityText(p string) (text, style string) {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "urgent":
		return "URGENT", "B"
	case "routine":
		return "Routine", ""
	}
	return p, ""
}

// uhid shows the patient's UHID as the report's layout does: grouped as on
// every page from layout 3.
func (d *labDoc) uhid() string {
	if d.p.Layout == 2 {
		return d.r.UHID
	}
	return idcode.ShowUHID(d.r.UHID)
}

// time shows t as the report's layout does.
func (d *labDoc) time(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if d.p.Layout == 2 {
		return t.Format("02 Jan 2006 15:04")
	}
	return kavach.ShowTime(t)
}

// Layout 2's headings, Hindi beside English.
const (
	labTitle     = "प्रयोगशाला रिपोर्ट · LABORATORY REPORT"
	labContinued = "प्रयोगशाला रिपोर्ट (जारी) · LABORATORY REPORT (continued)"
	labPatient   = "रोगी · PATIENT"
	labSample    = "नमूना · SAMPLE"
	labEnd       = "— रिपोर्ट समाप्त · End of report —"
)

// labDoc lays out one lab report in p.Layout, page by page; y is
// where the next block starts on the current page. Any text may be
// Devanagari.
type labDoc struct {
	pdf   *fpdf.Fpdf
	ts    *Typesetter
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
	d := &labDoc{
		pdf:   pdf,
		ts:    NewTypesetter(pdf),
		r:     r,
		p:     p,
		qrPNG: qrPNG,
		qrN:   qrN,
		pages: pages,
		x:     repMargin,
		w:     a4W - 2*repMargin,
	}
	// The pass that counts the pages is thrown away.
	d.ts.noLayer = pages == 0
	return d
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
	st := Style{Size: 8.5, Bold: true}
	lh := d.ts.LineHeight(labContinued, st)
	d.ts.Fit(d.x, d.y, d.w, lh, joinNonEmpty(" · ", d.r.Hospital, labContinued), st, 7, "L")
	d.y += lh
	who := joinNonEmpty(" · ", d.r.Name, d.r.NameHi, "UHID "+d.uhid(), "Accession "+d.r.Accession, "Version "+strconv.Itoa(d.r.Version))
	st = Style{Size: 8.5}
	lh = d.ts.LineHeight(who, st)
	d.ts.Fit(d.x, d.y, d.w, lh, who, st, 7, "L")
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
	st := Style{Size: 7.5}
	lh := lineH(7.5)
	pdf.SetTextColor(80, 80, 80)
	nw := d.ts.Width(num, st)
	d.ts.Cell(d.x+d.w-nw, repFooterY+1, nw, lh, num, st, "R")
	left := joinNonEmpty(" · ", "Accession "+d.r.Accession, "UHID "+d.uhid(),
		"Version "+strconv.Itoa(d.r.Version), "Released "+d.time(d.r.Released))
	d.ts.Fit(d.x, repFooterY+1, d.w-nw-4, lh, left, st, 6, "L")
	pdf.SetTextColor(0, 0, 0)
}

func (d *labDoc) header() {
	if d.r.Hospital != "" {
		d.y = d.lines(d.x, d.y, d.w, d.r.Hospital, Style{Size: 15, Bold: true}, 2, "C") + 0.5
	}
	d.y = d.lines(d.x, d.y, d.w, labTitle, Style{Size: 13, Bold: true}, 1, "C")
	d.rule(0.4)
	if v := d.r.Version; v > 1 {
		// An amended report says so before anything else, in a box.
		st := Style{Size: 9.5, Bold: true}
		text := fmt.Sprintf("Version %d — replaces version %d: %s", v, v-1, d.r.Amendment)
		lh := d.ts.LineHeight(text, st)
		lines := d.ts.Wrap(text, st, d.w-4, 4)
		h := float64(len(lines))*lh + 2
		d.pdf.SetLineWidth(0.4)
		d.pdf.Rect(d.x, d.y, d.w, h, "D")
		y := d.y + 1
		for _, l := range lines {
			d.ts.Cell(d.x+2, y, d.w-4, lh, l, st, "L")
			y += lh
		}
		d.y += h + 2.5
	}
}

func (d *labDoc) patient() {
	d.section(labPatient)
	gap := 8.0
	cw := (d.w - gap) / 2
	x2 := d.x + cw + gap
	y1 := d.field(d.x, d.y, cw, "Name", Style{Size: 11, Bold: true}, 2, d.r.Name, d.r.NameHi)
	y2 := d.field(x2, d.y, cw, "UHID", Style{Size: 10, Bold: true}, 1, d.uhid())
	y2 = d.field(x2, y2, cw, "Age / Sex", Style{Size: 10}, 1, d.r.AgeSex)
	d.y = math.Max(y1, y2)
	d.rule(0.2)
}

func (d *labDoc) sample() {
	d.section(labSample)
	gap := 8.0
	cw := (d.w - gap) / 2
	x2 := d.x + cw + gap
	st, bold := Style{Size: 10}, Style{Size: 10, Bold: true}
	y1 := d.field(d.x, d.y, cw, "Accession", bold, 1, d.r.Accession)
	y1 = d.field(d.x, y1, cw, "Specimen", st, 1, d.r.Specimen)
	y1 = d.field(d.x, y1, cw, "Container", st, 1, d.r.Container)
	y1 = d.field(d.x, y1, cw, "Ordered by", st, 2, d.r.OrderedBy)
	prio, style := priorityText(d.r.Priority)
	y2 := d.field(x2, d.y, cw, "Priority", Style{Size: 10, Bold: style == "B"}, 1, prio)
	y2 = d.field(x2, y2, cw, "Collected", st, 1, d.time(d.r.Collected))
	y2 = d.field(x2, y2, cw, "Received", st, 1, d.time(d.r.Received))
	y2 = d.field(x2, y2, cw, "Released", bold, 1, d.time(d.r.Released))
	d.y = math.Max(y1, y2)
	d.rule(0.4)
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
		headH := d.ts.LineHeight(title, Style{Size: 10, Bold: true}) + 1
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
	st := Style{Size: 7.5}
	lines := d.ts.Wrap(labFlagNote, st, d.w, 2)
	d.ensure(float64(len(lines)) * lineH(7.5))
	d.pdf.SetTextColor(80, 80, 80)
	d.y = d.lines(d.x, d.y, d.w, labFlagNote, st, 2, "L")
	d.pdf.SetTextColor(0, 0, 0)
}

// tableHeader draws the column titles, the Hindi over the English.
func (d *labDoc) tableHeader() {
	hi, en := Style{Size: 8}, Style{Size: 8.5, Bold: true}
	hiH := d.ts.LineHeight(labCols[0].hi, hi)
	h := hiH + lineH(8.5) + 1.4
	d.pdf.SetFillColor(225, 225, 225)
	d.pdf.Rect(d.x, d.y, d.w, h, "F")
	x := d.x
	for _, c := range labCols {
		d.ts.Cell(x+1, d.y+0.7, c.w-2, hiH, c.hi, hi, c.align)
		d.ts.Cell(x+1, d.y+0.7+hiH, c.w-2, lineH(8.5), c.title, en, c.align)
		x += c.w
	}
	d.y += h
}

func (d *labDoc) testHeading(title string) {
	d.y += 1
	st := Style{Size: 10, Bold: true}
	lh := d.ts.LineHeight(title, st)
	d.ts.Fit(d.x+1, d.y, d.w-2, lh, title, st, 8, "L")
	d.y += lh
}

// labRow is one result laid out: each cell's lines, their line height,
// and the row's height.
type labRow struct {
	cells   [len(labCols)][]string
	lh      [len(labCols)]float64
	flagged bool
	h       float64
}

// cellStyle is the style of column i's text: a flagged result and its
// flag are bold.
func (row labRow) cellStyle(i int) Style {
	return Style{Size: repPt, Bold: row.flagged && (i == 1 || i == 4)}
}

func (d *labDoc) layoutRow(res LabReportResult) labRow {
	name := res.Name
	if name == "" {
		name = res.Code
	}
	row := labRow{flagged: res.Flag != ""}
	text := [len(labCols)]string{name, res.Value, res.Unit, res.Range, res.Flag}
	var h float64
	for i, c := range labCols {
		st := row.cellStyle(i)
		row.cells[i] = d.ts.Wrap(text[i], st, d.cellW(i), c.lines)
		row.lh[i] = d.ts.LineHeight(text[i], st)
		h = math.Max(h, float64(len(row.cells[i]))*row.lh[i])
	}
	row.h = h + 1.2
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
	x := d.x
	for i, c := range labCols {
		cx := x + 1
		if i == 0 {
			cx = x + 4
		}
		y := d.y + 0.6
		for _, l := range row.cells[i] {
			d.ts.Cell(cx, y, d.cellW(i), row.lh[i], l, row.cellStyle(i), c.align)
			y += row.lh[i]
		}
		x += c.w
	}
	d.y += row.h
	d.pdf.SetLineWidth(0.1)
	d.pdf.SetDrawColor(190, 190, 190)
	d.pdf.Line(d.x, d.y, d.x+d.w, d.y)
	d.pdf.SetDrawColor(0, 0, 0)
}

// verification draws the QR code of the verification URL, the URL under
// it, and who verified the report; it ends the report.
func (d *labDoc) verification() {
	pdf := d.pdf
	module := qrSymbol / float64(d.qrN)
	quiet := qrQuiet * module
	side := qrSymbol + 2*quiet
	mono := Style{Size: 7.5, Mono: true}
	urlLines := d.ts.Wrap(d.p.URL, mono, d.w, 3)
	h := side + lineH(8.5) + float64(len(urlLines))*lineH(7.5) + 2 + d.ts.LineHeight(labEnd, Style{Size: 8})
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
	d.ts.Cell(d.x, y, d.w, lineH(8.5), "Scan to check this report is genuine and current", Style{Size: 8.5, Bold: true}, "L")
	y += lineH(8.5)
	for _, l := range urlLines {
		d.ts.Cell(d.x, y, d.w, lineH(7.5), l, mono, "L")
		pdf.LinkString(d.x, y, d.ts.Width(l, mono), lineH(7.5), d.p.URL)
		y += lineH(7.5)
	}

	// Who verified it, beside the QR code.
	vx := d.x + qrSymbol + quiet + 8
	vw := d.x + d.w - vx
	vy := top + quiet + 2
	vy = d.lines(vx, vy, vw, "Verified by "+d.r.VerifiedBy, Style{Size: 11, Bold: true}, 2, "L")
	vy = d.lines(vx, vy, vw, "Released "+d.time(d.r.Released), Style{Size: 9}, 1, "L")
	d.lines(vx, vy, vw, "Report version "+strconv.Itoa(d.r.Version), Style{Size: 9}, 1, "L")

	d.y = y + 2
	pdf.SetTextColor(80, 80, 80)
	d.y = d.lines(d.x, d.y, d.w, labEnd, Style{Size: 8}, 1, "C")
	pdf.SetTextColor(0, 0, 0)
}

func (d *labDoc) section(title string) {
	d.pdf.SetTextColor(80, 80, 80)
	d.y = d.lines(d.x, d.y, d.w, title, Style{Size: 7.5, Bold: true}, 1, "L")
	d.pdf.SetTextColor(0, 0, 0)
}

// field draws "label  value" in a box w mm wide at (x, y), each value
// wrapped over at most maxLines lines under the one before, and returns the
// y below it. Empty values are left out, and a field with none.
func (d *labDoc) field(x, y, w float64, label string, st Style, maxLines int, values ...string) float64 {
	first := true
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		lh := d.ts.LineHeight(v, st)
		if first {
			d.pdf.SetTextColor(80, 80, 80)
			d.ts.Cell(x, y, repLabelW, lh, label, Style{Size: 8}, "L")
			d.pdf.SetTextColor(0, 0, 0)
			first = false
		}
		y = d.lines(x+repLabelW, y, w-repLabelW, v, st, maxLines, "L")
	}
	return y
}

// lines draws text from (x, y), wrapped to w mm over at most maxLines
// lines, and returns the y below it.
func (d *labDoc) lines(x, y, w float64, text string, st Style, maxLines int, align string) float64 {
	lh := d.ts.LineHeight(text, st)
	for _, l := range d.ts.Wrap(text, st, w, maxLines) {
		d.ts.Cell(x, y, w, lh, l, st, align)
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
	Layout     int      `json:"layout,omitempty"`
}

func proofKeywords(p ReportProof) (string, error) {
	b, err := json.Marshal(proofJSON{
		Origin: p.Origin, Index: p.Index, Event: p.Event, Checkpoint: p.Checkpoint,
		Proof: p.Proof, Key: p.Key, URL: p.URL, Layout: p.Layout,
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
		Checkpoint: j.Checkpoint, Proof: j.Proof, Key: j.Key, Layout: j.Layout,
	}, nil
}
