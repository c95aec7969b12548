package lab

import (
	"net/http"
	"net/url"
	"strings"

	"kavach/node"
	"kavach/web"
)

// rejectFields are the reject form's fields in tab order.
var rejectFields = []string{"reject_accession", "reason", "note"}

// pageRejectSave rejects a sample for a reason; its tests go back to be
// collected again.
func (h *handlers) pageRejectSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range rejectFields {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	var s *Sample
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		s, err = Reject(tx, f["reject_accession"], f["reason"], f["note"])
		return err
	})
	if err != nil {
		errs := fieldErrors(v, err, "reject_accession")
		if errs == nil || !wantUser(err) {
			return err
		}
		if m, ok := errs["accession"]; ok {
			errs["reject_accession"] = m
			delete(errs, "accession")
		}
		page := &receivePage{View: v, F: f, Err: errs}
		_, page.Focus = web.FormErrorFocus(v, errs, rejectFields)
		return h.renderReceive(w, v, errStatus(err), page)
	}
	return web.Redirect(w, r, "/lab/receive?rejected="+url.QueryEscape(s.Accession))
}
