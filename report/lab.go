package report

import (
	"errors"
	"io"
	"time"
)

// Label is what a 50 × 25 mm sample label shows. One label goes on each
// container collected; its Code 128 barcode is the accession number, which
// the lab scans to receive the sample and analysers send back in OBR-3.
type Label struct {
	Accession string    // e.g. "KAL00001234" plus check character: the barcode
	UHID      string    // e.g. "KA00000127"
	Name      string    // Latin script (cp1252 until issue 13 brings Devanagari)
	AgeSex    string    // e.g. "34 Y / M"
	Container string    // e.g. "EDTA (purple)"
	Tests     []string  // test codes in this container: "CBC", "HBA1C"
	Collected time.Time // collection time, printed in its own location
	Urgent    bool      // prints a bold URGENT mark
}

// LabelPDF writes l as a one-page PDF exactly 50 mm wide and 25 mm high,
// for a label printer. The output depends only on l.
func LabelPDF(w io.Writer, l Label) error { return errors.New("report: LabelPDF not built yet") }

// LabReport is what a released lab report shows. Everything here is taken
// from the journaled release event, so the PDF can be rendered again, byte
// for byte, from the journal (kavach verify-report does).
type LabReport struct {
	Hospital   string
	UHID       string
	Name       string
	AgeSex     string // "34 Y / M", at collection
	Accession  string
	Specimen   string // "Blood", "Serum"
	Container  string
	OrderedBy  string // the doctor or "Outside prescription: Dr X"
	Priority   string // "routine" or "urgent"
	Collected  time.Time
	Received   time.Time
	Released   time.Time
	VerifiedBy string // the pathologist's full name
	Version    int    // 1 for the first release
	// Amendment says why this version replaced the one before (Version > 1).
	Amendment string
	Tests     []LabReportTest
}

// LabReportTest is one test of a report with its results.
type LabReportTest struct {
	Code    string
	Name    string
	Results []LabReportResult
}

// LabReportResult is one analyte's result.
type LabReportResult struct {
	Code  string // catalogue code, "HGB"
	Name  string // "Haemoglobin"
	Value string // as entered, "13.5"
	Unit  string // "g/dL"
	Range string // the reference range that applied, "13.0–17.0"
	Flag  string // "", "H", "L", "HH", "LL"
}

// ReportProof is what proves a report: the release event's canonical
// bytes, its index in its origin node's journal, an inclusion proof to a
// signed checkpoint of that journal, and the node's verifier key. URL is
// the public verification page's address, which the QR code carries.
type ReportProof struct {
	URL        string   // what the QR code holds (and prints under it)
	Origin     string   // the origin node's code, "KA"
	Index      uint64   // the event's index in the origin's journal
	Event      []byte   // the event's canonical bytes
	Checkpoint []byte   // the signed checkpoint (C2SP note) the proof is to
	Proof      [][]byte // the inclusion proof of the event at Index
	Key        string   // the origin node's note verifier key
}

// LabReportPDF writes the report as an A4 PDF with a QR code of p.URL and
// the proof embedded, so that ReadReportProof can take it out again. The
// output depends only on r and p.
func LabReportPDF(w io.Writer, r LabReport, p ReportProof) error {
	return errors.New("report: LabReportPDF not built yet")
}

// ReadReportProof takes the embedded proof out of a report PDF made by
// LabReportPDF; it does not check it.
func ReadReportProof(pdf []byte) (*ReportProof, error) {
	return nil, errors.New("report: ReadReportProof not built yet")
}
