package billing

import (
	"net/http"

	"kavach/audit"
	"kavach/registration"
	"kavach/web"
)

// refundsPage is the accounts officer's list of refunds that wait for
// approval.
type refundsPage struct {
	*web.View
	Refunds  []Refund
	Patients map[string]*registration.Patient
	Flash    string
	ErrNo    string // the refund whose approval was refused
	ErrMsg   string
}

// pageRefunds lists the refunds above ₹1,000 that wait for a second
// user's approval, oldest first, each with its Approve button.
func (h *handlers) pageRefunds(w http.ResponseWriter, r *http.Request, v *web.View) error {
	flash := ""
	if no := r.URL.Query().Get("approved"); no != "" {
		if f, err := GetRefund(r.Context(), h.n.DB(), no); err == nil && f.Status == "refunded" {
			flash = v.T("Refund approved:") + " " + f.RefundNo + " " + inr(f.Paise) + ". " +
				v.T("The counter pays it back in the receipt's mode:") + " " + v.T(modeLabel(f.Mode)) + "."
		}
	}
	return h.renderRefunds(w, r, v, http.StatusOK, flash, "", "")
}

func (h *handlers) renderRefunds(w http.ResponseWriter, r *http.Request, v *web.View, status int, flash, errNo, errMsg string) error {
	ctx := r.Context()
	fs, err := PendingRefunds(ctx, h.n.DB())
	if err != nil {
		return err
	}
	var uhids []string
	for _, f := range fs {
		uhids = append(uhids, f.UHID)
	}
	ps, err := registration.GetMany(ctx, h.n.DB(), uhids)
	if err != nil {
		return err
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.refunds", uhids...); err != nil {
		return err
	}
	v.Title = v.T("Refunds awaiting approval")
	v.Focused = true
	return v.Render(w, status, "billing_refunds", &refundsPage{View: v, Refunds: fs, Patients: ps, Flash: flash, ErrNo: errNo, ErrMsg: errMsg})
}
