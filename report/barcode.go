// Package report makes the PDF documents and barcodes that Kavach prints.
package report

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/boombuler/barcode/code128"

	"kavach"
)

// quietModules is the white margin kept either side of a Code 128 symbol.
// ISO/IEC 15417 asks for at least ten modules; with less, counter scanners
// read the slip's border or nearby text as bars and fail.
const quietModules = 10

// Code128PNG returns a Code 128 barcode of text as a PNG of exactly width ×
// height pixels, for HTML print views (serve it as image/png). Every module
// is the same whole number of pixels, so the bars stay sharp, and a quiet
// zone is kept either side; width must leave room for both.
func Code128PNG(text string, width, height int) ([]byte, error) {
	bars, err := code128Bars(text)
	if err != nil {
		return nil, err
	}
	need := len(bars) + 2*quietModules
	if width < need {
		return nil, kavach.Errorf(kavach.EINVALID, "Barcode %q needs an image at least %d pixels wide, not %d.", text, need, width)
	}
	if height < 1 {
		return nil, kavach.Errorf(kavach.EINVALID, "Barcode %q needs an image at least 1 pixel high, not %d.", text, height)
	}
	img := drawBars(bars, width, height, width/need)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("report: barcode %q: %w", text, err)
	}
	return buf.Bytes(), nil
}

// code128Bars encodes text with the checksum and returns its modules from
// left to right, true for a dark one, without any quiet zone.
func code128Bars(text string) ([]bool, error) {
	if text == "" {
		return nil, kavach.Errorf(kavach.EINVALID, "Barcode text is empty.")
	}
	bc, err := code128.Encode(text)
	if err != nil {
		// Code 128 carries ASCII only; anything else is the caller's input.
		return nil, kavach.Errorf(kavach.EINVALID, "Barcode %q cannot be printed as Code 128: %v.", text, err)
	}
	b := bc.Bounds()
	bars := make([]bool, b.Dx())
	for i := range bars {
		r, _, _, _ := bc.At(b.Min.X+i, b.Min.Y).RGBA()
		bars[i] = r < 0x8000
	}
	return bars, nil
}

// drawBars paints bars, module pixels each, centred on a white width ×
// height image.
func drawBars(bars []bool, width, height, module int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, width, height))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	left := (width - len(bars)*module) / 2
	for i, dark := range bars {
		if !dark {
			continue
		}
		for x := left + i*module; x < left+(i+1)*module; x++ {
			for y := 0; y < height; y++ {
				img.SetGray(x, y, color.Gray{Y: 0})
			}
		}
	}
	return img
}
