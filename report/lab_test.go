package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"kavach"
)

func demoLabel() Label {
	return Label{
		Accession: "KAL00001234X",
		UHID:      "KA00000127",
		Name:      "Suresh Kumar",
		AgeSex:    "34 Y / M",
		Container: "EDTA (purple)",
		Tests:     []string{"CBC", "HBA1C"},
		Collected: time.Date(2026, 12, 2, 9, 14, 0, 0, ist),
	}
}

func demoLabReport() LabReport {
	return LabReport{
		Hospital:   "Kavach Demo Hospital, New Delhi",
		UHID:       "KA00000127",
		Name:       "Suresh Kumar",
		AgeSex:     "34 Y / M",
		Accession:  "KAL00001234X",
		Specimen:   "Blood",
		Container:  "EDTA (purple)",
		OrderedBy:  "Dr. Anjali Sharma",
		Priority:   "routine",
		Collected:  time.Date(2026, 12, 2, 9, 14, 0, 0, ist),
		Received:   time.Date(2026, 12, 2, 9, 52, 0, 0, ist),
		Released:   time.Date(2026, 12, 2, 11, 5, 0, 0, ist),
		VerifiedBy: "Dr. Meera Iyer",
		Version:    1,
		Tests: []LabReportTest{
			{Code: "CBC", Name: "Complete Blood Count", Results: []LabReportResult{
				{Code: "HGB", Name: "Haemoglobin", Value: "13.5", Unit: "g/dL", Range: "13.0–17.0"},
				{Code: "WBC", Name: "Total leucocyte count", Value: "11.8", Unit: "10^9/L", Range: "4.0–11.0", Flag: "H"},
				{Code: "PLT", Name: "Platelet count", Value: "140", Unit: "10^9/L", Range: "150–410", Flag: "L"},
			}},
			{Code: "GLUF", Name: "Glucose, fasting", Results: []LabReportResult{
				{Code: "GLU", Name: "Glucose", Value: "480", Unit: "mg/dL", Range: "70–99", Flag: "HH"},
			}},
		},
	}
}

func demoProof() ReportProof {
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	return ReportProof{
		URL:        "https://verify.kavach-demo.in/r/KA/1234?h=3q2-7wEAAAAqZ9",
		Origin:     "KA",
		Index:      1234,
		Event:      []byte(`{"kind":"lab.released","accession":"KAL00001234X","version":1}`),
		Checkpoint: []byte("kavach-demo.in/KA\n1300\nq1w2e3r4t5y6u7i8o9p0AbCdEfGhIjKlMnOpQrStUvW=\n\n\u2014 KA Zm9vYmFy\n"),
		Proof:      [][]byte{hash("a"), hash("b"), hash("c")},
		Key:        "KA+1a2b3c4d+AdGhpcyBpcyBub3QgYSByZWFsIGtleSBhdCBhbGwgcmVhbGx5",
	}
}

// rasteriseAt renders every page of pdf at dpi, like rasterise but for
// small prints such as labels, which a bench scanner sees far finer than
// a phone sees a page.
func rasteriseAt(t *testing.T, pdf []byte, dpi int) []image.Image {
	t.Helper()
	pdftoppm := needPoppler(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftoppm, "-r", strconv.Itoa(dpi), "-png", in, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	names, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if err != nil {
		t.Fatal(err)
	}
	// page-1.png, page-2.png, ... but page-10.png sorts before page-2.png.
	num := func(name string) int {
		n, _ := strconv.Atoi(strings.TrimSuffix(name[strings.LastIndex(name, "-")+1:], ".png"))
		return n
	}
	for i := 1; i < len(names); i++ {
		for j := i; j > 0 && num(names[j]) < num(names[j-1]); j-- {
			names[j], names[j-1] = names[j-1], names[j]
		}
	}
	var pages []image.Image
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		pages = append(pages, img)
	}
	return pages
}

// scanQR finds and decodes a QR code anywhere in img.
func scanQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		t.Fatal(err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("no QR code found: %v", err)
	}
	return res.GetText()
}

// popplerRun runs a poppler tool on pdf and returns its output; args go
// before the file name, extra after it.
func popplerRun(t *testing.T, tool string, pdf []byte, args []string, extra ...string) string {
	t.Helper()
	path := needPoppler(t, tool)
	in := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, append(append(args, in), extra...)...).Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return string(out)
}

