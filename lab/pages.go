package lab

import (
	"context"
	"net/http"

	"kavach/audit"
	"kavach/web"
)

// pageRoutes registers the lab's pages for staff.
func pageRoutes(rt *web.Router, h *handlers) {
	rt.Page("GET /lab/samples/{accession}/report.pdf", SeeResults, h.pageReportPDF)
}

func (h *handlers) pageReportPDF(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.reportPDF(w, r, v.User(), "page.report")
}

// reportCheckPage is the public page at a report's QR code.
type reportCheckPage struct {
	*web.View
	Stored  *StoredReport
	Report  *Released
	Current bool
}

// pageVerifyReport shows anyone holding a report (its QR code) whether it
// is genuine and current, and what it says: no more of the patient than
// the report itself holds.
func (h *handlers) pageVerifyReport(w http.ResponseWriter, r *http.Request, v *web.View) error {
	sr, err := h.publicReport(r)
	if err != nil {
		return err
	}
	pr, err := Prove(r.Context(), h.n, sr.Accession, sr.Version)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, "public", "public.report", pr.Released.Report.UHID); err != nil {
		return err
	}
	v.Title = v.T("Lab report check")
	w.Header().Set("Cache-Control", "no-store")
	return v.Render(w, http.StatusOK, "report_check", &reportCheckPage{View: v, Stored: sr, Report: pr.Released, Current: sr.Current})
}

// patientPanel is the lab's part of a patient's page.
type patientPanel struct {
	*web.View
	Samples []Sample
	Pending []Order
}

// loadPatientPanel gathers the lab's panel for a patient's page; the page
// audits the read. A user who may see only where samples stand sees no
// results.
func loadPatientPanel(ctx context.Context, v *web.View, uhid string) (any, error) {
	db := v.Node().DB()
	ss, err := PatientSamples(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	if !v.Can(string(SeeResults)) {
		for i := range ss {
			ss[i].Results = nil
		}
	}
	os, err := PatientOrders(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	p := &patientPanel{View: v, Samples: ss}
	for _, o := range os {
		for _, t := range o.Tests {
			if t.Status == "ordered" {
				p.Pending = append(p.Pending, o)
				break
			}
		}
	}
	return p, nil
}
