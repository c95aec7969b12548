package report

import (
	"bytes"
	"testing"
)

// The cost of a PDF: go test -run X -bench . ./report/ reports the time
// and the size of each.

func BenchmarkSlipPDF(b *testing.B) {
	for _, size := range []PageSize{A5, Thermal80} {
		b.Run(size.String(), func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := SlipPDF(&buf, demoSlip(), size); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}

func BenchmarkLabelPDF(b *testing.B) {
	l := demoLabel()
	l.NameHi = "सुरेश कुमार"
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := LabelPDF(&buf, l); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes")
}

func BenchmarkLabReportPDF(b *testing.B) {
	for layout := 1; layout <= LabReportLayout; layout++ {
		b.Run("Layout"+string(rune('0'+layout)), func(b *testing.B) {
			p := demoProof()
			p.Layout = layout
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := LabReportPDF(&buf, demoLabReport(), p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