// pdfText is the text of pdf, pages separated by form feeds, laid out as
// printed so that a row of the results table stays on one line.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	return popplerRun(t, "pdftotext", pdf, []string{"-layout", "-enc", "UTF-8"}, "-")
}

// pdfPages returns the page count and the first page's size in points.
func pdfPages(t *testing.T, pdf []byte) (pages int, w, h float64) {
	t.Helper()
	info := popplerRun(t, "pdfinfo", pdf, nil)
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(info)
	s := regexp.MustCompile(`(?m)^Page size:\s+([\d.]+) x ([\d.]+) pts`).FindStringSubmatch(info)
	if m == nil || s == nil {
		t.Fatalf("pdfinfo gives no page count or size:\n%s", info)
	}
	pages, _ = strconv.Atoi(m[1])
	w, _ = strconv.ParseFloat(s[1], 64)
	h, _ = strconv.ParseFloat(s[2], 64)
	return pages, w, h
}

func checkPageMM(t *testing.T, pdf []byte, wantPages int, wMM, hMM float64) {
	t.Helper()
	pages, w, h := pdfPages(t, pdf)
	if pages != wantPages {
		t.Errorf("PDF has %d pages, want %d", pages, wantPages)
	}
	// fpdf writes the MediaBox to 0.01 pt.
	if ww, wh := wMM/25.4*72, hMM/25.4*72; math.Abs(w-ww) > 0.01 || math.Abs(h-wh) > 0.01 {
		t.Errorf("page is %.2f × %.2f pt, want %.2f × %.2f (%g × %g mm)", w, h, ww, wh, wMM, hMM)
	}
}

func checkText(t *testing.T, text string, want, not []string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(text, s) {
			t.Errorf("PDF text lacks %q:\n%s", s, text)
		}
	}
	for _, s := range not {
		if strings.Contains(text, s) {
			t.Errorf("PDF text has %q:\n%s", s, text)
		}
	}
}

func TestLabelPDF(t *testing.T) {
	urgent := demoLabel()
	urgent.Urgent = true
	long := demoLabel()
	long.Accession = "ZZZZZZZZZZZZZZZZ" // 16 letters: no digit pairs to compress
	long.Name = "José Ramírez Fernández Venkataraghavan Subramaniam Iyer"
	long.AgeSex = "104 Y / F"
	long.UHID = "KA0000000127"
	long.Container = "Fluoride (grey), 2 mL"
	long.Tests = []string{"GLUF", "GLUPP", "GLUR", "HBA1C", "LIPID", "LFT", "KFT"}
	long.Urgent = true
	bare := Label{Accession: "KAL1", UHID: "KA1"}
	hindiOnly := demoLabel()
	hindiOnly.Name, hindiOnly.NameHi = "", hindiName
	both := demoLabel()
	both.NameHi = "सुरेश कुमार"

	tests := []struct {
		name  string
		label Label
		text  []string
		not   []string
	}{
		{"Demo", demoLabel(), []string{"Suresh Kumar", "KA-0000012-7", "34 Y / M", "KAL00001234X", "EDTA (purple): CBC, HBA1C", "02-12-2026 09:14"}, []string{"URGENT"}},
		{"Urgent", urgent, []string{"URGENT", "Suresh Kumar", "KAL00001234X"}, nil},
		{"LongFields", long, []string{"URGENT", "José Ramírez", "KA-000000012-7", "104 Y / F", "ZZZZZZZZZZZZZZZZ", "..."}, nil},
		{"OnlyRequired", bare, []string{"KAL1", "KA1"}, []string{"URGENT", "2026"}},
		{"HindiName", hindiOnly, []string{hindiName, "KA-0000012-7", "KAL00001234X"}, []string{"/ " + hindiName}},
		{"BothNames", both, []string{"Suresh Kumar / सुरेश कुमार", "KAL00001234X"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := LabelPDF(&buf, tc.label); err != nil {
				t.Fatal(err)
			}
			checkPageMM(t, buf.Bytes(), 1, 50, 25)
			// 300 dpi is what a label printer prints and a bench
			// imager sees; the bars are about 3.5 pixels a module.
			pages := rasteriseAt(t, buf.Bytes(), 300)
			if got := scanCode128(t, pages[0]); got != tc.label.Accession {
				t.Errorf("barcode reads %q, want accession %q", got, tc.label.Accession)
			}
			checkText(t, pdfText(t, buf.Bytes()), tc.text, tc.not)
		})
	}
}

func TestLabelPDFDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := LabelPDF(&a, demoLabel()); err != nil {
		t.Fatal(err)
	}
	if err := LabelPDF(&b, demoLabel()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same label differ")
	}
	// The PDF's dates are the collection time (in UTC, as fpdf writes
	// them without a zone), and without one a fixed date, never today's.
	if want := "/CreationDate (D:20261202034400)"; !bytes.Contains(a.Bytes(), []byte(want)) {
		t.Errorf("label PDF lacks %s", want)
	}
	l := demoLabel()
	l.Collected = time.Time{}
	a.Reset()
	if err := LabelPDF(&a, l); err != nil {
		t.Fatal(err)
	}
	if want := "/CreationDate (D:20000101000000)"; !bytes.Contains(a.Bytes(), []byte(want)) {
		t.Errorf("label PDF without a collection time lacks %s", want)
	}
}

func TestLabelPDFBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Label)
		field string
		inMsg string
	}{
		{"ErrAccessionEmpty", func(l *Label) { l.Accession = "" }, "accession", "Accession"},
		{"ErrAccessionNotASCII", func(l *Label) { l.Accession = "KAL००१२" }, "accession", "Accession"},
		{"ErrAccessionControl", func(l *Label) { l.Accession = "KAL0001\n" }, "accession", "Accession"},
		{"ErrAccessionTooLong", func(l *Label) { l.Accession = strings.Repeat("Z", 20) }, "accession", "too long"},
		{"ErrUHIDEmpty", func(l *Label) { l.UHID = "" }, "uhid", "UHID"},
		{"ErrUHIDBlank", func(l *Label) { l.UHID = "  " }, "uhid", "UHID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := demoLabel()
			tc.edit(&l)
			var buf bytes.Buffer
			err := LabelPDF(&buf, l)
			checkInvalid(t, err, tc.field, tc.inMsg)
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func checkInvalid(t *testing.T, err error, field, inMsg string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error")
	}
	if got := kavach.ErrorCode(err); got != kavach.EINVALID {
		t.Errorf("error %q has code %q, want %q", err, got, kavach.EINVALID)
	}
	var e *kavach.Error
	if field != "" {
		if !errors.As(err, &e) {
			t.Fatalf("error %q is not a *kavach.Error", err)
		}
		if _, ok := e.Fields[field]; !ok {
			t.Errorf("error %q does not mark field %q", err, field)
		}
	}
	if msg := kavach.ErrorMessage(err); !strings.Contains(msg, inMsg) {
		t.Errorf("message %q does not name %q", msg, inMsg)
	}
}

// demoLabReportText is what the demo report must say, as pdftotext -layout
// gives it. The result rows are matched whole, so a flag in the wrong row
// or a value under the wrong unit fails.
var demoLabReportText = []string{
	"Kavach Demo Hospital, New Delhi", "LABORATORY REPORT",
	"Suresh Kumar", "KA-0000012-7", "34 Y / M",
	"KAL00001234X", "Blood", "EDTA (purple)", "Dr. Anjali Sharma", "Routine",
	"02-12-2026 09:14", "02-12-2026 09:52", "02-12-2026 11:05",
	"Complete Blood Count (CBC)", "Glucose, fasting (GLUF)",
	"Flags: H = above the reference range, L = below the reference range",
	"HH / LL = critical value",
	"Verified by Dr. Meera Iyer",
	"Scan to check this report is genuine and current",
	"https://verify.kavach-demo.in/r/KA/1234?h=3q2-7wEAAAAqZ9",
	"Page 1 of 1", "End of report",
}

var demoLabReportRows = []string{
	`Haemoglobin\s+13\.5\s+g/dL\s+13\.0–17\.0\s*$`,
	`Total leucocyte count\s+11\.8\s+10\^9/L\s+4\.0–11\.0\s+H$`,
	`Platelet count\s+140\s+10\^9/L\s+150–410\s+L$`,
	`Glucose\s+480\s+mg/dL\s+70–99\s+HH$`,
}

func checkRows(t *testing.T, text string, rows []string) {
	t.Helper()
	for _, r := range rows {
		if !regexp.MustCompile(`(?m)` + r).MatchString(text) {
			t.Errorf("PDF text has no row matching %s:\n%s", r, text)
		}
	}
}

func TestLabReportPDF(t *testing.T) {
	var buf bytes.Buffer
	p := demoProof()
	if err := LabReportPDF(&buf, demoLabReport(), p); err != nil {
		t.Fatal(err)
	}
	checkPageMM(t, buf.Bytes(), 1, 210, 297)
	pages := rasterise(t, buf.Bytes())
	if got := scanQR(t, pages[0]); got != p.URL {
		t.Errorf("QR code reads %q, want %q", got, p.URL)
	}
	text := pdfText(t, buf.Bytes())
	checkText(t, text, demoLabReportText, []string{"replaces version", "continued"})
	checkRows(t, text, demoLabReportRows)
}

func TestLabReportPDFAmended(t *testing.T) {
	r := demoLabReport()
	r.Version = 2
	r.Amendment = "platelet count re-run on a fresh sample; the first sample was clotted"
	r.Priority = "urgent"
	var buf bytes.Buffer
	if err := LabReportPDF(&buf, r, demoProof()); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, buf.Bytes())
	checkText(t, text, []string{
		"Version 2 — replaces version 1: platelet count re-run on a fresh sample; the first sample was clotted",
		"URGENT", "Report version 2",
	}, []string{"Routine"})
	checkRows(t, text, demoLabReportRows)
}

