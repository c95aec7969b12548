package report

import (
	"bytes"
	_ "embed"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/go-pdf/fpdf"
	"github.com/go-text/typesetting/di"
	"github.com/go-text/typesetting/font"
	ot "github.com/go-text/typesetting/font/opentype"
	"github.com/go-text/typesetting/language"
	"github.com/go-text/typesetting/shaping"
	"golang.org/x/image/math/fixed"
)

// Devanagari in a PDF.
//
// fpdf writes text one character after another with the font's default
// widths; Devanagari needs shaping (conjuncts such as क्ष and त्र, the matra
// ि drawn before the consonant it follows, marks placed above and below),
// which fpdf cannot do. So text is split into runs: Latin that the core
// fonts can print (cp1252) stays in Helvetica or Courier as before, small
// and selectable; Devanagari, and anything else cp1252 lacks that Noto has
// (₹), is shaped by go-text/typesetting (a Go port of HarfBuzz) with Noto
// Sans Devanagari and drawn as the glyphs' outlines. Under the outlines the
// same text is written again in text render mode 3 (invisible), in a subset
// of the same font that fpdf embeds with a ToUnicode map, stretched to the
// width of the drawn run, so that the PDF can be searched and copied from
// and pdftotext reads the Hindi.
//
// Why outlines: fpdf can embed a TrueType font but writes each character's
// own glyph at its own width, and has no way to write the glyphs a shaper
// chose, where it placed them. Writing real shaped text would mean a Type 3
// or Identity-H font fpdf does not manage, or another PDF library for every
// document. Outlines cost size instead: a slip with Hindi labels is about
// 46 KB where its English-only predecessor was 3 KB.
//
// Everything drawn depends only on the text, the style and the embedded
// fonts: no clock, no map order, no randomness. A new version of the fonts
// or of go-text/typesetting may shape or draw differently, which the golden
// tests of the lab report catch.

//go:embed fonts/NotoSansDevanagari-Regular.ttf
var notoRegular []byte

//go:embed fonts/NotoSansDevanagari-Bold.ttf
var notoBold []byte

//go:embed fonts/OFL.txt
var notoLicense string

// FontLicense is the SIL Open Font License of Noto Sans Devanagari, the
// font that Kavach's PDFs embed; the OFL asks that it go with the font.
func FontLicense() string { return notoLicense }

// notoFonts are the parsed fonts, shared: a *font.Font is read-only and
// safe for concurrent use, unlike a *font.Face.
var notoFonts = sync.OnceValues(func() ([2]*font.Font, error) {
	var fs [2]*font.Font
	for i, b := range [][]byte{notoRegular, notoBold} {
		f, err := font.ParseTTF(bytes.NewReader(b))
		if err != nil {
			return fs, fmt.Errorf("report: Noto Sans Devanagari: %w", err)
		}
		fs[i] = f.Font
	}
	return fs, nil
})

// layerFamily is the fpdf family name of the invisible text layer's font.
const layerFamily = "kavachnotodeva"

// Style is how a run of text is drawn.
type Style struct {
	Size float64 // points
	Bold bool
	// Mono draws Latin in Courier instead of Helvetica. Devanagari has no
	// monospaced face and is drawn in Noto Sans Devanagari either way.
	Mono bool
}

// Typesetter draws text mixing Latin and Devanagari into one fpdf document.
// Make one per document with NewTypesetter; it is not safe for concurrent
// use. Its methods take positions and widths in the document's unit.
//
// Drawing and measuring select fonts in the document, so set the font again
// before drawing with fpdf directly.
type Typesetter struct {
	pdf    *fpdf.Fpdf
	tr     func(string) string
	faces  [2]*font.Face
	upem   float64
	shaper shaping.HarfbuzzShaper
	core   map[rune]bool // rune -> cp1252 has it
	layer  bool          // the invisible layer's font is added to pdf
	// noLayer leaves the invisible text out, for a layout pass whose
	// document is thrown away: adding its font to a document costs more
	// than the rest of a slip.
	noLayer bool
	err     error
}

