package lab

import (
	"context"
	"embed"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"kavach"
	"kavach/audit"
	"kavach/journal"
	"kavach/opd"
	"kavach/registration"
	"kavach/web"
)

//go:embed static
var staticFS embed.FS

// pageRoutes registers the lab's pages for staff: one file per action
// (page_*.go). Every form posts to an action that runs the same command as
// the API, inside the node's writer, and redirects to a page; a refused
// form comes back with its fields marked.
func pageRoutes(rt *web.Router, h *handlers) {
	// Orders: the doctor's form on the patient page, the counter's outside
	// prescription on the collection page.
	rt.Page("GET /lab/orders/new", OrderTests, h.pageOrder)
	rt.Page("POST /lab/orders", OrderTests, h.pageOrderSave)
	rt.Page("POST /lab/orders/{id}/cancel", CancelOrders, h.pageCancelSave)
	// Collection and labels.
	rt.Page("GET /lab/collect", CollectSamples, h.pageCollect)
	rt.Page("POST /lab/orders/{id}/collect", CollectSamples, h.pageCollectSave)
	rt.Page("GET /lab/labels", CollectSamples, h.pageLabels)
	rt.Page("GET /lab/samples/{accession}/label.pdf", CollectSamples, h.pageLabelPDF)
	rt.Page("GET /lab/samples/{accession}/barcode.png", SeeStatus, h.pageBarcode)
	// Receipt and rejection in the lab.
	rt.Page("GET /lab/receive", ReceiveSamples, h.pageReceive)
	rt.Page("POST /lab/receive", ReceiveSamples, h.pageReceiveSave)
	rt.Page("POST /lab/reject", ReceiveSamples, h.pageRejectSave)
	// Worklists, result entry, critical values, verification.
	rt.Page("GET /lab/worklists", EnterResults, h.pageWorklists)
	rt.Page("GET /lab/worklists/{section}", EnterResults, h.pageWorklist)
	rt.Page("GET /lab/samples/{accession}", SeeResults, h.pageSample)
	rt.Page("POST /lab/samples/{accession}/results", EnterResults, h.pageResultsSave)
	rt.Page("POST /lab/samples/{accession}/calls", CallCritical, h.pageCallSave)
	rt.Page("POST /lab/samples/{accession}/verify", VerifyResults, h.pageVerifySave)
	rt.Page("GET /lab/verify", VerifyResults, h.pageVerify)
	rt.Page("GET /lab/criticals", CallCritical, h.pageCriticals)
	rt.Page("GET /lab/samples/{accession}/report.pdf", SeeResults, h.pageReportPDF)
	// The administrator's catalogue.
	rt.Page("GET /lab/catalogue", EditCatalogue, h.pageCatalogue)
	rt.Page("GET /lab/catalogue/tests/{code}", EditCatalogue, h.pageCatalogueTest)
	rt.Page("POST /lab/catalogue/tests", EditCatalogue, h.pageCatalogueTestSave)
	rt.Page("GET /lab/catalogue/analytes/{code}", EditCatalogue, h.pageCatalogueAnalyte)
	rt.Page("POST /lab/catalogue/analytes", EditCatalogue, h.pageCatalogueAnalyteSave)
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
	UHID    string
	Samples []Sample
	Orders  []panelOrder // orders still open: tests to collect, or no results yet
	Order   *orderForm   // the doctor's order form; nil for those who may not prescribe
}

// panelOrder is an open order with what may be done with it.
type panelOrder struct {
	Order
	ToCollect  []string
	Cancelable bool
}

// loadPatientPanel gathers the lab's panel for a patient's page; the page
// audits the read. A user who may see only where samples stand sees no
// results.
func loadPatientPanel(ctx context.Context, v *web.View, uhid string) (any, error) {
	db := v.Node().DB()
	// A surviving record shows the samples and orders of the records merged into it.
	family, err := registration.Family(ctx, db, uhid)
	if err != nil {
		return nil, err
	}
	ss, err := PatientSamples(ctx, db, family...)
	if err != nil {
		return nil, err
	}
	if !v.Can(string(SeeResults)) {
		for i := range ss {
			ss[i].Results = nil
		}
	}
	os, err := PatientOrders(ctx, db, family...)
	if err != nil {
		return nil, err
	}
	p := &patientPanel{View: v, UHID: uhid, Samples: ss}
	for _, o := range os {
		if o.Cancelled != "" {
			continue
		}
		po := panelOrder{Order: o}
		for _, t := range o.Tests {
			if t.Status == "ordered" {
				po.ToCollect = append(po.ToCollect, t.Code)
			}
		}
		resulted, err := OrderHasResults(ctx, db, o.ID)
		if err != nil {
			return nil, err
		}
		po.Cancelable = !resulted
		if len(po.ToCollect) > 0 || po.Cancelable {
			p.Orders = append(p.Orders, po)
		}
	}
	if v.Can(string(Prescribe)) {
		pt, err := registration.Get(ctx, db, uhid)
		if err != nil {
			return nil, err
		}
		if pt.MergedInto == "" {
			if p.Order, err = newOrderForm(ctx, v, uhid, true, nil, nil); err != nil {
				return nil, err
			}
			p.Order.From = "patient"
		}
	}
	return p, nil
}

