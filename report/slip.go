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
	"kavach/idcode"
)

// Slip is what an OPD slip shows. Every text field may mix Latin and
// Devanagari.
type Slip struct {
	Hospital           string    // hospital name, e.g. "Kavach Demo Hospital, New Delhi"
	UHID               string    // e.g. "KA00000127" (<=12 chars, A-Z0-9)
	Name               string    // Latin script
	NameHi             string    // the name in Devanagari, printed under Name; may be empty
	Guardian           string    // e.g. "S/O Ramesh Kumar" (already formatted)
	AgeSex             string    // e.g. "34 Y / M"
	Category           string    // e.g. "General", "BPL"
	CategoryID         string    // the category's card number (BPL card, staff ID); may be empty
	Mobile             string    // as it should be printed
	Address            string    // the whole address with city, state and PIN; wrapped on the slip
	Department         string    // e.g. "General Medicine (MED)"
	DepartmentHi       string    // the department's name in Hindi, printed under it; may be empty
	Unit, Room, Doctor string    // may be empty
	Days               string    // the unit's OPD days, e.g. "Mon–Sat"; may be empty
	VisitID            string    // printed for the billing and records desks
	VisitKind          string    // "New" or "Revisit"
	VisitKindHi        string    // VisitKind in Hindi, printed beside it, e.g. "नया"; may be empty
	Token              int       // queue number at the department; 0 = no token box
	TokenText          string    // the token as shown (a site's KB-17); the number if empty
	Time               time.Time // visit date and time (shown in the time's own location)
	ValidUpTo          time.Time // zero = omit
	Fee                string    // e.g. "₹10.00" or "Nil (BPL)"; empty = omit
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
	labelW       float64 // mm given to a field's label, Hindi and English
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
		labelW: 35, noteGap: 8,
	},
	Thermal80: {
		roll:  true,
		pageW: 80, margin: 4,
		module: 0.375, barH: 11,
		hospitalPt: 11, titlePt: 9, labelPt: 7.5, valuePt: 9, namePt: 10.5, tokenPt: 34,
		labelW: 26, noteLines: 4, noteGap: 7,
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

// label is a field's name in Hindi and English, printed side by side as
// the print view shows them.
type label struct{ hi, en string }

func (l label) String() string {
	if l.hi == "" {
		return l.en
	}
	return l.hi + " / " + l.en
}

// The slip's labels, in the words of the print view (opd's slip template
// and the Hindi of registration, opd and web).
var (
	lblName       = label{"रोगी का नाम", "Name"}
	lblGuardian   = label{"अभिभावक", "Guardian"}
	lblAgeSex     = label{"उम्र / लिंग", "Age / Sex"}
	lblCategory   = label{"श्रेणी", "Category"}
	lblCard       = label{"कार्ड सं.", "Card no."}
	lblMobile     = label{"मोबाइल", "Mobile"}
	lblAddress    = label{"पता", "Address"}
	lblDepartment = label{"विभाग", "Department"}
	lblUnit       = label{"यूनिट", "Unit"}
	lblRoom       = label{"कमरा सं.", "Room No."}
	lblDoctor     = label{"चिकित्सक", "Doctor"}
	lblDays       = label{"ओपीडी के दिन", "OPD days"}
	lblVisit      = label{"विज़िट", "Visit"}
	lblVisitID    = label{"विज़िट सं.", "Visit ID"}
	lblWhen       = label{"दिनांक व समय", "Date & time"}
	lblValid      = label{"तक मान्य", "Valid up to"}
	lblFee        = label{"शुल्क", "Fee"}
	lblToken      = label{"टोकन", "TOKEN"}
	lblNotes      = label{"टिप्पणी", "Notes / Rx"}
)

const (
	slipTitle  = "ओपीडी पर्ची · OPD SLIP"
	slipFooter = "कृपया हर बार यह पर्ची साथ लाएँ। Please bring this slip on every visit."
)

// SlipPDF writes s as a one-page OPD slip on paper of the given size.
//
// Labels are in Hindi and English side by side, and any field may be in
// Devanagari: a Typesetter shapes it with the embedded Noto Sans
// Devanagari, while Latin stays in the core Helvetica and Courier fonts
// (cp1252, so names such as "José" keep their accents). The output depends
// only on s and size, so printing the same slip twice gives the same bytes.
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
		probe.ts.noLayer = true
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
	ts   *Typesetter
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
		ts:  NewTypesetter(pdf),
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
		st := Style{Size: g.hospitalPt, Bold: true}
		d.y = d.lines(d.x, d.y, d.w, d.s.Hospital, st, 2, "C") + 0.5
	}
	d.y = d.lines(d.x, d.y, d.w, slipTitle, Style{Size: g.titlePt, Bold: true}, 1, "C")
	d.rule()
}