// NewTypesetter returns a Typesetter drawing into pdf. Errors (a font that
// does not parse) are set on pdf, as fpdf does, so pdf.Output reports them.
func NewTypesetter(pdf *fpdf.Fpdf) *Typesetter {
	t := &Typesetter{
		pdf:  pdf,
		tr:   pdf.UnicodeTranslatorFromDescriptor(""), // cp1252
		core: map[rune]bool{},
	}
	fs, err := notoFonts()
	if err != nil {
		t.err = err
		pdf.SetError(err)
		return t
	}
	for i, f := range fs {
		t.faces[i] = font.NewFace(f)
	}
	t.upem = float64(fs[0].Upem())
	return t
}

// HasDevanagari reports whether s has a character of the Devanagari blocks.
func HasDevanagari(s string) bool {
	return strings.IndexFunc(s, isDevanagari) >= 0
}

func isDevanagari(r rune) bool {
	return r >= 0x0900 && r <= 0x097F || // Devanagari
		r >= 0xA8E0 && r <= 0xA8FF || // Devanagari Extended
		r >= 0x1CD0 && r <= 0x1CFF // Vedic Extensions
}

// span is a piece of a line drawn in one way: shaped in Noto, or in a
// core font.
type span struct {
	text   string
	shaped bool
}

// runeClass sorts characters for splitting text into spans.
type runeClass int

const (
	neutral  runeClass = iota // spaces, digits, punctuation: go with their neighbours
	coreOnly                  // Latin letters cp1252 has
	notoOnly                  // Devanagari, joiners, and what cp1252 lacks but Noto has
)

func (t *Typesetter) class(r rune) runeClass {
	switch {
	case isDevanagari(r), r == 0x200C, r == 0x200D, r == 0x25CC:
		return notoOnly
	}
	core, ok := t.core[r]
	if !ok {
		core = r < utf8.RuneSelf || t.tr(string(r)) != "."
		t.core[r] = core
	}
	if !core {
		if t.faces[0] != nil {
			if _, ok := t.faces[0].NominalGlyph(r); ok {
				return notoOnly
			}
		}
		return coreOnly // the core font prints it as "."
	}
	if unicode.IsLetter(r) {
		return coreOnly
	}
	return neutral
}

// spans splits s into spans. Neutral characters join the span before them,
// or the first span when they lead, so that "रोगी का नाम / Name" is one
// shaped span "रोगी का नाम / " and one core span "Name".
func (t *Typesetter) spans(s string) []span {
	var out []span
	start, cur := 0, neutral
	for i, r := range s {
		c := t.class(r)
		if c == neutral || c == cur {
			continue
		}
		if cur != neutral {
			out = append(out, span{s[start:i], cur == notoOnly})
			start = i
		}
		cur = c
	}
	if s != "" {
		out = append(out, span{s[start:], cur == notoOnly})
	}
	return out
}

type shapeKey struct {
	text string
	bold bool
}

// shapedRun is a span shaped at one em: positions are in font units.
type shapedRun struct {
	glyphs  []placedGlyph
	advance float64
	bold    bool
}

type placedGlyph struct {
	id   font.GID
	x, y float64
}

// cache keeps shaped runs and glyph outlines across documents: every slip
// and report draws the same labels. Both depend on the text and the fonts
// alone, so sharing them changes no output. Entries are never changed once
// stored.
var cache = struct {
	sync.Mutex
	runs  map[shapeKey]*shapedRun
	paths [2]map[font.GID]string
}{
	runs:  map[shapeKey]*shapedRun{},
	paths: [2]map[font.GID]string{{}, {}},
}

// maxCachedRuns bounds the cache of shaped runs; when it is full it is
// emptied. Glyph outlines need no bound: a font has a few thousand glyphs.
const maxCachedRuns = 4096

