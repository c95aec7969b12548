package web_test

import (
	"bytes"
	"html"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// pdfReadingOrder is the text of a PDF in pdftotext's reading order, in
// which a label wrapped over two lines stays together; it skips without
// poppler-utils, and fails without them in CI.
func pdfReadingOrder(t *testing.T, pdf []byte) string {
	t.Helper()
	tool, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI needs pdftotext: install poppler-utils")
		}
		t.Skip("pdftotext not found: install poppler-utils to read the slip")
	}
	cmd := exec.Command(tool, "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// slipRowRE finds the rows of the print view's slip: a label, Hindi and
// English, and its value.
var slipRowRE = regexp.MustCompile(`(?s)<tr[^>]*><th>(.*?)</th><td>(.*?)</td></tr>`)

var tagRE = regexp.MustCompile(`<[^>]*>`)

// plainText is HTML as a reader sees it: no tags, entities decoded,
// spaces collapsed.
func plainText(s string) string {
	return strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(s, " "))), " ")
}

// TestSlipPrintAndPDFSameFields registers a patient with a Hindi name and a
// BPL card and checks, for both papers, that the PDF slip carries every
// row of the print view: the same Hindi and English label and the same
// value, including the Hindi name, the department's Hindi name, the card
// number and the whole address with its PIN.
func TestSlipPrintAndPDFSameFields(t *testing.T) {
	s := newSite(t)
	b := s.loggedIn(t, "registration")
	form := patientForm("Kshitij Tripathi", "9876543219", "52")
	form.Set("sex", "M")
	form.Set("guardian_relation", "father")
	form.Set("guardian_name", "Ramakant Tripathi")
	form.Set("name_hi", "श्रीमती क्षितिज त्रिपाठी")
	form.Set("category", "bpl")
	form.Set("category_id", "DL-BPL-2024-118345")
	form.Set("address", "Flat 1204, Tower B, Sunshine Heights, Sector 62")
	visit := b.register(form)

	for _, size := range []string{"80mm", "a5"} {
		t.Run(size, func(t *testing.T) {
			p := b.get("/visits/" + visit + "/slip?size=" + size)
			must(t, p, http.StatusOK, "DL-BPL-2024-118345", "110029")
			pdf := b.get("/visits/" + visit + "/slip.pdf?size=" + size)
			if pdf.status != http.StatusOK || !strings.HasPrefix(pdf.body, "%PDF") {
				t.Fatalf("slip.pdf: status %d", pdf.status)
			}
			text := strings.Join(strings.Fields(pdfReadingOrder(t, []byte(pdf.body))), " ")

			rows := slipRowRE.FindAllStringSubmatch(p.body, -1)
			if len(rows) < 12 {
				t.Fatalf("the print view has %d rows:\n%s", len(rows), p.body)
			}
			for _, row := range rows {
				label := plainText(row[1])
				if !strings.Contains(text, label) {
					t.Errorf("the PDF lacks the label %q", label)
				}
				// A value's lines (the Hindi name under the Latin) and
				// parts (the visit's kind · its ID) may sit apart in the
				// PDF.
				for _, line := range strings.Split(row[2], "<br>") {
					for _, part := range strings.Split(plainText(line), " · ") {
						if !strings.Contains(text, part) {
							t.Errorf("the PDF lacks %q of the row %q", part, label)
						}
					}
				}
			}
			for _, want := range []string{"ओपीडी पर्ची · OPD SLIP", "टोकन / TOKEN", "श्रीमती क्षितिज त्रिपाठी",
				"कृपया हर बार यह पर्ची साथ लाएँ।", "Please bring this slip on every visit."} {
				if !strings.Contains(text, want) {
					t.Errorf("the PDF lacks %q:\n%s", want, text)
				}
			}
		})
	}
}