// lines draws text wrapped to w over at most maxLines lines from y, each
// aligned as align says, and returns the y below them.
func (d *slipDoc) lines(x, y, w float64, text string, st Style, maxLines int, align string) float64 {
	lh := d.ts.LineHeight(text, st)
	for _, l := range d.ts.Wrap(text, st, w, maxLines) {
		d.ts.Cell(x, y, w, lh, l, st, align)
		y += lh
	}
	return y
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

	hri := idcode.ShowUHID(d.s.UHID) // grouped for reading aloud, as every page shows it
	st := Style{Size: g.valuePt + 2, Bold: true, Mono: true}
	d.ts.Cell(x, d.y, bc.w, lineH(st.Size), hri, st, "C")
	d.y += lineH(st.Size)

	if !g.roll {
		right := d.x + bc.w - bc.quiet + 6
		cw := d.x + d.w - right
		y := top
		y = d.field(right, y, cw, 26, lblVisit, Style{Size: g.namePt + 2, Bold: true}, 1, d.visitKind())
		y = d.field(right, y, cw, 26, lblVisitID, Style{Size: g.valuePt}, 1, d.s.VisitID)
		d.y = math.Max(d.y, y)
	}
	d.rule()
}

// visitKind is "नया / New", or the English alone without its Hindi.
func (d *slipDoc) visitKind() string {
	return label{d.s.VisitKindHi, d.s.VisitKind}.String()
}

func (d *slipDoc) patient() {
	g := d.g
	s := d.s
	value := Style{Size: g.valuePt}
	name := Style{Size: g.namePt, Bold: true}
	if g.roll {
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblName, name, 3, s.Name, s.NameHi)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblGuardian, value, 2, s.Guardian)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblAgeSex, value, 1, s.AgeSex)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblCategory, value, 1, s.Category)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblCard, value, 1, s.CategoryID)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblMobile, value, 1, s.Mobile)
		// The roll is as long as the slip: the whole address, PIN and all.
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblAddress, value, 8, s.Address)
	} else {
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblName, name, 2, s.Name, s.NameHi)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblGuardian, value, 2, s.Guardian)
		d.pair(lblAgeSex, s.AgeSex, lblMobile, s.Mobile)
		d.pair(lblCategory, s.Category, lblCard, s.CategoryID)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblAddress, value, 3, s.Address)
	}
	d.rule()
}

// pair draws two fields side by side on A5.
func (d *slipDoc) pair(l1 label, v1 string, l2 label, v2 string) {
	gap := 4.0
	cw := (d.w - gap) / 2
	st := Style{Size: d.g.valuePt}
	y1 := d.field(d.x, d.y, cw, d.g.labelW, l1, st, 2, v1)
	y2 := d.field(d.x+cw+gap, d.y, cw, 25, l2, st, 2, v2)
	d.y = math.Max(y1, y2)
}

func (d *slipDoc) department() {
	g := d.g
	s := d.s
	// The print view's formats, so that the two slips read the same.
	when := kavach.ShowTime(s.Time)
	valid := ""
	if !s.ValidUpTo.IsZero() {
		valid = kavach.ShowDate(s.ValidUpTo)
	}
	value := Style{Size: g.valuePt}
	bold := Style{Size: g.valuePt, Bold: true}
	dept := Style{Size: g.valuePt + 1, Bold: true}

	if g.roll {
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblDepartment, dept, 2, s.Department, s.DepartmentHi)
		if s.Token > 0 {
			d.y = d.token(d.x+(d.w-40)/2, d.y+1, 40, 0) + 1.5
		}
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblUnit, value, 2, s.Unit)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblRoom, bold, 2, s.Room)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblDoctor, value, 2, s.Doctor)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblDays, value, 2, s.Days)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblVisit, bold, 1, d.visitKind())
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblVisitID, value, 1, s.VisitID)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblWhen, value, 1, when)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblValid, value, 1, valid)
		d.y = d.field(d.x, d.y, d.w, g.labelW, lblFee, value, 1, s.Fee)
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
	y := d.field(d.x, top, cw, g.labelW, lblDepartment, dept, 2, s.Department, s.DepartmentHi)
	y = d.field(d.x, y, cw, g.labelW, lblUnit, value, 2, s.Unit)
	y = d.field(d.x, y, cw, g.labelW, lblRoom, bold, 1, s.Room)
	y = d.field(d.x, y, cw, g.labelW, lblDoctor, value, 1, s.Doctor)
	y = d.field(d.x, y, cw, g.labelW, lblDays, value, 1, s.Days)
	y = d.field(d.x, y, cw, g.labelW, lblWhen, bold, 1, when)
	y = d.field(d.x, y, cw, g.labelW, lblValid, value, 1, valid)
	y = d.field(d.x, y, cw, g.labelW, lblFee, value, 1, s.Fee)
	d.y = y
	if s.Token > 0 {
		d.y = math.Max(y, d.token(d.x+d.w-tokenW, top, tokenW, y-top-1)+1)
	}
	d.rule()
}

