package report

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/go-pdf/fpdf"
)

// The lab report's first layout, frozen: core fonts only, text in cp1252,
// English only. Reports released before layout 2 carry no layout in their
// proof and are drawn again with it, byte for byte, when kavach
// verify-report checks them, so nothing here may change; its golden test
// (TestLabReportPDFGolden, layout 1) says when something did.

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

// labDoc1 lays out one lab report in layout 1, page by page; y is where the next block
// starts on the current page.
type labDoc1 struct {
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

func newLabDoc1(r LabReport, p ReportProof, qrPNG []byte, qrN, pages int, keywords string) *labDoc1 {
	pdf := newDoc(fpdf.SizeType{Wd: a4W, Ht: a4H}, r.Released, "Laboratory report "+r.Accession)
	pdf.SetAuthor(r.Hospital, true)
	pdf.SetKeywords(keywords, false)
	pdf.SetMargins(repMargin, repTop, repMargin)
	return &labDoc1{
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

func (d *labDoc1) draw() {
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
func (d *labDoc1) newPage() {
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
func (d *labDoc1) ensure(h float64) bool {
	if d.y+h <= repBottom {
		return false
	}
	d.newPage()
	return true
}

func (d *labDoc1) footer() {
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

func (d *labDoc1) header() {
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

func (d *labDoc1) patient() {
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

func (d *labDoc1) sample() {
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

// results draws the results table: per test a heading row, then a row per
// analyte. A test is never split from its first result, and a page that
// continues a test repeats the column titles and the test's name.
func (d *labDoc1) results() {
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

func (d *labDoc1) tableHeader() {
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

func (d *labDoc1) testHeading(title string) {
	d.y += 1
	fitCell(d.pdf, d.x+1, d.y, d.w-2, lineH(10), "Helvetica", "B", 10, 8, d.tr(title), "L")
	d.y += lineH(10)
}

// labRow1 is one result laid out: each cell's lines and the row's height.
type labRow1 struct {
	cells   [len(labCols)][]string
	flagged bool
	h       float64
}

func (d *labDoc1) layoutRow(res LabReportResult) labRow1 {
	name := res.Name
	if name == "" {
		name = res.Code
	}
	row := labRow1{flagged: res.Flag != ""}
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
func (d *labDoc1) cellW(i int) float64 {
	if i == 0 {
		return labCols[0].w - 5
	}
	return labCols[i].w - 2
}

func (d *labDoc1) drawRow(row labRow1) {
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
func (d *labDoc1) verification() {
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

func (d *labDoc1) section(title string) {
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
func (d *labDoc1) field(x, y, w float64, label, value, style string, pt float64, maxLines int) float64 {
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
func (d *labDoc1) lines(x, y, w float64, text string, maxLines int, align string, lh float64) float64 {
	for _, l := range wrapText(d.pdf, text, w, maxLines) {
		d.pdf.SetXY(x, y)
		d.pdf.CellFormat(w, lh, l, "", 0, align, false, 0, "")
		y += lh
	}
	return y
}

// rule draws a horizontal line across the content box below the current
// block and leaves a little space after it.
func (d *labDoc1) rule(width float64) {
	d.y += 1.2
	d.pdf.SetLineWidth(width)
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.Line(d.x, d.y, d.x+d.w, d.y)
	d.y += 1.8
}
