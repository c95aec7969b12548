package report

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"kavach"
)

var ist = time.FixedZone("IST", 5*3600+30*60)

func demoSlip() Slip {
	return Slip{
		Hospital:     "Kavach Demo Hospital, New Delhi",
		UHID:         "KA00000127",
		Name:         "Suresh Kumar",
		NameHi:       "सुरेश कुमार",
		Guardian:     "S/O Ramesh Kumar",
		AgeSex:       "34 Y / M",
		Category:     "BPL",
		CategoryID:   "DL-BPL-2024-118345",
		Mobile:       "98100 12345",
		Address:      "H. No. 12, Gali No. 4, Laxmi Nagar, East Delhi, Delhi 110092",
		Department:   "General Medicine (MED)",
		DepartmentHi: "सामान्य चिकित्सा",
		Unit:         "Unit II (Dr. A. Sharma)",
		Room:         "Room 12, OPD Block",
		Doctor:       "Dr. Anjali Sharma",
		Days:         "Mon–Sat",
		VisitID:      "V2026-000451",
		VisitKind:    "New",
		VisitKindHi:  "नया",
		Token:        27,
		Time:         time.Date(2026, 1, 12, 9, 41, 0, 0, ist),
		ValidUpTo:    time.Date(2026, 1, 26, 0, 0, 0, 0, ist),
		Fee:          "₹10.00",
	}
}

// needPoppler returns the path of a poppler-utils tool. Without it the scan
// tests cannot run; that is a skip on a developer's machine but a failure in
// CI, where a silently skipped barcode test would hide unreadable slips.
func needPoppler(t *testing.T, tool string) string {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s not found and CI is set: install poppler-utils (apt-get install -y poppler-utils)", tool)
	}
	t.Skipf("%s not found: install poppler-utils (apt-get install -y poppler-utils) to check that printed barcodes scan", tool)
	return ""
}

// rasterise renders every page of pdf at 150 dpi, as a cheap office
// scanner or a phone photo would see it.
func rasterise(t *testing.T, pdf []byte) []image.Image {
	t.Helper()
	pdftoppm := needPoppler(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "slip.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftoppm, "-r", "150", "-png", in, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	names, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if err != nil {
		t.Fatal(err)
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

// scanCode128 finds and decodes a Code 128 barcode anywhere in img.
func scanCode128(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		t.Fatal(err)
	}
	// TRY_HARDER makes the reader look at every few rows of the page,
	// not only the middle, where a slip has text rather than the barcode.
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := oned.NewCode128Reader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("no Code 128 barcode found: %v", err)
	}
	return res.GetText()
}