// token draws the boxed token number, big enough to read across a waiting
// hall, and returns the box's bottom edge. The box is at least h tall.
func (d *slipDoc) token(x, y, w, h float64) float64 {
	g := d.g
	title := Style{Size: g.labelPt + 1, Bold: true}
	titleH := d.ts.LineHeight(lblToken.String(), title)
	num := strconv.Itoa(d.s.Token)
	if d.s.TokenText != "" {
		num = d.s.TokenText
	}
	st := Style{Size: g.tokenPt, Bold: true}
	for st.Size > 6 && d.ts.Width(num, st) > w-3 {
		st.Size--
	}
	h = math.Max(h, 1.5+titleH+st.Size*ptToMM*1.1+2)

	d.pdf.SetLineWidth(0.5)
	d.pdf.SetDrawColor(0, 0, 0)
	d.pdf.Rect(x, y, w, h, "D")
	d.ts.Cell(x, y+1.5, w, titleH, lblToken.String(), title, "C")
	top := y + 1.5 + titleH
	d.ts.Cell(x, top, w, y+h-top, num, st, "C")
	return y + h
}

// notes draws the blank "Notes / Rx" body the doctor writes in, on A5
// ruled down to the foot of the page, on a roll a few lines, and the
// footer under it.
func (d *slipDoc) notes() {
	g := d.g
	d.y = d.lines(d.x, d.y, d.w, lblNotes.String(), Style{Size: g.valuePt, Bold: true}, 1, "L")

	foot := Style{Size: 7}
	footH := d.ts.LineHeight(slipFooter, foot)
	footLines := d.ts.Wrap(slipFooter, foot, d.w, 2)
	bottom := d.y + float64(g.noteLines)*g.noteGap
	if !g.roll {
		bottom = g.pageH - g.margin - float64(len(footLines))*footH - 2
	}
	d.pdf.SetLineWidth(0.2)
	d.pdf.SetDrawColor(160, 160, 160)
	for y := d.y + g.noteGap; y <= bottom+0.01; y += g.noteGap {
		d.pdf.Line(d.x, y, d.x+d.w, y)
		d.y = y
	}
	d.pdf.SetDrawColor(0, 0, 0)

	y := d.y + 2
	if !g.roll {
		y = g.pageH - g.margin - float64(len(footLines))*footH
	}
	d.pdf.SetTextColor(90, 90, 90)
	for _, l := range footLines {
		d.ts.Cell(d.x, y, d.w, footH, l, foot, "C")
		y += footH
	}
	d.pdf.SetTextColor(0, 0, 0)
	d.y = y
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

// field draws a field's label, Hindi and English, in labelW at the left
// of a box w wide at (x, y), and its values to the right, each wrapped
// over at most maxLines lines, one under the other; it returns the y below
// it. The first lines of label and value share a baseline. Empty values are
// left out, and a field with none altogether.
func (d *slipDoc) field(x, y, w, labelW float64, l label, st Style, maxLines int, values ...string) float64 {
	type line struct {
		text string
		h    float64
	}
	var vals []line
	for _, v := range values {
		if strings.TrimSpace(v) == "" {
			continue
		}
		lh := d.ts.LineHeight(v, st)
		for _, t := range d.ts.Wrap(v, st, w-labelW, maxLines) {
			vals = append(vals, line{t, lh})
		}
	}
	if len(vals) == 0 {
		return y
	}
	ls := Style{Size: d.g.labelPt}
	name := l.String()
	llh := d.ts.LineHeight(name, ls)
	labels := d.ts.Wrap(name, ls, labelW-1.5, 2)

	// Ascent above the first baseline, as Cell places text in a line.
	lasc := d.ts.Baseline(0, llh, ls)
	vasc := d.ts.Baseline(0, vals[0].h, st)
	base := y + math.Max(lasc, vasc)

	d.pdf.SetTextColor(80, 80, 80)
	b := base
	for _, t := range labels {
		d.ts.Draw(x, b, t, ls)
		b += llh
	}
	bottom := base - lasc + float64(len(labels))*llh
	d.pdf.SetTextColor(0, 0, 0)
	b = base
	vb := base - vasc
	for _, v := range vals {
		d.ts.Draw(x+labelW, b, v.text, st)
		b += v.h
		vb += v.h
	}
	return math.Max(bottom, vb)
}