// TestLabReportPDFMultiPage checks a report too long for one page: every
// page numbered "i of n", later pages saying whose report they are, a test
// cut by a page break continued under its name, and the QR code on the
// last page.
func TestLabReportPDFMultiPage(t *testing.T) {
	r := demoLabReport()
	var rows []string
	for i := 1; i <= 12; i++ {
		test := LabReportTest{Code: fmt.Sprintf("T%02d", i), Name: fmt.Sprintf("Panel %d", i)}
		for j := 1; j <= 8; j++ {
			v := fmt.Sprintf("%d.%d", i, j)
			test.Results = append(test.Results, LabReportResult{
				Code: fmt.Sprintf("A%02d%02d", i, j), Name: fmt.Sprintf("Analyte %d of panel %d", j, i),
				Value: v, Unit: "mmol/L", Range: "1.0–9.9",
			})
			rows = append(rows, fmt.Sprintf(`Analyte %d of panel %d\s+%s\s+mmol/L\s+1\.0–9\.9\s*$`, j, i, regexp.QuoteMeta(v)))
		}
		r.Tests = append(r.Tests, test)
	}
	p := demoProof()
	var buf bytes.Buffer
	if err := LabReportPDF(&buf, r, p); err != nil {
		t.Fatal(err)
	}
	n, _, _ := pdfPages(t, buf.Bytes())
	if n < 2 {
		t.Fatalf("report of %d results is %d page long, want several", 4+12*8, n)
	}
	checkPageMM(t, buf.Bytes(), n, 210, 297)

	text := pdfText(t, buf.Bytes())
	checkRows(t, text, append(rows, demoLabReportRows...))
	pageTexts := strings.Split(strings.TrimRight(text, "\f"), "\f")
	if len(pageTexts) != n {
		t.Fatalf("pdftotext gives %d pages, pdfinfo %d", len(pageTexts), n)
	}
	continued := false
	for i, pt := range pageTexts {
		checkText(t, pt, []string{fmt.Sprintf("Page %d of %d", i+1, n), "Accession KAL00001234X"}, nil)
		if i > 0 {
			checkText(t, pt, []string{"LABORATORY REPORT (continued)", "Suresh Kumar", "UHID KA-0000012-7", "Investigation"}, nil)
			continued = continued || regexp.MustCompile(`Panel \d+ \(T\d+\) \(continued\)`).MatchString(pt)
		}
	}
	if !continued {
		t.Error("no test is continued under its name on a later page")
	}
	checkText(t, pageTexts[n-1], []string{"Verified by Dr. Meera Iyer", "Scan to check this report is genuine and current", p.URL}, nil)

	pages := rasterise(t, buf.Bytes())
	if got := scanQR(t, pages[n-1]); got != p.URL {
		t.Errorf("QR code on the last page reads %q, want %q", got, p.URL)
	}
}

func TestLabReportPDFDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := LabReportPDF(&a, demoLabReport(), demoProof()); err != nil {
		t.Fatal(err)
	}
	if err := LabReportPDF(&b, demoLabReport(), demoProof()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
	// Released, 11:05 IST, in UTC as fpdf writes dates without a zone.
	if want := "/CreationDate (D:20261202053500)"; !bytes.Contains(a.Bytes(), []byte(want)) {
		t.Errorf("report PDF lacks %s", want)
	}
}

