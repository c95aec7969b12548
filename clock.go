package kavach

import (
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // the hospital's zone must resolve on any machine
)

// Zone is the hospital's time zone, India Standard Time. It is every
// service's one clock face: a token's day, a queue's day, today for a date
// of birth, a cash counter's day end are all days of this zone, whatever
// the server's zone is.
var Zone = func() *time.Location {
	z, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		return time.FixedZone("IST", 5*60*60+30*60)
	}
	return z
}()

// Day is the hospital's date at t, as "2006-01-02".
func Day(t time.Time) string { return t.In(Zone).Format("2006-01-02") }

// DayStart is the first instant of the hospital's day at t.
func DayStart(t time.Time) time.Time {
	t = t.In(Zone)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, Zone)
}

// DateLayout and TimeLayout are how every page, slip, label, report and
// receipt shows a date, and a date with its time: 05-12-2026 and
// 05-12-2026 14:30. It is the DD-MM-YYYY that counters type into the
// forms, and it reads the same in English and in Hindi.
const (
	DateLayout = "02-01-2006"
	TimeLayout = "02-01-2006 15:04"
)

// ShowDate is t's date in the hospital's zone, as DateLayout; "" for the
// zero time.
func ShowDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Zone).Format(DateLayout)
}

// ShowDay shows a day held as ISO ("2026-12-05", as Day gives it) as
// DateLayout; anything else is returned as it is.
func ShowDay(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format(DateLayout)
}

// ShowTime is t in the hospital's zone, as TimeLayout; "" for the zero
// time.
func ShowTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(Zone).Format(TimeLayout)
}

var (
	dmyRE     = regexp.MustCompile(`^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$`)
	dmyTimeRE = regexp.MustCompile(`^(\S+?)[ T,]+(\d{1,2}):(\d{2})$`)
)

// ParseDate reads a date as counters write it (21-03-1985, 21/3/1985,
// 21031985) or as ISO (1985-03-21), and returns it as ISO. A year before
// 1800 or after 2199 is a typing mistake (05-12-0226), not a date; what
// is a likely date of birth is registration's rule.
func ParseDate(s string) (string, bool) {
	s = strings.TrimSpace(s)
	// Eight digits as a counter types them without separators: 01011980.
	if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
		s = s[:2] + "-" + s[2:4] + "-" + s[4:]
	}
	if m := dmyRE.FindStringSubmatch(s); m != nil {
		s = m[3] + "-" + pad2(m[2]) + "-" + pad2(m[1])
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil || t.Year() < 1800 || t.Year() > 2199 {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

// ParseDay reads a day as ParseDate does, and returns its first instant,
// the hospital's midnight.
func ParseDay(s string) (time.Time, bool) {
	iso, ok := ParseDate(s)
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02", iso, Zone)
	return t, err == nil
}

// ParseTime reads a date and a time of day as forms take them, the date
// as ParseDate reads it and then the time: 05-12-2026 14:30, or ISO's
// 2026-12-05T14:30. It is the hospital's time.
func ParseTime(s string) (time.Time, bool) {
	m := dmyTimeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return time.Time{}, false
	}
	iso, ok := ParseDate(m[1])
	if !ok {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", iso+" "+pad2(m[2])+":"+m[3], Zone)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}
