package report

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-pdf/fpdf"
	"github.com/go-text/typesetting/font"
)

// chromiumPath is Debian's Chromium, the browser the counters run.
const chromiumPath = "/usr/bin/chromium"

// hindiName has conjuncts (श्र, क्ष, त्र), the matra ि that is drawn before
// its consonant, and ी, ा, ठ.
const hindiName = "श्रीमती क्षितिज त्रिपाठी"

// The comparison's measures: text at 36 pt rasterised at 96 dpi is 48 px,
// as Chromium draws font-size: 48px.
const (
	cmpPt     = 36.0
	cmpDPI    = 96
	cmpPx     = cmpPt * cmpDPI / 72
	cmpLeftMM = 10.0
	cmpBaseMM = 20.0
	cmpPageW  = 160.0
	cmpPageH  = 30.0
)

func mmToPx(mm float64) float64 { return mm / 25.4 * cmpDPI }

// hindiPDF draws text alone on a page, at cmpPt, its baseline cmpBaseMM
// from the top; draw does the drawing, so that a test can draw it wrong.
func hindiPDF(t *testing.T, draw func(ts *Typesetter)) []byte {
	t.Helper()
	pdf := newDoc(fpdf.SizeType{Wd: cmpPageW, Ht: cmpPageH}, labelEpoch, "Devanagari")
	pdf.AddPage()
	draw(NewTypesetter(pdf))
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ink is a picture reduced to which pixels are dark.
type ink struct {
	w, h int
	dark []bool
	box  image.Rectangle // the dark pixels' bounding box
}

func inkOf(img image.Image) ink {
	b := img.Bounds()
	k := ink{w: b.Dx(), h: b.Dy(), dark: make([]bool, b.Dx()*b.Dy())}
	first := true
	for y := 0; y < k.h; y++ {
		for x := 0; x < k.w; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			if (r+g+bl)/3 >= 0x8000 {
				continue
			}
			k.dark[y*k.w+x] = true
			p := image.Rect(x, y, x+1, y+1)
			if first {
				k.box, first = p, false
			} else {
				k.box = k.box.Union(p)
			}
		}
	}
	return k
}

func (k ink) at(x, y int) bool {
	return x >= 0 && y >= 0 && x < k.w && y < k.h && k.dark[y*k.w+x]
}

// stray is the share of a's dark pixels, inside its box, with no dark pixel
// of b within one pixel of the same place, the boxes laid on each other at
// their top left corners. Rasterisers differ by a pixel at the edges of
// strokes, which this forgives; a glyph missing, added or moved is not.
func stray(a, b ink) float64 {
	dx, dy := b.box.Min.X-a.box.Min.X, b.box.Min.Y-a.box.Min.Y
	var n, off int
	for y := a.box.Min.Y; y < a.box.Max.Y; y++ {
		for x := a.box.Min.X; x < a.box.Max.X; x++ {
			if !a.at(x, y) {
				continue
			}
			n++
			near := false
			for j := -1; j <= 1 && !near; j++ {
				for i := -1; i <= 1 && !near; i++ {
					near = b.at(x+dx+i, y+dy+j)
				}
			}
			if !near {
				off++
			}
		}
	}
	if n == 0 {
		return 1
	}
	return float64(off) / float64(n)
}

// chromiumInk draws text in headless Chromium with the embedded Noto Sans
// Devanagari at cmpPx, its baseline where the PDF's is, and returns the
// screenshot's ink and the text's width in CSS pixels.
func chromiumInk(t *testing.T, text string) (ink, float64) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("no Chromium at %s: %v", chromiumPath, err)
		}
		t.Fatalf("CI needs Chromium at %s: %v", chromiumPath, err)
	}
	w, h := int(math.Ceil(mmToPx(cmpPageW))), int(math.Ceil(mmToPx(cmpPageH)))
	// The span's line box is one em high (line-height: 1); CSS puts the
	// baseline the ascender below the top of the font's own box, which is
	// centred on the line box: half of (1 em less ascender plus descender)
	// above it.
	fs, err := notoFonts()
	if err != nil {
		t.Fatal(err)
	}
	ext, _ := font.NewFace(fs[0]).FontHExtents()
	asc, desc := float64(ext.Ascender)/float64(fs[0].Upem()), -float64(ext.Descender)/float64(fs[0].Upem())
	top := mmToPx(cmpBaseMM) - ((1-asc-desc)/2+asc)*cmpPx
	page := fmt.Sprintf(`<!doctype html><meta charset="utf-8"><style>
@font-face { font-family: NotoDeva; src: url(data:font/ttf;base64,%s) format("truetype"); }
html, body { margin: 0; background: #fff; }
#t { position: absolute; left: %.3fpx; top: %.3fpx; font: %.0fpx/1 NotoDeva; color: #000; white-space: pre; }
</style><span id="t">%s</span>`, base64.StdEncoding.EncodeToString(notoRegular), mmToPx(cmpLeftMM), top, cmpPx, text)
	file := filepath.Join(t.TempDir(), "hindi.html")
	if err := os.WriteFile(file, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-device-scale-factor", "1"),
		chromedp.Flag("font-render-hinting", "none"),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	ctx, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h)), chromedp.Navigate("file://"+file)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.fonts.status === "loaded" && document.fonts.check("48px NotoDeva")`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("the font never loaded in Chromium: %v", err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("t").getBoundingClientRect().width`))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	return inkOf(img), width
}

