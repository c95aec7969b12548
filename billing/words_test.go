package billing

import "testing"

func TestInWords(t *testing.T) {
	for _, c := range []struct {
		paise  int64
		en, hi string
	}{
		{1000, "Rupees Ten Only", "दस रुपये मात्र"},
		{125050, "Rupees One Thousand Two Hundred Fifty and Paise Fifty Only", "एक हज़ार दो सौ पचास रुपये पचास पैसे मात्र"},
		{0, "Rupees Zero Only", "शून्य रुपये मात्र"},
		{99, "Rupees Zero and Paise Ninety Nine Only", "शून्य रुपये निन्यानबे पैसे मात्र"},
		{12345678900, "Rupees Twelve Crore Thirty Four Lakh Fifty Six Thousand Seven Hundred Eighty Nine Only",
			"बारह करोड़ चौंतीस लाख छप्पन हज़ार सात सौ नवासी रुपये मात्र"},
		{10000000, "Rupees One Lakh Only", "एक लाख रुपये मात्र"},
		{-5000, "Minus Rupees Fifty Only", "ऋण पचास रुपये मात्र"},
	} {
		if got := InWords(c.paise); got != c.en {
			t.Errorf("InWords(%d) = %q, want %q", c.paise, got, c.en)
		}
		if got := InWordsHindi(c.paise); got != c.hi {
			t.Errorf("InWordsHindi(%d) = %q, want %q", c.paise, got, c.hi)
		}
	}
	if len(hindiNumbers) != 100 {
		t.Fatalf("%d Hindi number words, want 100", len(hindiNumbers))
	}
}
