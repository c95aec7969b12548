package report

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

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

	tests := []struct {
		name  string
		label Label
		text  []string
		not   []string
	}{
		{"Demo", demoLabel(), []string{"Suresh Kumar", "KA00000127", "34 Y / M", "KAL00001234X", "EDTA (purple): CBC, HBA1C", "02 Dec 2026 09:14"}, []string{"URGENT"}},
		{"Urgent", urgent, []string{"URGENT", "Suresh Kumar", "KAL00001234X"}, nil},
		{"LongFields", long, []string{"URGENT", "José Ramírez", "KA0000000127", "104 Y / F", "ZZZZZZZZZZZZZZZZ", "..."}, nil},
		{"OnlyRequired", bare, []string{"KAL1", "KA1"}, []string{"URGENT", "2026"}},
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