// pdfInk rasterises a one-page PDF at cmpDPI.
func pdfInk(t *testing.T, pdf []byte) ink {
	t.Helper()
	pages := rasteriseAt(t, pdf, cmpDPI)
	if len(pages) != 1 {
		t.Fatalf("got %d pages, want 1", len(pages))
	}
	return inkOf(pages[0])
}

// unshaped is text drawn as fpdf would draw it if it could: each
// character's own glyph, one after the other, no conjuncts, the ि after
// its consonant.
func unshaped(ts *Typesetter, text string) *shapedRun {
	run := &shapedRun{}
	for _, r := range text {
		id, _ := ts.faces[0].NominalGlyph(r)
		run.glyphs = append(run.glyphs, placedGlyph{id: id, x: run.advance})
		run.advance += float64(ts.faces[0].HorizontalAdvance(id))
	}
	return run
}

// TestDevanagariMatchesChromium draws a Hindi name with conjuncts and
// matras in a PDF and in Chromium, with the same font at the same size,
// and compares the two pictures: the same width of text, the same ink box
// within two pixels, and almost every dark pixel of each near a dark pixel
// of the other. The same name drawn unshaped must fail that comparison,
// or the comparison would prove nothing. The PDF's text layer must read
// back as the name.
func TestDevanagariMatchesChromium(t *testing.T) {
	needPoppler(t, "pdftoppm")
	st := Style{Size: cmpPt}
	var drawnW float64
	doc := hindiPDF(t, func(ts *Typesetter) { drawnW = ts.Draw(cmpLeftMM, cmpBaseMM, hindiName, st) })
	got := pdfInk(t, doc)
	want, chromeW := chromiumInk(t, hindiName)

	// Widths: the shaped advance against Chromium's layout, to a pixel.
	if d := math.Abs(mmToPx(drawnW) - chromeW); d > 1 {
		t.Errorf("the name is %.2f px wide in the PDF and %.2f px in Chromium", mmToPx(drawnW), chromeW)
	}
	if got.box.Empty() || want.box.Empty() {
		t.Fatalf("no ink: PDF %v, Chromium %v", got.box, want.box)
	}
	for _, d := range []struct {
		what   string
		pdf, c int
	}{
		{"left", got.box.Min.X, want.box.Min.X},
		{"top", got.box.Min.Y, want.box.Min.Y},
		{"right", got.box.Max.X, want.box.Max.X},
		{"bottom", got.box.Max.Y, want.box.Max.Y},
	} {
		if abs(d.pdf-d.c) > 2 {
			t.Errorf("ink %s edge at %d px in the PDF, %d px in Chromium (PDF box %v, Chromium %v)", d.what, d.pdf, d.c, got.box, want.box)
		}
	}
	const maxStray = 0.03
	s1, s2 := stray(got, want), stray(want, got)
	t.Logf("width %.2f px in the PDF, %.2f px in Chromium", mmToPx(drawnW), chromeW)
	t.Logf("PDF ink %v, Chromium ink %v; stray ink %.2f%% of the PDF's, %.2f%% of Chromium's", got.box, want.box, 100*s1, 100*s2)
	if s1 > maxStray || s2 > maxStray {
		t.Errorf("the PDF and Chromium draw the name differently: %.1f%% of the PDF's ink and %.1f%% of Chromium's is not near the other's (at most %.0f%%)", 100*s1, 100*s2, 100*maxStray)
	}

	// The control: unshaped, the same characters must not pass.
	bad := pdfInk(t, hindiPDF(t, func(ts *Typesetter) {
		ts.drawRun(cmpLeftMM, cmpBaseMM, unshaped(ts, hindiName), cmpPt)
	}))
	if b1, b2 := stray(bad, want), stray(want, bad); b1 <= maxStray && b2 <= maxStray {
		t.Errorf("the unshaped name passes as Chromium's too (stray %.1f%%, %.1f%%): the comparison cannot tell", 100*b1, 100*b2)
	} else {
		t.Logf("unshaped: stray ink %.1f%% of its own, %.1f%% of Chromium's", 100*b1, 100*b2)
	}

	if text := pdfText(t, doc); !strings.Contains(text, hindiName) {
		t.Errorf("PDF text lacks %q:\n%s", hindiName, text)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestTypesetterSpans(t *testing.T) {
	pdf := newDoc(fpdf.SizeType{Wd: 100, Ht: 100}, labelEpoch, "spans")
	ts := NewTypesetter(pdf)
	tests := []struct {
		in   string
		want []span
	}{
		{"", nil},
		{"Suresh Kumar", []span{{"Suresh Kumar", false}}},
		{"34 Y / M", []span{{"34 Y / M", false}}},
		{"12 / 34", []span{{"12 / 34", false}}},
		{"रोगी का नाम / Name", []span{{"रोगी का नाम / ", true}, {"Name", false}}},
		{"Name / नाम", []span{{"Name / ", false}, {"नाम", true}}},
		{" (नया) New", []span{{" (नया) ", true}, {"New", false}}},
		{"José ₹ 10.00", []span{{"José ", false}, {"₹ 10.00", true}}},
		{"क्\u200dष", []span{{"क्\u200dष", true}}}, // with a zero-width joiner
	}
	for _, tc := range tests {
		got := ts.spans(tc.in)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("spans(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestTypesetterWrap(t *testing.T) {
	pdf := newDoc(fpdf.SizeType{Wd: 100, Ht: 100}, labelEpoch, "wrap")
	pdf.AddPage()
	ts := NewTypesetter(pdf)
	st := Style{Size: 10}
	tests := []struct {
		name     string
		in       string
		w        float64
		maxLines int
		want     []string
	}{
		{"Fits", "श्रीमती क्षितिज", 100, 2, []string{"श्रीमती क्षितिज"}},
		{"AtSpaces", hindiName, 22, 0, []string{"श्रीमती क्षितिज", "त्रिपाठी"}},
		{"Cut", hindiName + " " + hindiName, 22, 2, []string{"श्रीमती क्षितिज", "त्रिपाठी श्रीमती..."}},
		{"Mixed", "रोगी का नाम / Patient name", 30, 0, []string{"रोगी का नाम /", "Patient name"}},
		// A word wider than the line breaks between syllables, never
		// inside क्षि or त्रि.
		{"LongWord", "क्षितिजत्रिपाठीक्षितिजत्रिपाठी", 12, 0, []string{"क्षितिजत्रि", "पाठीक्षि", "तिजत्रिपा", "ठी"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ts.Wrap(tc.in, st, tc.w, tc.maxLines)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("Wrap(%q, %g mm) = %q, want %q", tc.in, tc.w, got, tc.want)
			}
			for _, l := range got {
				if w := ts.Width(l, st); w > tc.w {
					t.Errorf("line %q is %.2f mm, wider than %g", l, w, tc.w)
				}
			}
		})
	}
}

// TestTypesetterSearchable checks that mixed text drawn by a Typesetter
// reads back in order from the PDF, Hindi and Latin on one line.
func TestTypesetterSearchable(t *testing.T) {
	lines := []string{
		"रोगी का नाम / Name: " + hindiName,
		"कृपया हर बार यह पर्ची साथ लाएँ। Please bring this slip on every visit.",
		"शुल्क / Fee: ₹ 10.00",
	}
	doc := hindiPDF(t, func(ts *Typesetter) {
		for i, l := range lines {
			ts.Draw(5, 8+float64(i)*7, l, Style{Size: 11, Bold: i == 1})
		}
	})
	checkText(t, pdfText(t, doc), lines, nil)
}

func TestTypesetterDeterministic(t *testing.T) {
	draw := func(ts *Typesetter) {
		ts.Draw(5, 10, hindiName+" / Name", Style{Size: 12})
		ts.Fit(5, 15, 30, 6, hindiName+" "+hindiName, Style{Size: 12, Bold: true}, 8, "C")
	}
	a, b := hindiPDF(t, draw), hindiPDF(t, draw)
	if !bytes.Equal(a, b) {
		t.Error("two renderings of the same text differ")
	}
}
