package web

import (
	"errors"
	"maps"
	"regexp"
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

var dmyRE = regexp.MustCompile(`^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$`)

// ParseDate reads a date as counters write it (21-03-1985, 21/3/1985) or
// as ISO (1985-03-21), and returns it as ISO.
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
	if err != nil {
		return "", false
	}
	return t.Format("2006-01-02"), true
}

func pad2(s string) string {
	if len(s) == 1 {
		return "0" + s
	}
	return s
}

// ShowDate turns an ISO date into DD-MM-YYYY for a form.
func ShowDate(iso string) string {
	t, err := time.Parse("2006-01-02", iso)
	if err != nil {
		return iso
	}
	return t.Format("02-01-2006")
}