func TestSlipPDF(t *testing.T) {
	long := demoSlip()
	long.UHID = "ZZZZZZZZZZZZ" // widest 12-character symbol: no digit pairs to compress
	long.Name = "José Ramírez Fernández Venkataraghavan Subramaniam Iyer Krishnamurthy"
	long.Guardian = "W/O Ñuñez Gonçalves Chandrasekharan Bhattacharya Mukhopadhyay"
	long.Address = strings.Repeat("Flat 1204, Tower B, Sunshine Heights, Sector 62, Noida, Gautam Buddh Nagar, ", 3)
	long.Department = "Obstetrics and Gynaecology, High-Risk Pregnancy Clinic (OBG-HRP)"
	long.Token = 12345
	long.Fee = "Nil (BPL)"

	// Every field of the print view, Hindi labels beside English ones,
	// the whole address to its PIN and the footer on both papers.
	demoText := []string{
		"Kavach Demo Hospital, New Delhi", "ओपीडी पर्ची · OPD SLIP", "KA-0000012-7",
		"रोगी का नाम / Name", "Suresh Kumar", "सुरेश कुमार",
		"अभिभावक / Guardian", "S/O Ramesh Kumar", "उम्र / लिंग / Age / Sex", "34 Y / M",
		"श्रेणी / Category", "BPL", "कार्ड सं. / Card no.", "DL-BPL-2024-118345", "मोबाइल / Mobile", "98100 12345",
		"पता / Address", "H. No. 12, Gali No. 4", "110092",
		"विभाग / Department", "General Medicine (MED)", "सामान्य चिकित्सा", "टोकन / TOKEN", "27",
		"यूनिट / Unit", "Unit II (Dr. A. Sharma)", "कमरा सं. / Room No.", "Room 12, OPD Block",
		"चिकित्सक / Doctor", "Dr. Anjali Sharma", "Mon–Sat", "नया / New", "V2026-000451",
		"12-01-2026 09:41", "26-01-2026", "शुल्क / Fee", "₹10.00", "टिप्पणी / Notes / Rx",
		"कृपया हर बार यह पर्ची साथ लाएँ।", "Please bring this slip on every visit.",
	}
	bare := Slip{UHID: "KA1", Name: "Munni", Time: time.Date(2026, 3, 1, 16, 5, 0, 0, ist)}

	tests := []struct {
		name  string
		slip  Slip
		size  PageSize
		wantW int      // page width in pixels at 150 dpi
		text  []string // must be in the PDF's text, accents intact
		not   []string // must not be
	}{
		{"A5", demoSlip(), A5, 874, demoText, nil},
		{"Thermal80", demoSlip(), Thermal80, 472, demoText, nil},
		{"A5LongFields", long, A5, 874, []string{"José Ramírez", "Ñuñez Gonçalves", "12345", "Nil (BPL)"}, nil},
		{"Thermal80LongFields", long, Thermal80, 472, []string{"José Ramírez", "Ñuñez Gonçalves", "12345", "Nil (BPL)"}, nil},
		{"A5OnlyRequired", bare, A5, 874, []string{"Munni", "KA1", "01-03-2026 16:05"}, []string{"TOKEN", "Valid up to", "Fee"}},
		{"Thermal80OnlyRequired", bare, Thermal80, 472, []string{"Munni", "KA1", "01-03-2026 16:05"}, []string{"TOKEN", "Valid up to", "Fee"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := SlipPDF(&buf, tc.slip, tc.size); err != nil {
				t.Fatal(err)
			}
			pages := rasterise(t, buf.Bytes())
			if len(pages) != 1 {
				t.Fatalf("got %d pages, want 1", len(pages))
			}
			// pdftoppm rounds the page size up to whole pixels.
			if w := pages[0].Bounds().Dx(); w < tc.wantW || w > tc.wantW+1 {
				t.Errorf("page is %d px wide at 150 dpi, want %d", w, tc.wantW)
			}
			if got := scanCode128(t, pages[0]); got != tc.slip.UHID {
				t.Errorf("barcode reads %q, want UHID %q", got, tc.slip.UHID)
			}

			pdftotext := needPoppler(t, "pdftotext")
			in := filepath.Join(t.TempDir(), "slip.pdf")
			if err := os.WriteFile(in, buf.Bytes(), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(pdftotext, "-enc", "UTF-8", in, "-").Output()
			if err != nil {
				t.Fatalf("pdftotext: %v", err)
			}
			for _, want := range tc.text {
				if !strings.Contains(string(out), want) {
					t.Errorf("PDF text lacks %q:\n%s", want, out)
				}
			}
			for _, unwanted := range tc.not {
				if strings.Contains(string(out), unwanted) {
					t.Errorf("PDF text has %q:\n%s", unwanted, out)
				}
			}
		})
	}
}

func TestSlipPDFDeterministic(t *testing.T) {
	for _, size := range []PageSize{A5, Thermal80} {
		t.Run(size.String(), func(t *testing.T) {
			var a, b bytes.Buffer
			if err := SlipPDF(&a, demoSlip(), size); err != nil {
				t.Fatal(err)
			}
			if err := SlipPDF(&b, demoSlip(), size); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Error("two renderings of the same slip differ")
			}
		})
	}
}

