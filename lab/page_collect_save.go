package lab

import (
	"net/http"
	"net/url"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

// pageCollectSave collects an order (and the patient's other orders the
// page listed with it, "also") in one transaction, and opens the labels
// ready to print.
func (h *handlers) pageCollectSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ids := append([]string{r.PathValue("id")}, r.PostForm["also"]...)
	if len(ids) > 20 {
		return kavach.Errorf(kavach.EINVALID, "At most 20 orders at once.")
	}
	var accs []string
	var uhid string
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		accs, uhid = nil, ""
		for _, id := range ids {
			c, err := Collect(tx, id)
			if err != nil {
				return err
			}
			if uhid != "" && c.UHID != uhid {
				return kavach.Errorf(kavach.EINVALID, "Order %s is another patient's.", id)
			}
			uhid = c.UHID
			for _, s := range c.Samples {
				accs = append(accs, s.Accession)
			}
		}
		return nil
	})
	if err != nil {
		if !wantUser(err) {
			return err
		}
		o, gerr := GetOrder(r.Context(), h.n.DB(), r.PathValue("id"))
		if gerr != nil {
			return err
		}
		p, gerr := registration.Get(r.Context(), h.n.DB(), o.UHID)
		if gerr != nil {
			return gerr
		}
		return h.renderCollect(w, r, v, errStatus(err), p, collectState{message: v.T(kavach.ErrorMessage(err))})
	}
	return web.Redirect(w, r, "/lab/labels?a="+url.QueryEscape(strings.Join(accs, ","))+"&print=1")
}
