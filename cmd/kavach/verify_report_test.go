package main

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// TestVerifyReport: a report released on a running node is proven by
// kavach verify-report, online from its QR code (decoded from the rendered
// PDF, as a phone would) and offline against a saved checkpoint; one
// changed digit fails it; an older version is told as superseded.
func TestVerifyReport(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir, "--demo")
	tok := map[string]string{}
	for _, u := range []string{"registration", "doctor", "lab", "pathologist"} {
		tok[u] = login(t, s, u)
	}
	api := func(user, method, path string, body any, want int) []byte {
		t.Helper()
		code, b := call(t, method, s.url+path, tok[user], body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, b)
		}
		return b
	}
	var p struct{ UHID string }
	json.Unmarshal(api("registration", "POST", "/api/v1/patients", patient(1), 201), &p)
	var o struct {
		OrderID string `json:"order_id"`
	}
	json.Unmarshal(api("doctor", "POST", "/api/v1/lab-orders", map[string]any{"uhid": p.UHID, "tests": []string{"CBC"}}, 201), &o)
	var c struct{ Samples []struct{ Accession string } }
	json.Unmarshal(api("lab", "POST", "/api/v1/lab-orders/"+o.OrderID+"/collect", map[string]any{}, 201), &c)
	acc := c.Samples[0].Accession
	api("lab", "POST", "/api/v1/samples/"+acc+"/receive", map[string]any{}, 200)
	values := map[string]any{"results": []map[string]string{{"analyte": "HGB", "value": "13.5"}, {"analyte": "WBC", "value": "11.8"},
		{"analyte": "PLT", "value": "140"}, {"analyte": "RBC", "value": "4.9"}, {"analyte": "HCT", "value": "44"}, {"analyte": "MCV", "value": "90"},
		{"analyte": "MCH", "value": "29"}, {"analyte": "MCHC", "value": "33"}, {"analyte": "RDW", "value": "12.5"}, {"analyte": "MPV", "value": "9.1"}}}
	api("lab", "POST", "/api/v1/samples/"+acc+"/results", values, 200)
	api("pathologist", "POST", "/api/v1/samples/"+acc+"/verify", map[string]any{}, 200)
	v1 := api("doctor", "GET", "/api/v1/samples/"+acc+"/report.pdf", nil, 200)
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, v1, 0o600); err != nil {
		t.Fatal(err)
	}

	// The QR code, as a phone reads it from the paper, opens the public
	// page: no login, the report's values, genuine and current.
	qr := scanQR(t, v1)
	if !strings.HasPrefix(qr, s.url+"/r/") {
		t.Fatalf("the QR code holds %q", qr)
	}
	resp, err := http.Get(qr)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(page, []byte("Genuine and current")) || !bytes.Contains(page, []byte("13.5")) {
		t.Fatalf("the QR code's page: %d\n%s", resp.StatusCode, page)
	}
	if bytes.Contains(page, []byte("Ward 7")) || bytes.Contains(page, []byte("9700000001")) || bytes.Contains(page, []byte("Ram Lal")) {
		t.Fatalf("the public page shows more of the patient than the report: %s", page)
	}

	verifyJSON := func(want int, args ...string) map[string]any {
		t.Helper()
		out, errOut, code := kavach(t, append([]string{"verify-report", "--json"}, args...)...)
		if code != want {
			t.Fatalf("verify-report %v: exit %d, want %d\n%s\n%s", args, code, want, out, errOut)
		}
		var rep map[string]any
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("verify-report %v: %v\n%s", args, err, out)
		}
		return rep
	}
	if rep := verifyJSON(0, file); rep["ok"] != true || rep["current"] != true || rep["accession"] != acc {
		t.Fatalf("online: %v", rep)
	}
	cp := filepath.Join(t.TempDir(), "checkpoint.txt")
	os.WriteFile(cp, api("doctor", "GET", "/api/v1/checkpoint", nil, 200), 0o600)
	if rep := verifyJSON(0, file, "--checkpoint", cp); rep["ok"] != true {
		t.Fatalf("offline: %v", rep)
	}

	// Pinned to the hospital's key (node.pub), and to another.
	pub, err := os.ReadFile(filepath.Join(dir, "node.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if rep := verifyJSON(0, file, "--key", strings.TrimSpace(string(pub))); rep["ok"] != true {
		t.Fatalf("pinned: %v", rep)
	}
	verifyJSON(1, file, "--key", "kavach/KVH/XX+01234567+AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")

	// One changed digit in a result fails, online and offline.
	forged := filepath.Join(t.TempDir(), "forged.pdf")
	os.WriteFile(forged, changeText(t, v1, "(13.5)", "(18.5)"), 0o600)
	for _, args := range [][]string{{forged}, {forged, "--checkpoint", cp}} {
		rep := verifyJSON(1, args...)
		if rep["ok"] != false || !strings.Contains(strings.Join(toStrings(rep["faults"]), "\n"), "differ") {
			t.Fatalf("forged %v: %v", args, rep)
		}
	}
	// A PDF that is not a report, and a checkpoint of another node.
	slip := filepath.Join(t.TempDir(), "label.pdf")
	os.WriteFile(slip, api("lab", "GET", "/api/v1/samples/"+acc+"/label.pdf", nil, 200), 0o600)
	if rep := verifyJSON(1, slip); !strings.Contains(fmt.Sprint(rep["error"]), "carries no Kavach report proof") || strings.Contains(fmt.Sprint(rep["error"]), "invalid:") {
		t.Fatalf("a label: %v", rep)
	}
	other := filepath.Join(t.TempDir(), "other.txt")
	os.WriteFile(other, []byte("kavach/XX/KA\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— kavach/XX/KA AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\n"), 0o600)
	verifyJSON(1, file, "--checkpoint", other)

	// A corrected result is a new version; the first is superseded
	// everywhere it is looked up, and still genuine.
	amend := map[string]any{"results": []map[string]string{{"analyte": "HGB", "value": "12.9"}}, "reason": "Re-run after calibration"}
	api("lab", "POST", "/api/v1/samples/"+acc+"/results", amend, 200)
	api("pathologist", "POST", "/api/v1/samples/"+acc+"/verify", map[string]any{}, 200)
	if rep := verifyJSON(0, file); rep["ok"] != true || rep["current"] != false || rep["latest_version"] != float64(2) {
		t.Fatalf("superseded: %v", rep)
	}
	resp, err = http.Get(qr)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(page, []byte("superseded")) {
		t.Fatalf("the first version's page after the second: %s", page)
	}
	v2 := filepath.Join(t.TempDir(), "v2.pdf")
	os.WriteFile(v2, api("doctor", "GET", "/api/v1/samples/"+acc+"/report.pdf", nil, 200), 0o600)
	if rep := verifyJSON(0, v2); rep["version"] != float64(2) || rep["current"] != true {
		t.Fatalf("version 2: %v", rep)
	}
	// Text output and usage.
	if out, _, code := kavach(t, "verify-report", file); code != 0 || !strings.Contains(out, "superseded by version 2") {
		t.Fatalf("text: %d %s", code, out)
	}
	if _, _, code := kavach(t, "verify-report"); code != 2 {
		t.Fatalf("no file: exit %d", code)
	}
	if _, _, code := kavach(t, "verify-report", filepath.Join(dir, "nope.pdf")); code != 2 {
		t.Fatalf("missing file: exit %d", code)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

var streamRE = regexp.MustCompile(`(?s)stream\n(.*?)\nendstream`)

// changeText changes text in the PDF's compressed content streams, as an
// editor would: decompress, edit, compress again.
func changeText(t *testing.T, pdf []byte, from, to string) []byte {
	t.Helper()
	changed := false
	out := streamRE.ReplaceAllFunc(pdf, func(m []byte) []byte {
		body := streamRE.FindSubmatch(m)[1]
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			return m
		}
		plain, err := io.ReadAll(zr)
		if err != nil || !bytes.Contains(plain, []byte(from)) {
			return m
		}
		changed = true
		var buf bytes.Buffer
		zw := zlib.NewWriter(&buf)
		zw.Write(bytes.Replace(plain, []byte(from), []byte(to), 1))
		zw.Close()
		return append(append([]byte("stream\n"), buf.Bytes()...), []byte("\nendstream")...)
	})
	if !changed {
		t.Fatalf("no content stream holds %q", from)
	}
	return out
}

// scanQR renders the PDF's first page and decodes its QR code.
func scanQR(t *testing.T, pdf []byte) string {
	t.Helper()
	pdftoppm, err := exec.LookPath("pdftoppm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("pdftoppm not found and CI is set: install poppler-utils")
		}
		t.Skip("pdftoppm not found: install poppler-utils")
	}
	d := t.TempDir()
	in := filepath.Join(d, "r.pdf")
	os.WriteFile(in, pdf, 0o600)
	if out, err := exec.Command(pdftoppm, "-r", "150", "-png", "-f", "1", "-l", "1", in, filepath.Join(d, "p")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	names, _ := filepath.Glob(filepath.Join(d, "p*.png"))
	if len(names) == 0 {
		t.Fatal("pdftoppm made no page")
	}
	f, err := os.Open(names[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(gozxing.NewLuminanceSourceFromImage(img)))
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code on the report: %v", err)
	}
	return res.GetText()
}
