package lab

import (
	"encoding/json"
	"testing"
)

func TestParseNumber(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"13.5", 13.5, true},
		{"-2", -2, true},
		{"+5", 5, true},
		{".5", 0.5, true},
		{"5.", 5, true},
		{"<0.1", 0.1, true},
		{"> 500", 500, true},
		{"", 0, false},
		{"ninety", 0, false},
		{"9 0", 0, false},
		{"1e2", 0, false},
		{"0x1p4", 0, false},
		{"1_000", 0, false},
		{"NaN", 0, false},
		{"Inf", 0, false},
		{".", 0, false},
		{"-", 0, false},
	} {
		t.Run(c.in, func(t *testing.T) {
			got, ok := parseNumber(c.in)
			if ok != c.ok || got != c.want {
				t.Fatalf("parseNumber(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
			}
		})
	}
}

func TestValueJSON(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`"13.5"`, "13.5"},
		{`"Negative"`, "Negative"},
		{`13.50`, "13.50"},
		{`1e-05`, "0.00001"},
		{`2.5E2`, "250"},
		{`1e400`, "1e400"}, // out of range: kept, and refused as not a number
	} {
		t.Run(c.in, func(t *testing.T) {
			var v Value
			if err := json.Unmarshal([]byte(c.in), &v); err != nil || string(v) != c.want {
				t.Fatalf("%s: %q, %v; want %q", c.in, v, err, c.want)
			}
		})
	}
	var v Value
	if err := json.Unmarshal([]byte(`true`), &v); err == nil {
		t.Fatal("true taken as a value")
	}
}
