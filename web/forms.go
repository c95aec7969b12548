package web

import (
	"errors"
	"maps"
	"slices"
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

// ShowDate turns an ISO date into DD-MM-YYYY (kavach.DateLayout), as
// pages show dates and forms take them.
func ShowDate(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format(kavach.DateLayout)
}
