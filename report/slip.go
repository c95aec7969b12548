package report

import (
	"bytes"
	"fmt"
	"image/png"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"

	"kavach"
)

// Slip is what an OPD slip shows.
type Slip struct {
	Hospital           string    // hospital name, e.g. "Kavach Demo Hospital, New Delhi"
	UHID               string    // e.g. "KA00000127" (<=12 chars, A-Z0-9)
	UHIDDisplay        string    // grouped for reading aloud, e.g. "KA-0000-0127"; falls back to UHID if empty
	Name               string    // Latin script
	Guardian           string    // e.g. "S/O Ramesh Kumar" (already formatted)
	AgeSex             string    // e.g. "34 Y / M"
	Category           string    // e.g. "General", "BPL"
	Mobile             string    // as it should be printed
	Address            string    // one line; wrapped on the slip
	Department         string    // e.g. "General Medicine (MED)"
	Unit, Room, Doctor string    // may be empty
	VisitID            string    // printed for the billing and records desks
	VisitKind          string    // "New" or "Revisit"
	Token              int       // queue number at the department; 0 = no token box
	TokenText          string    // the token as shown (a site's KB-17); the number if empty
	Time               time.Time // visit date and time (shown in the time's own location)
	ValidUpTo          time.Time // zero = omit
	Fee                string    // e.g. "Rs 10.00" or "Nil (BPL)"; empty = omit
}

// PageSize is the paper an OPD slip is printed on.
type PageSize int

const (
	// A5 is a portrait A5 sheet (148 × 210 mm) with a ruled body for the
	// doctor's notes; the usual laser-printer slip.
	A5 PageSize = iota
	// Thermal80 is an 80 mm receipt roll; the page is exactly as long as
	// the slip, so the printer cuts it without wasting paper.
	Thermal80
)

func (p PageSize) String() string {
	switch p {
	case A5:
		return "A5"
	case Thermal80:
		return "Thermal80"
	}
	return "PageSize(" + strconv.Itoa(int(p)) + ")"
}

// geometry holds the measures of one page size, in millimetres and points.
type geometry struct {
	roll         bool    // single column, height fitted to content
	pageW, pageH float64 // mm; pageH is ignored on a roll
	margin       float64 // mm, all sides
	module       float64 // widest barcode module (X dimension), mm
	barH         float64 // barcode bar height, mm
	hospitalPt   float64
	titlePt      float64
	labelPt      float64
	valuePt      float64
	namePt       float64
	tokenPt      float64
	labelW       float64 // mm given to a field's label
	noteLines    int     // ruled lines on a roll; A5 rules the rest of the page
	noteGap      float64 // mm between ruled lines
}

// X = 0.375 mm is 3 dots on a 203 dpi thermal head and comfortably above
// what handheld counter scanners resolve; a 12-character UHID (at most 167
// modules plus quiet zones) still fits the 72 mm a roll printer can reach.
var geometries = map[PageSize]geometry{
	A5: {
		pageW: 148, pageH: 210, margin: 10,
		module: 0.375, barH: 13,
		hospitalPt: 15, titlePt: 11, labelPt: 8, valuePt: 10, namePt: 12, tokenPt: 40,
		labelW: 24, noteGap: 8,
	},
	Thermal80: {
		roll:  true,
		pageW: 80, margin: 4,
		module: 0.375, barH: 11,
		hospitalPt: 11, titlePt: 9, labelPt: 7.5, valuePt: 9, namePt: 10.5, tokenPt: 34,
		labelW: 19, noteLines: 4, noteGap: 7,
	},
}

// barcodePxPerModule oversamples the embedded barcode image so that a
// viewer or printer driver which smooths images when scaling only softens
// the edges of bars instead of smearing whole modules into grey.
const barcodePxPerModule = 4

const (
	ptToMM  = 25.4 / 72
	leading = 1.25 // line height as a multiple of the font size
)

