package opd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"

	"kavach"

	"kavach/audit"
	"kavach/web"
)

// Queue page bounds: every waiting patient up to queueWaiting, and the last
// queueSeen seen ones for context; the page stays well under 200 KB even
// on a morning with thousands of visits.
const (
	queueWaiting = 200
	queueSeen    = 20
)

// queuesPage is the data of the department picker.
type queuesPage struct {
	*web.View
	Departments []Department
}

// pageQueues lets the doctor pick a department's queue.
func (h *handlers) pageQueues(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ds, err := Departments(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	v.Title = v.T("OPD queue")
	return v.Render(w, http.StatusOK, "queues", &queuesPage{View: v, Departments: ds})
}

// queuePage is the data of a department's queue.
type queuePage struct {
	*web.View
	Department  *Department
	Date        string
	Rows        []QueueEntry
	Waiting     int    // patients not yet seen
	HiddenSeen  int    // seen patients left out above the table
	HiddenAfter int    // waiting patients beyond the page
	First       string // the first waiting visit, whose button has an access key
	Version     string // what the rows show, for the page's polling
}

// queuePoll is how often, in milliseconds, the queue page asks whether
// its rows changed.
const queuePoll = 10000

// QueuePoll is the queue page's polling interval, for the template.
func (p *queuePage) QueuePoll() int { return queuePoll }

// pageQueue shows today's queue of a department in token order, with a
// "Mark seen" button per waiting patient and "Undo" per seen one. Nothing
// has the focus, so an Enter on load marks nobody seen: Alt+M (or Tab)
// reaches the first waiting patient's button. The page asks every
// queuePoll ms with ?v= its version and replaces its rows when they
// changed; an unchanged queue answers 204 and is not a view to audit.
func (h *handlers) pageQueue(w http.ResponseWriter, r *http.Request, v *web.View) error {
	ctx := r.Context()
	d, err := GetDepartment(ctx, h.n.DB(), strings.ToUpper(r.PathValue("dept")))
	if err != nil {
		return err
	}
	date := kavach.Day(h.n.Now())
	q, err := Queue(ctx, h.n.DB(), d.Code, date)
	if err != nil {
		return err
	}
	p := &queuePage{View: v, Department: d, Date: date}
	var seen, waiting []QueueEntry
	for _, e := range q {
		if e.Seen != "" {
			seen = append(seen, e)
		} else {
			waiting = append(waiting, e)
		}
	}
	p.Waiting = len(waiting)
	if len(seen) > queueSeen {
		p.HiddenSeen = len(seen) - queueSeen
		seen = seen[len(seen)-queueSeen:]
	}
	if len(waiting) > queueWaiting {
		p.HiddenAfter = len(waiting) - queueWaiting
		waiting = waiting[:queueWaiting]
	}
	// Token order across both, as the patients stand in the hall.
	p.Rows = mergeTokens(seen, waiting)
	if len(waiting) > 0 {
		p.First = waiting[0].ID
	}
	p.Version = queueVersion(p)
	if r.URL.Query().Get("v") == p.Version {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	uhids := make([]string, len(p.Rows))
	for i := range p.Rows {
		uhids[i] = p.Rows[i].UHID
	}
	if err := audit.Viewed(ctx, h.n, v.User(), "page.queue", uhids...); err != nil {
		return err
	}
	v.Title = v.T("OPD queue") + " · " + d.Code
	return v.Render(w, http.StatusOK, "queue", p)
}

// queueVersion sums up what a queue page shows.
func queueVersion(p *queuePage) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s %d %d %d\n", p.Date, p.Waiting, p.HiddenSeen, p.HiddenAfter)
	for _, e := range p.Rows {
		fmt.Fprintf(h, "%s %d %s %s %q %s %s %s\n", e.ID, e.Token, e.Seen, e.UHID, e.Name, e.Sex, e.AgeText, e.Kind)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// mergeTokens merges two token-ordered lists.
func mergeTokens(a, b []QueueEntry) []QueueEntry {
	out := make([]QueueEntry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Token < b[0].Token {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