func (t *Typesetter) shape(text string, bold bool) *shapedRun {
	k := shapeKey{text, bold}
	cache.Lock()
	r, ok := cache.runs[k]
	cache.Unlock()
	if ok {
		return r
	}
	face := t.faces[0]
	if bold {
		face = t.faces[1]
	}
	runes := []rune(text)
	script := language.Devanagari
	for _, r := range runes {
		if s := language.LookupScript(r); s != language.Common && s != language.Inherited && s != language.Unknown {
			script = s
			break
		}
	}
	out := t.shaper.Shape(shaping.Input{
		Text:      runes,
		RunStart:  0,
		RunEnd:    len(runes),
		Direction: di.DirectionLTR,
		Face:      face,
		Size:      fixed.I(int(t.upem)), // one em: positions come out in font units
		Script:    script,
		Language:  language.NewLanguage("hi"),
	})
	run := &shapedRun{bold: bold}
	var pen float64
	for _, g := range out.Glyphs {
		run.glyphs = append(run.glyphs, placedGlyph{
			id: g.GlyphID,
			x:  pen + fx(g.XOffset),
			y:  fx(g.YOffset),
		})
		pen += fx(g.Advance)
	}
	run.advance = pen
	cache.Lock()
	if len(cache.runs) >= maxCachedRuns {
		clear(cache.runs)
	}
	cache.runs[k] = run
	cache.Unlock()
	return run
}

func fx(v fixed.Int26_6) float64 { return float64(v) / 64 }

// Width is how wide s is drawn in st.
func (t *Typesetter) Width(s string, st Style) float64 {
	var w float64
	for _, sp := range t.spans(s) {
		w += t.spanWidth(sp, st)
	}
	return w
}

func (t *Typesetter) spanWidth(sp span, st Style) float64 {
	if !sp.shaped || t.err != nil {
		t.setCore(st)
		return t.pdf.GetStringWidth(t.tr(sp.text))
	}
	return t.shape(sp.text, st.Bold).advance / t.upem * t.pdf.PointConvert(st.Size)
}

func (t *Typesetter) setCore(st Style) {
	family, style := "Helvetica", ""
	if st.Mono {
		family = "Courier"
	}
	if st.Bold {
		style = "B"
	}
	t.pdf.SetFont(family, style, st.Size)
}

// Draw draws s in st with its baseline at y, starting at x, in the
// document's text colour, and returns its width.
func (t *Typesetter) Draw(x, y float64, s string, st Style) float64 {
	x0 := x
	for _, sp := range t.spans(s) {
		w := t.spanWidth(sp, st)
		if sp.shaped && t.err == nil {
			t.drawShaped(x, y, w, sp.text, st)
		} else {
			t.setCore(st)
			t.pdf.Text(x, y, t.tr(sp.text))
		}
		x += w
	}
	return x - x0
}

// Baseline is where CellFormat puts the baseline of text in a cell at y,
// h high: Cell draws there so that Latin lands where it always did.
func (t *Typesetter) Baseline(y, h float64, st Style) float64 {
	return y + h/2 + 0.3*t.pdf.PointConvert(st.Size)
}

// Cell draws s on one line in the box at (x, y), w wide and h high, placed
// as fpdf's CellFormat places text: align is "L", "C" or "R", and the text
// is centred vertically. Text wider than w is not cut: see Fit.
func (t *Typesetter) Cell(x, y, w, h float64, s string, st Style, align string) {
	if s == "" {
		return
	}
	switch {
	case strings.Contains(align, "R"):
		x += w - t.Width(s, st)
	case strings.Contains(align, "C"):
		x += (w - t.Width(s, st)) / 2
	}
	t.Draw(x, t.Baseline(y, h, st), s, st)
}

// Fit draws s on one line like Cell, at the largest size from st.Size down
// to minPt (in half points) at which it fits in w, cut with "..." if it
// does not fit even at minPt. It returns the style it drew in.
func (t *Typesetter) Fit(x, y, w, h float64, s string, st Style, minPt float64, align string) Style {
	for st.Size > minPt && t.Width(s, st) > w {
		st.Size -= 0.5
	}
	t.Cell(x, y, w, h, t.Cut(s, st, w), st, align)
	return st
}

// ellipsis marks text cut short.
const ellipsis = "..."

// Cut returns s if it fits in w, else s shortened, never inside a
// Devanagari syllable, with "..." after it.
func (t *Typesetter) Cut(s string, st Style, w float64) string {
	if t.Width(s, st) <= w {
		return s
	}
	s = strings.TrimRight(s, " ")
	for s != "" && t.Width(s+ellipsis, st) > w {
		s = strings.TrimRight(s[:lastBreak(s)], " ")
	}
	return s + ellipsis
}