func lineH(pt float64) float64 { return pt * ptToMM * leading }

// validate reports the fields a slip cannot be printed without, in words
// the registration clerk can act on, as an EINVALID error.
func (s Slip) validate() error {
	f := kavach.Fields{}
	switch {
	case s.UHID == "":
		f.Add("uhid", "UHID is empty")
	case len(s.UHID) > 12:
		f.Add("uhid", fmt.Sprintf("UHID %q is longer than 12 characters", s.UHID))
	case strings.IndexFunc(s.UHID, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) >= 0:
		f.Add("uhid", fmt.Sprintf("UHID %q may contain only capital letters A-Z and digits 0-9", s.UHID))
	}
	if strings.TrimSpace(s.Name) == "" {
		f.Add("name", "patient Name is empty")
	}
	if s.Time.IsZero() {
		f.Add("time", "visit Time is not set")
	}
	if len(f) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(f))
	for _, k := range []string{"uhid", "name", "time"} {
		if m, ok := f[k]; ok {
			msgs = append(msgs, m)
		}
	}
	return &kavach.Error{
		Code:    kavach.EINVALID,
		Message: "Cannot print the OPD slip: " + strings.Join(msgs, "; ") + ".",
		Fields:  f,
	}
}

// SlipPDF writes s as a one-page OPD slip on paper of the given size.
//
// The PDF uses only the core Helvetica and Courier fonts: fpdf cannot shape
// Devanagari, so the labels are in English only, and text is translated to
// cp1252 so that names such as "José" keep their accents (characters outside
// cp1252 print as "."). The output depends only on s and size, so printing
// the same slip twice gives the same bytes.
func SlipPDF(w io.Writer, s Slip, size PageSize) error {
	if err := s.validate(); err != nil {
		return err
	}
	g, ok := geometries[size]
	if !ok {
		return fmt.Errorf("report: OPD slip for %s: unknown page size %v", s.UHID, size)
	}
	bars, err := code128Bars(s.UHID)
	if err != nil {
		return err
	}
	total := len(bars) + 2*quietModules
	module := math.Min(g.module, (g.pageW-2*g.margin)/float64(total))
	pxH := int(math.Round(g.barH / module * barcodePxPerModule))
	var img bytes.Buffer
	if err := png.Encode(&img, drawBars(bars, total*barcodePxPerModule, pxH, barcodePxPerModule)); err != nil {
		return fmt.Errorf("report: OPD slip for %s: barcode: %w", s.UHID, err)
	}
	bc := slipBarcode{png: img.Bytes(), w: float64(total) * module, quiet: quietModules * module}

	pageH := g.pageH
	if g.roll {
		// fpdf fixes the page size before anything is drawn, so lay the
		// slip out once on a long strip to learn how long the roll must be.
		probe := newSlipDoc(s, g, 1000)
		end := probe.draw(bc)
		if err := probe.pdf.Error(); err != nil {
			return fmt.Errorf("report: OPD slip for %s: %w", s.UHID, err)
		}
		pageH = math.Ceil(end + g.margin)
	}
	d := newSlipDoc(s, g, pageH)
	d.draw(bc)
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("report: OPD slip for %s: %w", s.UHID, err)
	}
	return nil
}

// slipBarcode is the UHID barcode image, with its quiet zone, and its
// printed width in mm.
type slipBarcode struct {
	png      []byte
	w, quiet float64
}

// slipDoc draws one slip top to bottom; y is where the next block starts.
type slipDoc struct {
	pdf  *fpdf.Fpdf
	tr   func(string) string
	s    Slip
	g    geometry
	x, w float64 // content box
	y    float64
}

