package billing

import (
	"net/http"
	"net/url"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// tariffsPage is the administrator's list of prices with the form that
// sets one.
type tariffsPage struct {
	*web.View
	Tariffs    []TariffLine
	Categories []string
	F          map[string]string
	Err        map[string]string
	Message    string
	Focus      string
	Saved      string
}

// pageTariffs lists every service's prices (by category and the date each
// takes effect) and the form that sets a price; ?code= fills it in.
func (h *handlers) pageTariffs(w http.ResponseWriter, r *http.Request, v *web.View) error {
	p := &tariffsPage{View: v, F: map[string]string{"category": "*", "effective": kavach.ShowDate(h.n.Now())}, Focus: "code", Saved: r.URL.Query().Get("saved")}
	if code := r.URL.Query().Get("code"); code != "" {
		p.F["code"], p.Focus = code, "price"
	}
	return h.renderTariffs(w, r, v, http.StatusOK, p)
}

func (h *handlers) renderTariffs(w http.ResponseWriter, r *http.Request, v *web.View, status int, p *tariffsPage) error {
	ts, err := Tariffs(r.Context(), h.n.DB(), kavach.Day(h.n.Now()))
	if err != nil {
		return err
	}
	p.Tariffs, p.Categories = ts, Categories
	if p.F["code"] != "" && p.F["name"] == "" {
		for _, t := range ts {
			if t.Code == p.F["code"] {
				p.F["name"] = t.Name
			}
		}
	}
	v.Title = v.T("Prices")
	return v.Render(w, status, "billing_tariffs", p)
}

// pageTariffSave journals a price from the form (the amount in rupees).
func (h *handlers) pageTariffSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	f := map[string]string{}
	for _, k := range []string{"code", "name", "category", "price", "effective"} {
		f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	paise, perr := parseRupees(f["price"])
	err := h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
		if perr != nil {
			return perr
		}
		return SetPrice(tx, NewPrice{Code: f["code"], Name: f["name"], Category: f["category"], Paise: paise, Effective: f["effective"]})
	})
	if err != nil {
		errs := formErrors(v, err, "code", map[string]string{"price_paise": "price", "amount": "price"})
		if errs == nil {
			return err
		}
		p := &tariffsPage{View: v, F: f, Err: errs}
		p.Message, p.Focus = web.FormErrorFocus(v, errs, []string{"code", "name", "category", "price", "effective"})
		return h.renderTariffs(w, r, v, web.Status(kavach.ErrorCode(err)), p)
	}
	return web.Redirect(w, r, "/billing/tariffs?saved="+url.QueryEscape(f["code"]))
}
