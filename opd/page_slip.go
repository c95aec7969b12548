package opd

import (
	"net/http"

	"kavach"
	"kavach/audit"
	"kavach/idcode"
	"kavach/registration"
	"kavach/report"
	"kavach/web"
)

// slipPage is the data of the OPD slip's print view.
type slipPage struct {
	*web.View
	Slip       *report.Slip
	Patient    *registration.Patient
	Visit      *Visit
	Department *Department
	Size       string // "80mm" or "a5"
	CanNext    bool   // the user registers patients: offer the next one
	// Duplicate is when a reprint was asked for ("" for the first print):
	// the slip says DUPLICATE with it.
	Duplicate string
}

// slipSize reads ?size=: the thermal roll is the default at a counter.
func slipSize(r *http.Request) (string, error) {
	switch r.URL.Query().Get("size") {
	case "", "80mm", "thermal":
		return "80mm", nil
	case "a5", "A5":
		return "a5", nil
	}
	return "", &kavach.Error{Code: kavach.EINVALID, Message: "Slip size must be a5 or 80mm.", Fields: map[string]string{"size": "must be a5 or 80mm"}}
}

// pageSlip shows the OPD slip as a print view, with Hindi and English
// labels side by side; ?print=1 prints it as soon as it loads.
func (h *handlers) pageSlip(w http.ResponseWriter, r *http.Request, v *web.View) error {
	size, err := slipSize(r)
	if err != nil {
		return err
	}
	sv, err := h.slipFor(r, r.PathValue("id"))
	if err != nil {
		return err
	}
	slip, visit, p, d := &sv.Slip, sv.Visit, sv.Patient, sv.Department
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.slip", p.UHID); err != nil {
		return err
	}
	v.Title = v.T("OPD slip") + " " + idcode.ShowUHID(p.UHID)
	v.AutoPrint = r.URL.Query().Get("print") == "1"
	page := &slipPage{View: v, Slip: slip, Patient: p, Visit: visit, Department: d, Size: size,
		CanNext: v.Sess.Can(registration.RegisterPatient)}
	if r.URL.Query().Get("duplicate") == "1" {
		page.Duplicate = kavach.ShowTime(h.n.Now())
	}
	return v.Render(w, http.StatusOK, "slip", page)
}