func newSlipDoc(s Slip, g geometry, pageH float64) *slipDoc {
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: g.pageW, Ht: pageH},
	})
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(s.Time)
	pdf.SetModificationDate(s.Time)
	pdf.SetCreator("Kavach", false)
	pdf.SetTitle("OPD slip "+s.UHID, true)
	pdf.SetAuthor(s.Hospital, true)
	pdf.SetMargins(g.margin, g.margin, g.margin)
	// One slip is one page: long text is wrapped or cut, never spilled.
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCellMargin(0)
	pdf.AddPage()
	return &slipDoc{
		pdf: pdf,
		tr:  pdf.UnicodeTranslatorFromDescriptor(""), // cp1252
		s:   s,
		g:   g,
		x:   g.margin,
		w:   g.pageW - 2*g.margin,
		y:   g.margin,
	}
}

// draw lays out the whole slip and returns the y just below its last mark.
func (d *slipDoc) draw(bc slipBarcode) float64 {
	d.header()
	d.barcode(bc)
	d.patient()
	d.department()
	d.notes()
	return d.y
}

func (d *slipDoc) header() {
	g := d.g
	if d.s.Hospital != "" {
		d.pdf.SetFont("Helvetica", "B", g.hospitalPt)
		d.y = d.textLines(d.x, d.y, d.w, d.s.Hospital, 2, "C", lineH(g.hospitalPt)) + 0.5
	}
	d.pdf.SetFont("Helvetica", "B", g.titlePt)
	d.pdf.SetXY(d.x, d.y)
	d.pdf.CellFormat(d.w, lineH(g.titlePt), "OPD SLIP", "", 0, "C", false, 0, "")
	d.y += lineH(g.titlePt)
	d.rule()
}

// barcode draws the UHID barcode with its human-readable text under it; on
// A5 the visit kind and visit ID sit to its right.
func (d *slipDoc) barcode(bc slipBarcode) {
	g := d.g
	// The quiet zone is part of the image; on A5 let it overhang into the
	// page margin so the bars line up with the text below.
	x := d.x - bc.quiet
	if g.roll {
		x = d.x + (d.w-bc.w)/2
	}
	d.y += 1
	opt := fpdf.ImageOptions{ImageType: "PNG"}
	d.pdf.RegisterImageOptionsReader("uhid", opt, bytes.NewReader(bc.png))
	d.pdf.ImageOptions("uhid", x, d.y, bc.w, g.barH, false, opt, 0, "")
	top := d.y
	d.y += g.barH + 0.8

	hri := d.s.UHIDDisplay
	if hri == "" {
		hri = d.s.UHID
	}
	pt := g.valuePt + 2
	d.pdf.SetFont("Courier", "B", pt)
	d.pdf.SetXY(x, d.y)
	d.pdf.CellFormat(bc.w, lineH(pt), d.tr(hri), "", 0, "C", false, 0, "")
	d.y += lineH(pt)

	if !g.roll {
		right := d.x + bc.w - bc.quiet + 6
		cw := d.x + d.w - right
		y := top
		if d.s.VisitKind != "" {
			y = d.field(right, y, cw, g.labelW-6, "Visit", d.s.VisitKind, "B", g.namePt+2, 1)
		}
		y = d.field(right, y, cw, g.labelW-6, "Visit ID", d.s.VisitID, "", g.valuePt, 1)
		d.y = math.Max(d.y, y)
	}
	d.rule()
}

func (d *slipDoc) patient() {
	g := d.g
	if g.roll {
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Name", d.s.Name, "B", g.namePt, 3)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Guardian", d.s.Guardian, "", g.valuePt, 2)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Age / Sex", d.s.AgeSex, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Category", d.s.Category, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Mobile", d.s.Mobile, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Address", d.s.Address, "", g.valuePt, 3)
	} else {
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Name", d.s.Name, "B", g.namePt, 2)
		d.pair("Guardian", d.s.Guardian, "Age / Sex", d.s.AgeSex)
		d.pair("Category", d.s.Category, "Mobile", d.s.Mobile)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Address", d.s.Address, "", g.valuePt, 2)
	}
	d.rule()
}

