package web

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"kavach"
)

// FieldErrors returns err's field errors, translated, or nil if err is not
// a user's mistake about particular fields.
func FieldErrors(v *View, err error) map[string]string {
	var ke *kavach.Error
	if !errors.As(err, &ke) || len(ke.Fields) == 0 || ke.Code == kavach.EINTERNAL {
		return nil
	}
	out := make(map[string]string, len(ke.Fields))
	for k, m := range ke.Fields {
		out[k] = v.T(m)
	}
	return out
}

// FormErrorFocus says what a form with errors shows above its fields and
// which field gets the cursor: the first wrong one in order, or, for an error
// the form has no field for, that error itself, with the cursor on the
// first field.
func FormErrorFocus(v *View, errs map[string]string, order []string) (message, focus string) {
	for _, k := range order {
		if _, bad := errs[k]; bad {
			return v.T("Please correct the marked fields."), k
		}
	}
	// An error the form has no field for: the first, by field name, so
	// that the same form always says the same.
	keys := slices.Sorted(maps.Keys(errs))
	if len(keys) > 0 {
		message = errs[keys[0]]
	}
	if len(order) > 0 {
		focus = order[0]
	}
	return message, focus
}

// QueryDay reads a request's ?date=, the hospital's day as ISO: today (at
// now) when there is none, and the pages' DD-MM-YYYY taken as well as
// YYYY-MM-DD. Anything else is an error of the field date.
func QueryDay(r *http.Request, now time.Time) (string, error) {
	q := strings.TrimSpace(r.URL.Query().Get("date"))
	if q == "" {
		return kavach.Day(now), nil
	}
	day, ok := kavach.ParseDate(q)
	if !ok {
		return "", &kavach.Error{Code: kavach.EINVALID, Message: "The date must be a day like 2026-12-04.", Fields: map[string]string{"date": "must be YYYY-MM-DD (or DD-MM-YYYY)"}}
	}
	return day, nil
}
