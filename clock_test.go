package kavach_test

import (
	"testing"
	"time"

	"kavach"
)

// TestParseDate: dates as counters type them, and as ISO.
func TestParseDate(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"OKDigits", "01011980", "1980-01-01"},
		{"OKDashes", "21-03-1985", "1985-03-21"},
		{"OKSlashesShort", "21/3/1985", "1985-03-21"},
		{"OKDots", " 05.11.2001 ", "2001-11-05"},
		{"OKMixed", "21-03/1985", "1985-03-21"},
		{"OKISO", "1985-03-21", "1985-03-21"},
		{"OKOldest", "01-01-1896", "1896-01-01"}, // a date of birth 130 years back
		{"OKFirstYear", "01-01-1800", "1800-01-01"},
		{"ErrBefore", "31-12-1799", ""},
		{"ErrEmpty", "", ""},
		{"ErrNoDay", "31021980", ""},
		{"ErrMonth", "21-13-1985", ""},
		{"ErrISODigits", "20261205", ""}, // read as DDMMYYYY: month 26
		{"ErrSevenDigits", "0101198", ""},
		{"ErrYearOnly", "1980", ""},
		{"ErrYearTypo", "05-12-0226", ""},
		{"ErrFarYear", "05-12-2226", ""},
		{"ErrWords", "5 Dec 2026", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := kavach.ParseDate(c.in)
			if got != c.want || ok != (c.want != "") {
				t.Errorf("ParseDate(%q) = %q, %v; want %q", c.in, got, ok, c.want)
			}
		})
	}
}

// TestParseTime: a date and time as the forms take them, and as pages show
// them: what ShowTime writes, ParseTime reads back.
func TestParseTime(t *testing.T) {
	want := time.Date(2026, 12, 5, 14, 30, 0, 0, kavach.Zone)
	for _, c := range []struct{ name, in string }{
		{"OKShown", kavach.ShowTime(want)},
		{"OKDashes", "05-12-2026 14:30"},
		{"OKSlashes", "5/12/2026 14:30"},
		{"OKDigits", "05122026 14:30"},
		{"OKISO", "2026-12-05T14:30"},
		{"OKComma", " 05-12-2026, 14:30 "},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := kavach.ParseTime(c.in); !ok || !got.Equal(want) {
				t.Errorf("ParseTime(%q) = %v, %v; want %v", c.in, got, ok, want)
			}
		})
	}
	for _, c := range []struct{ name, in string }{
		{"ErrEmpty", ""}, {"ErrNoTime", "05-12-2026"}, {"ErrNoDate", "14:30"}, {"ErrHour", "05-12-2026 25:00"},
		{"ErrMinute", "05-12-2026 14:3"}, {"ErrDay", "31-02-2026 10:00"}, {"ErrSeconds", "2026-12-05T14:30:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got, ok := kavach.ParseTime(c.in); ok {
				t.Errorf("ParseTime(%q) = %v, want refused", c.in, got)
			}
		})
	}
}

// TestParseDay: a day's first instant is the hospital's midnight.
func TestParseDay(t *testing.T) {
	got, ok := kavach.ParseDay("02-03-2026")
	if !ok || got.UTC().Format(time.RFC3339) != "2026-03-01T18:30:00Z" {
		t.Errorf("ParseDay = %v, %v", got.UTC(), ok)
	}
	if _, ok := kavach.ParseDay("30-02-2026"); ok {
		t.Error("30 February read as a day")
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
	if got := kavach.ShowDay("2026-12-05"); got != "05-12-2026" {
		t.Errorf("ShowDay = %q", got)
	}
	if kavach.ShowDate(time.Time{}) != "" || kavach.ShowTime(time.Time{}) != "" || kavach.ShowDay("") != "" {
		t.Error("nothing shows as something")
	}
}
