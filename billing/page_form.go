package billing

import (
	"maps"
	"net/http"
	"slices"

	"kavach"
	"kavach/web"
)

// counterCookie remembers the counter a PC takes money at, so that the
// clerk names it once.
const counterCookie = "billing_counter"

// counterFor is the counter a page works at: ?counter=, else the PC's
// cookie, else the node's own code. A ?counter= that is a counter's name is
// remembered in the cookie.
func (h *handlers) counterFor(w http.ResponseWriter, r *http.Request) string {
	f := kavach.Fields{}
	if q := checkCounter(f, r.URL.Query().Get("counter")); q != "" && len(f) == 0 {
		rememberCounter(w, q)
		return q
	}
	if c, err := r.Cookie(counterCookie); err == nil {
		f := kavach.Fields{}
		if c := checkCounter(f, c.Value); c != "" && len(f) == 0 {
			return c
		}
	}
	return DefaultCounter(h.n)
}

func rememberCounter(w http.ResponseWriter, counter string) {
	http.SetCookie(w, &http.Cookie{Name: counterCookie, Value: counter, Path: "/billing", MaxAge: 400 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
}

// formErrors returns a refused command's field errors, translated, with
// the API's field names turned into the form's (amount_paise → amount);
// an error that names no field is put on field. Internal errors give nil.
func formErrors(v *web.View, err error, field string, rename map[string]string) map[string]string {
	switch kavach.ErrorCode(err) {
	case kavach.EINTERNAL, kavach.EUNAUTHORIZED:
		return nil
	}
	errs := web.FieldErrors(v, err)
	if errs == nil {
		return map[string]string{field: v.T(kavach.ErrorMessage(err))}
	}
	out := make(map[string]string, len(errs))
	for k, m := range errs {
		if to, ok := rename[k]; ok {
			k = to
		}
		out[k] = m
	}
	return out
}

// formMessage is what a refused form says above its fields: the command's
// own sentence (a closed counter says which), translated.
func formMessage(v *web.View, err error) string {
	return v.T(kavach.ErrorMessage(err))
}

// firstError is the first of a form's errors in field order, or any.
func firstError(errs map[string]string, order []string) string {
	for _, k := range order {
		if m, ok := errs[k]; ok {
			return m
		}
	}
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		return errs[k]
	}
	return ""
}

// errStatus is the status of a page that shows a refused form again.
func errStatus(err error) int { return web.Status(kavach.ErrorCode(err)) }

// wantUser reports whether an error is the user's to correct (shown by the
// form) rather than the server's.
func wantUser(err error) bool {
	switch kavach.ErrorCode(err) {
	case kavach.EINVALID, kavach.ECONFLICT, kavach.ENOTFOUND, kavach.EFORBIDDEN:
		return true
	}
	return false
}
