package lab

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"kavach"
	"kavach/audit"
	"kavach/web"
)

// worklistLimit bounds a worklist page: the bench works from the top.
const worklistLimit = 200

// worklistsPage lists the sections with how many samples each has pending.
type worklistsPage struct {
	*web.View
	Sections []sectionCount
}

type sectionCount struct {
	Code    string
	Pending int
}

// pageWorklists shows each section's pending count, linking its worklist.
func (h *handlers) pageWorklists(w http.ResponseWriter, r *http.Request, v *web.View) error {
	counts, err := SectionPending(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	page := &worklistsPage{View: v}
	for _, c := range slices.Sorted(maps.Keys(Sections)) {
		page.Sections = append(page.Sections, sectionCount{Code: c, Pending: counts[c]})
	}
	v.Title = v.T("Worklists")
	return v.Render(w, http.StatusOK, "lab_worklists", page)
}

// worklistPage is a section's pending samples.
type worklistPage struct {
	*web.View
	Section string
	Items   []WorkItem
	Pending int
}

// Received shows when a sample came in.
func (p *worklistPage) Received(stamp string) string { return shortTime(stamp, p.Node().Now()) }

// pageWorklist lists a section's pending samples, urgent first, each
// linking to its result entry; the first has the cursor.
func (h *handlers) pageWorklist(w http.ResponseWriter, r *http.Request, v *web.View) error {
	section := strings.ToUpper(r.PathValue("section"))
	if _, ok := Sections[section]; !ok {
		return &kavach.Error{Code: kavach.ENOTFOUND, Message: "No lab section " + section + "."}
	}
	items, total, err := Worklist(r.Context(), h.n.DB(), section, worklistLimit)
	if err != nil {
		return err
	}
	uhids := make([]string, len(items))
	for i := range items {
		uhids[i] = items[i].UHID
	}
	if err := audit.Viewed(r.Context(), h.n, v.User(), "page.worklist", uhids...); err != nil {
		return err
	}
	v.Title = v.T("Worklist") + " · " + v.T(Sections[section])
	return v.Render(w, http.StatusOK, "lab_worklist", &worklistPage{View: v, Section: section, Items: items, Pending: total})
}
