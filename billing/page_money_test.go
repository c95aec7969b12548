package billing

import (
	"testing"

	"kavach"
)

// TestParseRupees: what a clerk types in the amount field, to the paisa,
// and what is refused and why.
func TestParseRupees(t *testing.T) {
	for _, c := range []struct {
		name, in string
		paise    int64
		err      string
	}{
		{"Whole", "150", 15000, ""},
		{"Paise", "150.50", 15050, ""},
		{"OneDigitOfPaise", "150.5", 15050, ""},
		{"Dot", "150.", 15000, ""},
		{"IndianCommas", "1,50,000.05", 15000005, ""},
		{"RupeeSign", "₹ 20", 2000, ""},
		{"Rs", "Rs. 20.01", 2001, ""},
		{"Spaces", "  7.07 ", 707, ""},
		{"Zero", "0", 0, ""},
		{"NoFloatDrift", "0.29", 29, ""},
		{"ErrNegative", "-5", 0, "The amount cannot be negative"},
		{"ErrFractionalPaise", "10.505", 0, "At most two digits of paise, like 150.50"},
		{"ErrWord", "ten", 0, "Type the amount in rupees, like 150.50"},
		{"ErrEmpty", " ", 0, "Type the amount in rupees, like 150.50"},
		{"ErrExponent", "1e3", 0, "Type the amount in rupees, like 150.50"},
		{"ErrTooLong", "12345678901", 0, "Type the amount in rupees, like 150.50"},
		{"ErrTwoDots", "1.2.3", 0, "Type the amount in rupees, like 150.50"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := parseRupees(c.in)
			if c.err == "" {
				if err != nil || p != c.paise {
					t.Fatalf("parseRupees(%q) = %d, %v; want %d", c.in, p, err, c.paise)
				}
				return
			}
			ke, ok := err.(*kavach.Error)
			if !ok || ke.Code != kavach.EINVALID {
				t.Fatalf("parseRupees(%q) = %d, %v; want %q", c.in, p, err, c.err)
			}
			if ke.Fields["amount"] != c.err {
				t.Fatalf("parseRupees(%q): %q, want %q", c.in, ke.Fields["amount"], c.err)
			}
		})
	}
}

func TestINR(t *testing.T) {
	for paise, want := range map[int64]string{0: "₹0.00", 5: "₹0.05", 100050: "₹1,000.50", 15000005: "₹1,50,000.05",
		1234567890: "₹1,23,45,678.90", -50: "−₹0.50", 99999: "₹999.99"} {
		if got := inr(paise); got != want {
			t.Errorf("inr(%d) = %q, want %q", paise, got, want)
		}
	}
	for paise, want := range map[int64]string{0: "0.00", 146000: "1460.00", 5: "0.05", -10: "0.00"} {
		if got := rupeesInput(paise); got != want {
			t.Errorf("rupeesInput(%d) = %q, want %q", paise, got, want)
		}
		if p, err := parseRupees(rupeesInput(paise)); err != nil || (paise >= 0 && p != paise) {
			t.Errorf("rupeesInput(%d) does not read back: %d %v", paise, p, err)
		}
	}
}

// TestAmountPaise: a form's amount is more than nothing.
func TestAmountPaise(t *testing.T) {
	if p, err := amountPaise("0.01"); err != nil || p != 1 {
		t.Errorf("0.01: %d %v", p, err)
	}
	for _, in := range []string{"0", "0.00", "₹0"} {
		if _, err := amountPaise(in); err == nil || err.(*kavach.Error).Fields["amount"] != "The amount must be more than ₹0" {
			t.Errorf("%s: %v", in, err)
		}
	}
}
