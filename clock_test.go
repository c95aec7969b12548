package kavach_test

import (
	"testing"
	"time"

	"kavach"
)

// TestParseDate: a date of birth as counters type it.
func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"01011980": "1980-01-01", "21-03-1985": "1985-03-21", "21/3/1985": "1985-03-21", "1985-03-21": "1985-03-21",
		" 05.11.2001 ": "2001-11-05", "31021980": "", "0101198": "", "1980": "", "": "", "21-13-1985": "",
	} {
		got, ok := kavach.ParseDate(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// TestParseTime: a date and time as the forms take them, and as pages show
// them: what ShowTime writes, ParseTime reads back.
func TestParseTime(t *testing.T) {
	want := time.Date(2026, 12, 5, 14, 30, 0, 0, kavach.Zone)
	for _, in := range []string{"05-12-2026 14:30", "5/12/2026 14:30", "05122026 14:30", "2026-12-05T14:30", " 05-12-2026, 14:30 ", kavach.ShowTime(want)} {
		got, ok := kavach.ParseTime(in)
		if !ok || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "05-12-2026", "14:30", "05-12-2026 25:00", "05-12-2026 14:3", "31-02-2026 10:00", "2026-12-05T14:30:00"} {
		if got, ok := kavach.ParseTime(in); ok {
			t.Errorf("ParseTime(%q) = %v, want refused", in, got)
		}
	}
}

// TestShow: one date format and one time format, in the hospital's zone,
// and nothing for the zero time.
func TestShow(t *testing.T) {
	utc := time.Date(2026, 12, 4, 20, 15, 0, 0, time.UTC) // 01:45 on the 5th in India
	if got := kavach.ShowDate(utc); got != "05-12-2026" {
		t.Errorf("ShowDate = %q", got)
	}
	if got := kavach.ShowTime(utc); got != "05-12-2026 01:45" {
		t.Errorf("ShowTime = %q", got)
	}
	if kavach.ShowDate(time.Time{}) != "" || kavach.ShowTime(time.Time{}) != "" {
		t.Error("the zero time shows as something")
	}
}