// lastBreak is the byte offset of the last place s may be cut, 0 if none:
// before the last character that does not attach to the one before it.
func lastBreak(s string) int {
	i := len(s)
	for i > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:i])
		i -= n
		if i == 0 {
			return 0
		}
		prev, _ := utf8.DecodeLastRuneInString(s[:i])
		if !joinsPrevious(prev, r) {
			return i
		}
	}
	return 0
}

// joinsPrevious reports whether r belongs to the same written syllable as
// prev, so that a line may not break between them: marks and matras, a
// consonant after a virama (a conjunct), and the joiners.
func joinsPrevious(prev, r rune) bool {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Mc, unicode.Me):
		return true
	case r == 0x200C || r == 0x200D || prev == 0x200C || prev == 0x200D:
		return true
	case prev == 0x094D && isDevanagari(r): // virama
		return true
	}
	return false
}

// Wrap splits s into lines no wider than w in st, breaking at spaces and,
// in a word longer than a line, between syllables. At most maxLines lines
// are returned (all of them if maxLines < 1), the last cut with "..." when
// s does not fit in them.
func (t *Typesetter) Wrap(s string, st Style, w float64, maxLines int) []string {
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		lines = append(lines, t.wrapPara(para, st, w)...)
	}
	if maxLines > 0 && len(lines) > maxLines {
		lines = lines[:maxLines]
		last := strings.TrimRight(lines[maxLines-1], " ")
		for last != "" && t.Width(last+ellipsis, st) > w {
			last = strings.TrimRight(last[:lastBreak(last)], " ")
		}
		lines[maxLines-1] = last + ellipsis
	}
	return lines
}

func (t *Typesetter) wrapPara(s string, st Style, w float64) []string {
	words := strings.Fields(s)
	if len(words) == 0 {
		return []string{""}
	}
	var lines []string
	line := ""
	for _, word := range words {
		try := word
		if line != "" {
			try = line + " " + word
		}
		if t.Width(try, st) <= w {
			line = try
			continue
		}
		if line != "" {
			lines = append(lines, line)
			line = ""
		}
		// A word wider than the line is broken between syllables.
		for t.Width(word, st) > w {
			cut := len(word)
			for cut > 0 && t.Width(word[:cut], st) > w {
				cut = lastBreak(word[:cut])
			}
			if cut == 0 { // not even one syllable fits: put it on a line of its own
				cut = firstBreak(word)
			}
			lines = append(lines, word[:cut])
			word = word[cut:]
		}
		line = word
	}
	return append(lines, line)
}

// firstBreak is the byte offset just after the first syllable of s.
func firstBreak(s string) int {
	prev, i := utf8.DecodeRuneInString(s)
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !joinsPrevious(prev, r) {
			return i
		}
		prev = r
		i += n
	}
	return len(s)
}

// LineHeight is the height of a line of s in st: the core fonts' usual
// 1.25 times the size, and more for Devanagari, whose matras reach above
// and below the Latin letters.
func (t *Typesetter) LineHeight(s string, st Style) float64 {
	lead := leading
	for _, sp := range t.spans(s) {
		if sp.shaped {
			lead = devaLeading
			break
		}
	}
	return t.pdf.PointConvert(st.Size) * lead
}

// devaLeading is the line height of Devanagari as a multiple of its size.
const devaLeading = 1.45

// drawShaped draws a shaped span's glyph outlines with its baseline at y
// and writes its text invisibly over the same width w.
func (t *Typesetter) drawShaped(x, y, w float64, text string, st Style) {
	t.drawRun(x, y, t.shape(text, st.Bold), st.Size)
	t.textLayer(x, y, w, text, st.Size)
}

