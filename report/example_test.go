package report_test

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"

	"kavach/report"
)

// A receipt's amount in words, in Hindi and English, drawn into a document
// that also uses fpdf directly.
func ExampleTypesetter() {
	pdf := fpdf.NewCustom(&fpdf.InitType{UnitStr: "mm", Size: fpdf.SizeType{Wd: 80, Ht: 60}})
	pdf.SetCellMargin(0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	ts := report.NewTypesetter(pdf)

	amount := report.Style{Size: 14, Bold: true}
	ts.Cell(4, 4, 72, ts.LineHeight("₹1,250.00", amount), "₹1,250.00", amount, "R")

	words := "एक हज़ार दो सौ पचास रुपये मात्र / Rupees one thousand two hundred and fifty only"
	st := report.Style{Size: 9}
	y, lh := 12.0, ts.LineHeight(words, st)
	for _, line := range ts.Wrap(words, st, 72, 3) {
		ts.Draw(4, ts.Baseline(y, lh, st), line, st)
		y += lh
	}

	// fpdf's own drawing needs its font set again.
	pdf.SetFont("Helvetica", "", 8)
	pdf.Text(4, y+4, "Received with thanks.")

	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(ts.Wrap(words, st, 72, 3)), "lines")
	// Output: 2 lines
}
