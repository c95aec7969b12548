package audit

import (
	"context"
	"strings"
	"time"

	"kavach"
	"kavach/journal"
)

// Names looks patients' names up by UHID; a UHID not found is left out.
// The trail's page shows the name beside each UHID, and the patients are
// registration's, which comes after the trail in hospital.List: the
// hospital passes registration's lookup in.
type Names func(ctx context.Context, db journal.DBTX, uhids []string) (map[string]string, error)

// Date filter messages, in English; the page shows them in its language.
const (
	msgNotDate   = "Not a date: write it as DD-MM-YYYY."
	msgToBefore  = "The end date is before the start date."
	fieldFromKey = "from"
	fieldToKey   = "to"
)

// parseDays reads the from and to dates of a filter as the hospital's days:
// From is the first instant of from, To the first instant after to. A
// field that is not a date, or a to before from, is an error of that field
// (English messages).
func parseDays(from, to string) (f, t time.Time, errs map[string]string) {
	errs = map[string]string{}
	if from = strings.TrimSpace(from); from != "" {
		d, ok := kavach.ParseDay(from)
		if !ok {
			errs[fieldFromKey] = msgNotDate
		} else {
			f = d
		}
	}
	if to = strings.TrimSpace(to); to != "" {
		d, ok := kavach.ParseDay(to)
		if !ok {
			errs[fieldToKey] = msgNotDate
		} else {
			t = d.AddDate(0, 0, 1)
		}
	}
	if !f.IsZero() && !t.IsZero() && !t.After(f) {
		errs[fieldToKey] = msgToBefore
	}
	if len(errs) == 0 {
		errs = nil
	}
	return f, t, errs
}