// drawRun fills the outlines of a shaped run's glyphs, size pt, in the
// document's text colour, with its baseline at y.
func (t *Typesetter) drawRun(x, y float64, run *shapedRun, size float64) {
	pdf := t.pdf
	k := pdf.GetConversionRatio()
	_, pageH := pdf.GetPageSize()
	r, g, b := pdf.GetTextColor()

	// The outlines are written in font units times three, so that the
	// control points of TrueType's quadratic curves, turned into cubic
	// ones, stay whole numbers; the matrix scales them to the size.
	scale := size / t.upem / 3
	var buf []byte
	buf = append(buf, "q "...)
	buf = appendNum(buf, float64(r)/255, 3)
	buf = append(buf, ' ')
	buf = appendNum(buf, float64(g)/255, 3)
	buf = append(buf, ' ')
	buf = appendNum(buf, float64(b)/255, 3)
	buf = append(buf, " rg "...)
	buf = appendNum(buf, scale, 6)
	buf = append(buf, " 0 0 "...)
	buf = appendNum(buf, scale, 6)
	buf = append(buf, ' ')
	buf = appendNum(buf, x*k, 3)
	buf = append(buf, ' ')
	buf = appendNum(buf, (pageH-y)*k, 3)
	buf = append(buf, " cm\n"...)
	// Each glyph is filled on its own, moved into place, so that every
	// use of a glyph writes the same bytes, which compression then
	// stores once.
	for _, gl := range run.glyphs {
		path := t.outline(gl.id, run.bold)
		if path == "" {
			continue
		}
		buf = append(buf, "q 1 0 0 1 "...)
		buf = strconv.AppendInt(buf, int64(math.Round(3*gl.x)), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(math.Round(3*gl.y)), 10)
		buf = append(buf, " cm\n"...)
		buf = append(buf, path...)
		buf = append(buf, "f Q\n"...)
	}
	buf = append(buf, 'Q')
	pdf.RawWriteStr(string(buf))
}

// textLayer writes text invisibly at (x, y), size pt, stretched or
// squeezed to w: what a reader searches and copies.
func (t *Typesetter) textLayer(x, y, w float64, text string, size float64) {
	pdf := t.pdf
	if t.noLayer {
		return
	}
	if !t.layer {
		pdf.AddUTF8FontFromBytes(layerFamily, "", notoRegular)
		t.layer = true
	}
	pdf.SetFont(layerFamily, "", size)
	natural := pdf.GetStringWidth(text)
	if natural <= 0 || w <= 0 {
		return
	}
	pdf.RawWriteStr("3 Tr " + string(appendNum(nil, 100*w/natural, 2)) + " Tz")
	pdf.Text(x, y, text)
	pdf.RawWriteStr("100 Tz 0 Tr")
}

// outline returns a glyph's outline as PDF path operators in font units
// times three, cached. TrueType's quadratic curves become cubic ones,
// whose control points (p0 + 2q)/3 and (p1 + 2q)/3 are whole numbers
// times three.
func (t *Typesetter) outline(id font.GID, bold bool) string {
	i := 0
	if bold {
		i = 1
	}
	cache.Lock()
	p, ok := cache.paths[i][id]
	cache.Unlock()
	if ok {
		return p
	}
	o, _ := t.faces[i].GlyphDataOutline(id)
	var buf []byte
	pt := func(p ot.SegmentPoint, sep byte) {
		buf = strconv.AppendInt(buf, int64(math.Round(3*float64(p.X))), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(math.Round(3*float64(p.Y))), 10)
		buf = append(buf, sep)
	}
	var cur ot.SegmentPoint
	for _, s := range o.Segments {
		switch s.Op {
		case ot.SegmentOpMoveTo:
			cur = s.Args[0]
			pt(cur, ' ')
			buf = append(buf, "m\n"...)
		case ot.SegmentOpLineTo:
			cur = s.Args[0]
			pt(cur, ' ')
			buf = append(buf, "l\n"...)
		case ot.SegmentOpQuadTo:
			q, p1 := s.Args[0], s.Args[1]
			pt(ot.SegmentPoint{X: (cur.X + 2*q.X) / 3, Y: (cur.Y + 2*q.Y) / 3}, ' ')
			pt(ot.SegmentPoint{X: (p1.X + 2*q.X) / 3, Y: (p1.Y + 2*q.Y) / 3}, ' ')
			pt(p1, ' ')
			buf = append(buf, "c\n"...)
			cur = p1
		case ot.SegmentOpCubeTo:
			pt(s.Args[0], ' ')
			pt(s.Args[1], ' ')
			pt(s.Args[2], ' ')
			buf = append(buf, "c\n"...)
			cur = s.Args[2]
		}
	}
	cache.Lock()
	cache.paths[i][id] = string(buf)
	cache.Unlock()
	return string(buf)
}

// appendNum writes v with at most prec decimals and no trailing zeros.
func appendNum(buf []byte, v float64, prec int) []byte {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return append(buf, s...)
}
