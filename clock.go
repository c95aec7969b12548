package kavach

import (
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