// pair draws two fields side by side on A5.
func (d *slipDoc) pair(l1, v1, l2, v2 string) {
	gap := 6.0
	cw := (d.w - gap) / 2
	y1 := d.field(d.x, d.y, cw, d.g.labelW, l1, v1, "", d.g.valuePt, 2)
	y2 := d.field(d.x+cw+gap, d.y, cw, d.g.labelW-6, l2, v2, "", d.g.valuePt, 2)
	d.y = math.Max(y1, y2)
}

func (d *slipDoc) department() {
	g := d.g
	s := d.s
	unitLabel, unit := unitRoom(s.Unit, s.Room)
	when := s.Time.Format("Mon, 02 Jan 2006, 03:04 PM")
	valid := ""
	if !s.ValidUpTo.IsZero() {
		valid = s.ValidUpTo.Format("Mon, 02 Jan 2006")
	}

	if g.roll {
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Department", s.Department, "B", g.valuePt+1, 2)
		if s.Token > 0 {
			d.y = d.token(d.x+(d.w-40)/2, d.y+1, 40, 0) + 1.5
		}
		d.y = d.field(d.x, d.y, d.w, g.labelW, unitLabel, unit, "", g.valuePt, 2)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Doctor", s.Doctor, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Visit", s.VisitKind, "B", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Visit ID", s.VisitID, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Date & time", when, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Valid up to", valid, "", g.valuePt, 1)
		d.y = d.field(d.x, d.y, d.w, g.labelW, "Fee", s.Fee, "", g.valuePt, 1)
		d.rule()
		return
	}

	// A token of 0 means the queue has not given one; a printed "0"
	// would send the patient to the wrong place in the line.
	tokenW := 36.0
	cw := d.w - tokenW - 5
	if s.Token <= 0 {
		cw = d.w
	}
	top := d.y
	y := d.field(d.x, top, cw, g.labelW, "Department", s.Department, "B", g.valuePt+1, 2)
	y = d.field(d.x, y, cw, g.labelW, unitLabel, unit, "", g.valuePt, 2)
	y = d.field(d.x, y, cw, g.labelW, "Doctor", s.Doctor, "", g.valuePt, 1)
	y = d.field(d.x, y, cw, g.labelW, "Date & time", when, "B", g.valuePt, 1)
	y = d.field(d.x, y, cw, g.labelW, "Valid up to", valid, "", g.valuePt, 1)
	y = d.field(d.x, y, cw, g.labelW, "Fee", s.Fee, "", g.valuePt, 1)
	d.y = y
	if s.Token > 0 {
		d.y = math.Max(y, d.token(d.x+d.w-tokenW, top, tokenW, y-top-1)+1)
	}
	d.rule()
}

// unitRoom joins the unit and room into one field, labelled for whichever
// of them is known.
func unitRoom(unit, room string) (label, value string) {
	switch {
	case unit != "" && room != "":
		return "Unit / Room", unit + " / " + room
	case room != "":
		return "Room", room
	}
	return "Unit", unit
}

// token draws the boxed token number, big enough to read across a waiting
// hall, and returns the box's bottom edge. The box is at least h tall.
func (d *slipDoc) token(x, y, w, h float64) float64 {
	g := d.g
	labelH := lineH(g.labelPt + 1)
	num := strconv.Itoa(d.s.Token)
	if d.s.TokenText != "" {
		num = d.s.TokenText
	}
	pt := d.fitPt("Helvetica", "B", g.tokenPt, num, w-3)
	h = math.Max(h, 1.5+labelH+pt*ptToMM*1.1+2)

	d.pdf.SetLineWidth(0.5)
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.Rect(x, y, w, h, "D")
	d.pdf.SetFont("Helvetica", "B", g.labelPt+1)
	d.pdf.SetXY(x, y+1.5)
	d.pdf.CellFormat(w, labelH, "TOKEN", "", 0, "C", false, 0, "")
	d.pdf.SetFont("Helvetica", "B", pt)
	top := y + 1.5 + labelH
	d.pdf.SetXY(x, top)
	d.pdf.CellFormat(w, y+h-top, num, "", 0, "CM", false, 0, "")
	return y + h
}

