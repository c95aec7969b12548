package lab

import (
	"net/http"
	"strconv"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// pageVerifySave verifies the sample's results and releases its report,
// signed with the pathologist's name, and shows the sample with its new
// version.
func (h *handlers) pageVerifySave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	var rel *Released
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		var err error
		_, rel, err = Verify(tx, r.PathValue("accession"), verifierName(v.Sess))
		return err
	})
	if err != nil {
		if !wantUser(err) || kavach.ErrorCode(err) == kavach.ENOTFOUND {
			return err
		}
		return h.renderSample(w, r, v, errStatus(err), r.PathValue("accession"), sampleState{message: v.T(kavach.ErrorMessage(err))}, false)
	}
	return web.Redirect(w, r, "/lab/samples/"+rel.Accession+"?released="+strconv.Itoa(rel.Version))
}