// orderForm is the form that orders tests: the doctor's, for a visit, or
// an outside prescription with its prescriber.
type orderForm struct {
	*web.View
	UHID    string
	Doctor  bool // the treating doctor's form: a visit, no prescriber
	From    string
	Tests   []CatalogueTest
	Visits  []opd.Visit
	F       map[string]string // as typed: visit_id, priority, prescriber, notes
	Checked map[string]bool   // tests ticked
	Err     map[string]string
	Message string
	Focus   string
}

// orderFields are the order form's fields in tab order.
var orderFields = []string{"tests", "priority", "visit_id", "prescriber", "notes"}

// visitChoices is how many of a patient's visits the doctor's form offers.
const visitChoices = 10

// newOrderForm makes the order form for a patient, with what was typed
// (nil: an empty form, today's visit chosen) and its errors.
func newOrderForm(ctx context.Context, v *web.View, uhid string, doctor bool, f map[string]string, tests []string) (*orderForm, error) {
	db := v.Node().DB()
	cat, err := Catalogue(ctx, db)
	if err != nil {
		return nil, err
	}
	of := &orderForm{View: v, UHID: uhid, Doctor: doctor, Tests: cat, F: f, Checked: map[string]bool{}}
	for _, t := range tests {
		of.Checked[strings.ToUpper(strings.TrimSpace(t))] = true
	}
	if doctor {
		vs, err := opd.PatientVisits(ctx, db, uhid)
		if err != nil {
			return nil, err
		}
		of.Visits = vs[:min(len(vs), visitChoices)]
	}
	if of.F == nil {
		of.F = map[string]string{"priority": "routine"}
		today := kavach.Day(v.Node().Now())
		for _, vi := range of.Visits {
			if vi.Date == today {
				of.F["visit_id"] = vi.ID
				break
			}
		}
	}
	return of, nil
}

// withErrors puts a refused order's errors on the form.
func (of *orderForm) withErrors(errs map[string]string) {
	of.Err = errs
	if len(errs) > 0 {
		of.Message, of.Focus = web.FormErrorFocus(of.View, errs, orderFields)
	}
}

// fieldErrors returns a refused command's field errors, translated; an
// error that names no field (a conflict: the sample was rejected
// meanwhile) is put on field, so that the form shows it where the user
// looks. Internal errors give nil.
func fieldErrors(v *web.View, err error, field string) map[string]string {
	if errs := web.FieldErrors(v, err); errs != nil {
		return errs
	}
	switch kavach.ErrorCode(err) {
	case kavach.EINTERNAL, kavach.EFORBIDDEN, kavach.EUNAUTHORIZED:
		return nil
	}
	return map[string]string{field: v.T(kavach.ErrorMessage(err))}
}

// errStatus is the status of a page that shows a refused form again.
func errStatus(err error) int { return web.Status(kavach.ErrorCode(err)) }

// wantUser reports whether an error is the user's to correct (shown by the
// form) rather than the server's.
func wantUser(err error) bool {
	switch kavach.ErrorCode(err) {
	case kavach.EINVALID, kavach.ECONFLICT, kavach.ENOTFOUND:
		return true
	}
	return false
}

// shortTime shows a journal time as a label or a list does: the time of
// day, with the date when it is not today.
func shortTime(stamp string, now time.Time) string {
	t, err := time.Parse(journal.TimeFormat, stamp)
	if err != nil {
		return stamp
	}
	t = t.In(kavach.Zone)
	if kavach.Day(t) == kavach.Day(now) {
		return t.Format("15:04")
	}
	return kavach.ShowTime(t)
}

// accessions reads a list of accession numbers, comma-separated.
func accessions(list string, most int) ([]string, error) {
	var out []string
	for a := range strings.SplitSeq(list, ",") {
		if strings.TrimSpace(a) == "" {
			continue
		}
		acc, err := ParseAccession(a)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, acc) {
			out = append(out, acc)
		}
	}
	if len(out) == 0 {
		return nil, &kavach.Error{Code: kavach.EINVALID, Message: "No sample named.", Fields: map[string]string{"a": "Name one or more accession numbers"}}
	}
	if len(out) > most {
		return nil, kavach.Errorf(kavach.EINVALID, "At most %d labels at once.", most)
	}
	return out, nil
}

// firstError is the first of a form's errors in field order, or any.
func firstError(errs map[string]string, order []string) string {
	for _, k := range order {
		if m, ok := errs[k]; ok {
			return m
		}
	}
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		return errs[k]
	}
	return ""
}
