package registration

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// pageAmendSave journals the fields the clerk changed, with the reason.
func (h *handlers) pageAmendSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p, err := h.amendable(r)
	if err != nil {
		return err
	}
	f := map[string]string{"reason": r.PostFormValue("reason")}
	for _, k := range amendFields {
		f[k] = r.PostFormValue(k)
	}
	// Only what differs from the record is a change; the form shows every
	// field, and an untouched one must not be journaled as amended.
	cur := RecordForm(p)
	changes := map[string]string{}
	errs := map[string]string{}
	for _, k := range amendFields {
		typed := f[k]
		if k == "date_of_birth" && strings.TrimSpace(typed) != "" {
			iso, ok := kavach.ParseDate(strings.TrimSpace(typed))
			if !ok {
				errs[k] = v.T("Date of birth must be a date like 21-03-1985")
				continue
			}
			if iso != p.DateOfBirth {
				changes[k] = iso
			}
			continue
		}
		if comparable(k, typed) != comparable(k, cur[k]) {
			changes[k] = typed
		}
	}
	if len(errs) > 0 {
		return h.renderAmend(w, v, http.StatusBadRequest, p, f, errs)
	}
	err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		_, err := Amend(tx, Amendment{UHID: p.UHID, Changes: changes, Reason: f["reason"]})
		return err
	})
	if err != nil {
		if errs := web.FieldErrors(v, err); errs != nil {
			return h.renderAmend(w, v, web.Status(kavach.ErrorCode(err)), p, f, errs)
		}
		return err
	}
	return web.Redirect(w, r, "/patients/"+p.UHID)
}

// comparable normalizes a field's value the way validation will, so that
// "98765 43210" and "9876543210" are the same mobile number.
func comparable(field, s string) string {
	s = strings.Join(strings.Fields(s), " ")
	switch field {
	case "mobile":
		return NormalizeMobile(s)
	case "abha_number", "pin":
		return strings.NewReplacer("-", "", " ", "").Replace(s)
	case "sex", "category", "guardian_relation", "state":
		return strings.ToLower(s)
	}
	return s
}
