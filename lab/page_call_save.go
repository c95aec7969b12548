package lab

import (
	"net/http"
	"net/url"
	"strings"

	"kavach/node"
	"kavach/web"
)

// callFields are the critical-call form's fields in tab order.
var callFields = []string{"called_to", "called_at", "notes"}

// pageCallSave records who was told of a critical value, from the sample
// page or the list of critical values, and goes back there.
func (h *handlers) pageCallSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range append([]string{"analyte", "from"}, callFields...) {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := Call{Analyte: f["analyte"], CalledTo: f["called_to"], CalledAt: f["called_at"], Notes: f["notes"]}
	var s *Sample
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		s, err = RecordCall(tx, r.PathValue("accession"), in)
		return err
	})
	if err != nil {
		errs := fieldErrors(v, err, "called_to")
		if errs == nil || !wantUser(err) {
			return err
		}
		if m, ok := errs["analyte"]; ok {
			// The value is not critical (any more): the form has no
			// field for it, so the message goes by the name.
			errs["called_to"] = m
			delete(errs, "analyte")
		}
		c := &callForm{F: f, Err: errs}
		_, c.Focus = web.FormErrorFocus(v, errs, callFields)
		analyte := strings.ToUpper(f["analyte"])
		if f["from"] == "criticals" {
			acc, _ := ParseAccession(r.PathValue("accession"))
			return h.renderCriticals(w, r, v, errStatus(err), map[string]*callForm{acc + "/" + analyte: c})
		}
		return h.renderSample(w, r, v, errStatus(err), r.PathValue("accession"), sampleState{calls: map[string]*callForm{analyte: c}}, false)
	}
	if f["from"] == "criticals" {
		return web.Redirect(w, r, "/lab/criticals")
	}
	return web.Redirect(w, r, "/lab/samples/"+s.Accession+"?called="+url.QueryEscape(strings.ToUpper(f["analyte"])))
}
