package lab

import (
	"fmt"
	"net/http"
	"strings"

	"kavach/node"
	"kavach/web"
)

// pageResultsSave enters the values typed on the sample page: one input
// per analyte, named v_CODE; an empty input enters nothing. A refused
// value comes back marked on its own input.
func (h *handlers) pageResultsSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	s, err := GetSample(ctx, h.n.DB(), r.PathValue("accession"))
	if err != nil {
		return err
	}
	f := map[string]string{"reason": strings.TrimSpace(r.PostFormValue("reason"))}
	in := Entry{Reason: f["reason"]}
	var order []string // the analyte of each entered result, by index
	for _, res := range s.Results {
		val := strings.TrimSpace(r.PostFormValue("v_" + res.Analyte))
		f[res.Analyte] = val
		if val == "" {
			continue
		}
		in.Results = append(in.Results, ResultIn{Analyte: res.Analyte, Value: Value(val)})
		order = append(order, res.Analyte)
	}
	var changed bool
	err = h.n.Do(ctx, v.User(), func(tx *node.Tx) error {
		var err error
		_, changed, err = AddResults(tx, s.Accession, in)
		return err
	})
	if err != nil {
		errs := fieldErrors(v, err, "results")
		if errs == nil || !wantUser(err) {
			return err
		}
		byField := map[string]string{}
		for k, m := range errs {
			var i int
			if n, _ := fmt.Sscanf(k, "results[%d]", &i); n == 1 && i >= 0 && i < len(order) {
				byField[order[i]] = m
				continue
			}
			byField[k] = m
		}
		return h.renderSample(w, r, v, errStatus(err), s.Accession, sampleState{f: f, errs: byField}, false)
	}
	saved := "1"
	if !changed {
		saved = "0"
	}
	return web.Redirect(w, r, "/lab/samples/"+s.Accession+"?saved="+saved)
}