// fitPt returns the largest size up to maxPt at which text fits in w mm.
func (d *slipDoc) fitPt(family, style string, maxPt float64, text string, w float64) float64 {
	pt := maxPt
	for ; pt > 6; pt-- {
		d.pdf.SetFont(family, style, pt)
		if d.pdf.GetStringWidth(text) <= w {
			break
		}
	}
	return pt
}

// notes draws the blank "Notes / Rx" body the doctor writes in: on A5 ruled
// down to the foot of the page, on a roll a few lines.
func (d *slipDoc) notes() {
	g := d.g
	d.pdf.SetFont("Helvetica", "B", g.valuePt)
	d.pdf.SetXY(d.x, d.y)
	d.pdf.CellFormat(d.w, lineH(g.valuePt), "Notes / Rx", "", 0, "L", false, 0, "")
	d.y += lineH(g.valuePt)

	bottom := d.y + float64(g.noteLines)*g.noteGap
	if !g.roll {
		bottom = g.pageH - g.margin - lineH(7) - 2
	}
	d.pdf.SetLineWidth(0.2)
	d.pdf.SetDrawColor(160, 160, 160)
	for y := d.y + g.noteGap; y <= bottom+0.01; y += g.noteGap {
		d.pdf.Line(d.x, y, d.x+d.w, y)
		d.y = y
	}
	d.pdf.SetDrawColor(0, 0, 0)

	if !g.roll {
		d.pdf.SetFont("Helvetica", "", 7)
		d.pdf.SetTextColor(90, 90, 90)
		d.pdf.SetXY(d.x, g.pageH-g.margin-lineH(7))
		d.pdf.CellFormat(d.w, lineH(7), "Please bring this slip on every visit.", "", 0, "C", false, 0, "")
		d.pdf.SetTextColor(0, 0, 0)
	}
}

// rule draws a horizontal line across the content box below the current
// block and leaves a little space after it.
func (d *slipDoc) rule() {
	d.y += 1.2
	d.pdf.SetLineWidth(0.3)
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.Line(d.x, d.y, d.x+d.w, d.y)
	d.y += 1.8
}

// field draws "label  value" in a box w mm wide at (x, y), wrapping the
// value over at most maxLines lines, and returns the y below it. Empty
// values are left out altogether.
func (d *slipDoc) field(x, y, w, labelW float64, label, value, style string, pt float64, maxLines int) float64 {
	if strings.TrimSpace(value) == "" {
		return y
	}
	lh := lineH(pt)
	d.pdf.SetFont("Helvetica", "", d.g.labelPt)
	d.pdf.SetTextColor(80, 80, 80)
	d.pdf.SetXY(x, y)
	d.pdf.CellFormat(labelW, lh, label, "", 0, "L", false, 0, "")
	d.pdf.SetTextColor(0, 0, 0)
	d.pdf.SetFont("Helvetica", style, pt)
	return d.textLines(x+labelW, y, w-labelW, value, maxLines, "L", lh)
}

// textLines writes text in the current font from (x, y), wrapped to w mm
// and cut with "..." after maxLines lines, and returns the y below it.
func (d *slipDoc) textLines(x, y, w float64, text string, maxLines int, align string, lh float64) float64 {
	lines := d.pdf.SplitLines([]byte(d.tr(text)), w)
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		last := strings.TrimRight(string(lines[maxLines-1]), " ")
		for last != "" && d.pdf.GetStringWidth(last+"...") > w {
			last = last[:len(last)-1]
		}
		lines[maxLines-1] = []byte(last + "...")
	}
	for _, l := range lines {
		d.pdf.SetXY(x, y)
		d.pdf.CellFormat(w, lh, string(l), "", 0, align, false, 0, "")
		y += lh
	}
	return y
}
