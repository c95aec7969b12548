package lab

import (
	"net/http"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/report"
	"kavach/web"
)

// labelsPage is the print view of sample labels, one 50 × 25 mm label a
// page, as the label printer takes them.
type labelsPage struct {
	*web.View
	Labels []printedLabel
	List   string // the accession numbers, for "print again"
}

// printedLabel is a label as the print view lays it out.
type printedLabel struct {
	report.Label
	Time  string // collection time, as the label prints it
	Tests string
}

// maxLabels bounds one print run: a patient's containers.
const maxLabels = 20

// pageLabels shows the labels of the samples ?a= lists; ?print=1 prints
// them as soon as they load, as the OPD slip does. Enter then goes back
// to the UHID box for the next patient.
func (h *handlers) pageLabels(w http.ResponseWriter, r *http.Request, v *web.View) error {
	accs, err := accessions(r.URL.Query().Get("a"), maxLabels)
	if err != nil {
		return err
	}
	page := &labelsPage{View: v, List: strings.Join(accs, ",")}
	var uhids []string
	for _, acc := range accs {
		l, s, err := h.label(r, acc)
		if err != nil {
			return err
		}
		page.Labels = append(page.Labels, printedLabel{Label: *l, Time: kavach.ShowTime(l.Collected), Tests: strings.Join(l.Tests, ", ")})
		uhids = append(uhids, s.UHID)
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.labels", uhids...); err != nil {
		return err
	}
	v.Title = v.T("Sample labels") + " " + accs[0]
	v.AutoPrint = r.URL.Query().Get("print") == "1"
	return v.Render(w, http.StatusOK, "lab_labels", page)
}
