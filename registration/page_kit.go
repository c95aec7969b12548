package registration

import (
	"net/http"
	"strconv"

	"kavach"
	"kavach/access"
	"kavach/node"
	"kavach/web"
)

// kitPage is the data of the downtime kit pages.
type kitPage struct {
	*web.View
	Kits   []Kit
	Kit    *Kit   // the kit to print
	Node   string // this node's code and name
	Err    map[string]string
	Sheets string
}

// pageKits lists the node's downtime kits and offers a new one.
func (h *handlers) pageKits(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.renderKits(w, r, v, http.StatusOK, "20", nil)
}

func (h *handlers) renderKits(w http.ResponseWriter, r *http.Request, v *web.View, status int, sheets string, errs map[string]string) error {
	v.Title = v.T("Downtime kit")
	ks, err := Kits(r.Context(), h.n.DB(), h.n.Info().NodeCode)
	if err != nil {
		return err
	}
	return v.Render(w, status, "kits", &kitPage{View: v, Kits: ks, Node: h.n.Info().NodeCode, Err: errs, Sheets: sheets})
}

// pageKitSave reserves a block of UHIDs and shows its sheets to print.
func (h *handlers) pageKitSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	sheets := r.PostFormValue("sheets")
	n, err := strconv.Atoi(sheets)
	if err != nil {
		n = 0
	}
	var k *Kit
	err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		k, err = ReserveKit(tx, n)
		return err
	})
	if err != nil {
		if errs := web.FieldErrors(v, err); errs != nil {
			return h.renderKits(w, r, v, web.Status(kavach.ErrorCode(err)), sheets, errs)
		}
		return err
	}
	return web.Redirect(w, r, "/downtime-kit/"+k.First+"?print=1")
}

// pageKitPrint shows a kit's sheets, one a page, to print.
func (h *handlers) pageKitPrint(w http.ResponseWriter, r *http.Request, v *web.View) error {
	first := r.PathValue("first")
	k, err := KitOf(r.Context(), h.n.DB(), h.n.Info().NodeCode, first)
	if err != nil || k.First != first {
		return kavach.Errorf(kavach.ENOTFOUND, "No downtime kit %s.", first)
	}
	v.Title = v.T("Downtime kit") + " " + k.First
	v.AutoPrint = r.URL.Query().Get("print") == "1"
	return v.Render(w, http.StatusOK, "kit", &kitPage{View: v, Kit: k, Node: h.n.Info().NodeCode})
}

// apiKit answers POST /api/v1/downtime-kits {"sheets"}: a block of UHIDs
// reserved for paper sheets.
func (h *handlers) apiKit(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Sheets int `json:"sheets"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	var k *Kit
	err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) (err error) {
		k, err = ReserveKit(tx, in.Sheets)
		return err
	})
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusCreated, map[string]any{"first": k.First, "last": k.Last, "uhids": k.UHIDs()})
}