// demoLabReportSHA256 pins the bytes of LabReportPDF(demoLabReport(),
// demoProof()) in each layout.
//
// kavach verify-report renders a report again from its journaled release
// event, in the layout its proof names, and compares the bytes with the
// PDF it is shown, so any change in how a report is drawn -- layout,
// fonts, metadata, the QR code's image, or a new fpdf, go-text/typesetting,
// barcode or Go version that writes them differently -- makes every report
// already issued in that layout fail verification. Do not update a hash to
// make the test pass: a new layout must be a new layout number, with the
// old one kept for the reports rendered with it.
var demoLabReportSHA256 = map[int]string{
	2: "6be00e917254afe57e83e892062c6f29c0ebc7d4d61f78db2d94f253b56fbaa5", // Hindi beside English in the headings, Devanagari shaped with Noto Sans Devanagari
	3: "220f1bb351fd6d0a46c9ae998cba7b60fa45982ad80ffa51c33eda9ce4a866c5", // as 2, with times as 02-12-2026 09:14 and the UHID as KA-0000012-7
}

func TestLabReportPDFGolden(t *testing.T) {
	for layout := 2; layout <= LabReportLayout; layout++ {
		t.Run(fmt.Sprintf("Layout%d", layout), func(t *testing.T) {
			p := demoProof()
			p.Layout = layout
			var buf bytes.Buffer
			if err := LabReportPDF(&buf, demoLabReport(), p); err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(buf.Bytes())
			if got, want := hex.EncodeToString(sum[:]), demoLabReportSHA256[layout]; got != want {
				t.Errorf("LabReportPDF of the demo report in layout %d has SHA-256 %s, want %s: the rendering changed, "+
					"which breaks kavach verify-report for reports already issued (see demoLabReportSHA256)", layout, got, want)
			}
		})
	}
}

// TestLabReportPDFLayouts checks that a report is drawn again, byte for
// byte, in the layout its proof names, as kavach verify-report draws it,
// and a report without a layout is drawn in the newest.
func TestLabReportPDFLayouts(t *testing.T) {
	draw := func(p ReportProof) []byte {
		t.Helper()
		var buf bytes.Buffer
		if err := LabReportPDF(&buf, demoLabReport(), p); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	newest := draw(demoProof())
	for layout := 2; layout <= LabReportLayout; layout++ {
		p := demoProof()
		p.Layout = layout
		pdf := draw(p)
		got, err := ReadReportProof(pdf)
		if err != nil {
			t.Fatal(err)
		}
		if got.Layout != layout {
			t.Errorf("a layout %d report's proof says layout %d", layout, got.Layout)
		}
		if again := draw(*got); !bytes.Equal(again, pdf) {
			t.Errorf("a layout %d report drawn again from its own proof differs", layout)
		}
		raw, err := base64.StdEncoding.DecodeString(string(proofRE.FindSubmatch(pdf)[1]))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte(`"layout"`)) {
			t.Errorf("a layout %d report's proof does not name its layout", layout)
		}
		if layout == LabReportLayout && !bytes.Equal(pdf, newest) {
			t.Errorf("a report without a layout is not drawn in the newest, %d", LabReportLayout)
		}
	}
	for _, bad := range []int{1, LabReportLayout + 1} {
		p := demoProof()
		p.Layout = bad
		var buf bytes.Buffer
		checkInvalid(t, LabReportPDF(&buf, demoLabReport(), p), "layout", "layout")
	}
}

// TestLabReportPDFHindi checks layout 2's Hindi: headings beside the
// English and a name in Devanagari, read back from the PDF.
func TestLabReportPDFHindi(t *testing.T) {
	r := demoLabReport()
	r.NameHi = "सुरेश कुमार"
	r.Tests[0].Name = "Complete Blood Count / पूर्ण रक्त गणना"
	var buf bytes.Buffer
	if err := LabReportPDF(&buf, r, demoProof()); err != nil {
		t.Fatal(err)
	}
	checkText(t, pdfText(t, buf.Bytes()), []string{
		"प्रयोगशाला रिपोर्ट · LABORATORY REPORT", "रोगी · PATIENT", "नमूना · SAMPLE",
		"जाँच", "परिणाम", "इकाई", "संदर्भ सीमा", "संकेत", "सुरेश कुमार",
		"Complete Blood Count / पूर्ण रक्त गणना (CBC)", "रिपोर्ट समाप्त · End of report",
	}, nil)
	checkRows(t, pdfText(t, buf.Bytes()), demoLabReportRows)
}

func TestLabReportPDFBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*LabReport, *ReportProof)
		field string
		inMsg string
	}{
		{"ErrUHIDEmpty", func(r *LabReport, p *ReportProof) { r.UHID = "" }, "uhid", "UHID"},
		{"ErrNameBlank", func(r *LabReport, p *ReportProof) { r.Name = " " }, "name", "Name"},
		{"ErrAccessionEmpty", func(r *LabReport, p *ReportProof) { r.Accession = "" }, "accession", "Accession"},
		{"ErrReleasedZero", func(r *LabReport, p *ReportProof) { r.Released = time.Time{} }, "released", "Released"},
		{"ErrNotVerified", func(r *LabReport, p *ReportProof) { r.VerifiedBy = "" }, "verified_by", "VerifiedBy"},
		{"ErrVersionZero", func(r *LabReport, p *ReportProof) { r.Version = 0 }, "version", "Version"},
		{"ErrAmendmentMissing", func(r *LabReport, p *ReportProof) { r.Version = 2 }, "amendment", "Amendment"},
		{"ErrNoTests", func(r *LabReport, p *ReportProof) { r.Tests = nil }, "tests", "Tests"},
		{"ErrTestUnnamed", func(r *LabReport, p *ReportProof) { r.Tests[1].Name, r.Tests[1].Code = "", "" }, "tests", "test 2"},
		{"ErrURLEmpty", func(r *LabReport, p *ReportProof) { p.URL = "" }, "url", "URL"},
		{"ErrURLSpace", func(r *LabReport, p *ReportProof) { p.URL = "https://verify.kavach-demo.in/r/KA 1234" }, "url", "URL"},
		{"ErrURLTooLong", func(r *LabReport, p *ReportProof) { p.URL += strings.Repeat("x", 200) }, "url", "too long"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, p := demoLabReport(), demoProof()
			tc.edit(&r, &p)
			var buf bytes.Buffer
			err := LabReportPDF(&buf, r, p)
			checkInvalid(t, err, tc.field, tc.inMsg)
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func TestReadReportProof(t *testing.T) {
	p := demoProof()
	var buf bytes.Buffer
	if err := LabReportPDF(&buf, demoLabReport(), p); err != nil {
		t.Fatal(err)
	}
	got, err := ReadReportProof(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	p.Layout = LabReportLayout // drawn in the newest layout, which the proof records
	if !reflect.DeepEqual(*got, p) {
		t.Errorf("ReadReportProof gives\n%+v\nwant\n%+v", *got, p)
	}

	// The proof must be in the Info dictionary, not only somewhere a PDF
	// reader would not look.
	if !bytes.Contains(buf.Bytes(), []byte("/Keywords (kavach-proof:")) {
		t.Error("the proof is not in the PDF's Keywords")
	}
}

func TestReadReportProofErrors(t *testing.T) {
	var report bytes.Buffer
	if err := LabReportPDF(&report, demoLabReport(), demoProof()); err != nil {
		t.Fatal(err)
	}
	var slip bytes.Buffer
	if err := SlipPDF(&slip, demoSlip(), A5); err != nil {
		t.Fatal(err)
	}
	with := func(keywords string) []byte {
		return bytes.Replace(report.Bytes(), []byte("/Keywords (kavach-proof:"), []byte("/Keywords ("+keywords+" old-"), 1)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	twice := append(bytes.Clone(report.Bytes()), []byte("\n/Keywords (kavach-proof:"+b64(`{"origin":"KB"}`)+")\n")...)

	tests := []struct {
		name  string
		pdf   []byte
		inMsg string
	}{
		{"ErrEmpty", nil, "no Kavach report proof"},
		{"ErrSlip", slip.Bytes(), "no Kavach report proof"},
		{"ErrNoMarker", with("kavach-proof-gone"), "no Kavach report proof"},
		{"ErrNothingAfterMarker", with("kavach-proof:)"), "damaged"},
		{"ErrBadBase64", with("kavach-proof:QUJD="), "damaged"},
		{"ErrNotJSON", with("kavach-proof:" + b64("not json")), "damaged"},
		{"ErrWrongJSON", with("kavach-proof:" + b64(`{"index":"twelve"}`)), "damaged"},
		{"ErrTwoProofs", twice, "more than one"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ReadReportProof(tc.pdf)
			if p != nil {
				t.Errorf("got a proof %+v", p)
			}
			checkInvalid(t, err, "", tc.inMsg)
		})
	}
}