func TestSlipPDFBadInput(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Slip)
		size  PageSize
		code  string // kavach error code
		field string // key in kavach.Error.Fields; "" for none
		inMsg string // the user-facing message must name the field
	}{
		{"ErrUHIDEmpty", func(s *Slip) { s.UHID = "" }, A5, kavach.EINVALID, "uhid", "UHID"},
		{"ErrUHIDLowercase", func(s *Slip) { s.UHID = "ka00000127" }, A5, kavach.EINVALID, "uhid", "UHID"},
		{"ErrUHIDDashes", func(s *Slip) { s.UHID = "KA-0000-0127" }, Thermal80, kavach.EINVALID, "uhid", "UHID"},
		{"ErrUHIDTooLong", func(s *Slip) { s.UHID = "KA00000000127" }, A5, kavach.EINVALID, "uhid", "UHID"},
		{"ErrNameEmpty", func(s *Slip) { s.Name = "" }, A5, kavach.EINVALID, "name", "Name"},
		{"ErrNameBlank", func(s *Slip) { s.Name = "   " }, Thermal80, kavach.EINVALID, "name", "Name"},
		{"ErrTimeZero", func(s *Slip) { s.Time = time.Time{} }, A5, kavach.EINVALID, "time", "Time"},
		{"ErrPageSize", func(s *Slip) {}, PageSize(9), kavach.EINTERNAL, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := demoSlip()
			tc.edit(&s)
			var buf bytes.Buffer
			err := SlipPDF(&buf, s, tc.size)
			if err == nil {
				t.Fatal("no error")
			}
			if got := kavach.ErrorCode(err); got != tc.code {
				t.Errorf("error %q has code %q, want %q", err, got, tc.code)
			}
			var e *kavach.Error
			if tc.field != "" && errors.As(err, &e) {
				if _, ok := e.Fields[tc.field]; !ok {
					t.Errorf("error %q does not mark field %q", err, tc.field)
				}
			}
			if msg := kavach.ErrorMessage(err); !strings.Contains(msg, tc.inMsg) {
				t.Errorf("message %q does not name %q", msg, tc.inMsg)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", buf.Len())
			}
		})
	}
}

func TestCode128PNG(t *testing.T) {
	tests := []struct {
		name          string
		text          string
		width, height int
	}{
		{"OK", "KA00000127", 400, 80},
		{"OKOneModulePerPixel", "KA00000127", 132, 40},
		{"OKLetters", "ZZZZZZZZZZZZ", 600, 100},
		{"OKVisitID", "V2026-000451", 500, 60},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Code128PNG(tc.text, tc.width, tc.height)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Size(); got != image.Pt(tc.width, tc.height) {
				t.Errorf("image is %v, want %dx%d", got, tc.width, tc.height)
			}
			if got := scanCode128(t, img); got != tc.text {
				t.Errorf("barcode reads %q, want %q", got, tc.text)
			}
		})
	}

	errs := []struct {
		name          string
		text          string
		width, height int
		inErr         string
	}{
		{"ErrEmpty", "", 400, 80, "empty"},
		{"ErrTooNarrow", "KA00000127", 131, 80, "131"},
		{"ErrNoHeight", "KA00000127", 400, 0, "high"},
		{"ErrNotASCII", "KA०००१", 400, 80, "KA"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Code128PNG(tc.text, tc.width, tc.height)
			if err == nil {
				t.Fatal("no error")
			}
			if got := kavach.ErrorCode(err); got != kavach.EINVALID {
				t.Errorf("error %q has code %q, want %q", err, got, kavach.EINVALID)
			}
			if msg := kavach.ErrorMessage(err); !strings.Contains(msg, tc.inErr) {
				t.Errorf("message %q does not mention %q", msg, tc.inErr)
			}
		})
	}
}
