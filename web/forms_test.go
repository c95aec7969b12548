package web_test

import (
	"testing"

	"kavach/web"
)

// TestParseDate: a date of birth as counters type it.
func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"01011980": "1980-01-01", "21-03-1985": "1985-03-21", "21/3/1985": "1985-03-21", "1985-03-21": "1985-03-21",
		" 05.11.2001 ": "2001-11-05", "31021980": "", "0101198": "", "1980": "",
	} {
		got, ok := web.ParseDate(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}
