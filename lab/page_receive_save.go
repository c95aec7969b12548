package lab

import (
	"net/http"
	"net/url"
	"strings"

	"kavach/node"
	"kavach/web"
)

// pageReceiveSave receives the scanned sample and goes back to the scan
// box for the next one; a wrong or unknown number is shown under the box.
func (h *handlers) pageReceiveSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	typed := strings.TrimSpace(r.PostFormValue("accession"))
	var s *Sample
	again := false
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		before, err := GetSample(tx.Context(), tx, typed)
		if err != nil {
			return err
		}
		again = before.Received != ""
		s, err = Receive(tx, typed)
		return err
	})
	if err != nil {
		errs := fieldErrors(v, err, "accession")
		if errs == nil || !wantUser(err) {
			return err
		}
		page := &receivePage{View: v, F: map[string]string{"accession": typed}, Err: map[string]string{"accession": errs["accession"]}, Focus: "accession"}
		if page.Err["accession"] == "" {
			for _, m := range errs {
				page.Err["accession"] = m
			}
		}
		return h.renderReceive(w, v, errStatus(err), page)
	}
	to := "/lab/receive?received=" + url.QueryEscape(s.Accession)
	if again {
		to += "&again=1"
	}
	return web.Redirect(w, r, to)
}
