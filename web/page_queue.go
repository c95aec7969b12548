package web

import (
	"kavach"
	"net/http"
	"strings"
	"time"

	"kavach/audit"
	"kavach/opd"
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
	*view
	Departments []opd.Department
}

// pageQueues lets the doctor pick a department's queue.
func (s *Server) pageQueues(w http.ResponseWriter, r *http.Request, v *view) error {
	ds, err := opd.Departments(r.Context(), s.n.DB())
	if err != nil {
		return err
	}
	v.Title = v.T("OPD queue")
	return s.render(w, v, http.StatusOK, "queues", &queuesPage{view: v, Departments: ds})
}

// queuePage is the data of a department's queue.
type queuePage struct {
	*view
	Department  *opd.Department
	Date        string
	Rows        []opd.QueueEntry
	Waiting     int // patients not yet seen
	HiddenSeen  int // seen patients left out above the table
	HiddenAfter int // waiting patients beyond the page
	Focus       string
}

// pageQueue shows today's queue of a department in token order, with a
// "Mark seen" button per waiting patient; the first one has the focus, so
// the doctor calls the next patient with Enter.
func (s *Server) pageQueue(w http.ResponseWriter, r *http.Request, v *view) error {
	ctx := r.Context()
	d, err := opd.GetDepartment(ctx, s.n.DB(), strings.ToUpper(r.PathValue("dept")))
	if err != nil {
		return err
	}
	date := kavach.Day(time.Now())
	q, err := opd.Queue(ctx, s.n.DB(), d.Code, date)
	if err != nil {
		return err
	}
	p := &queuePage{view: v, Department: d, Date: date}
	var seen, waiting []opd.QueueEntry
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
		p.Focus = waiting[0].ID
	}
	uhids := make([]string, len(p.Rows))
	for i := range p.Rows {
		uhids[i] = p.Rows[i].UHID
	}
	if err := audit.Viewed(ctx, s.n, v.User(), "page.queue", uhids...); err != nil {
		return err
	}
	v.Title = v.T("OPD queue") + " · " + d.Code
	return s.render(w, v, http.StatusOK, "queue", p)
}

// mergeTokens merges two token-ordered lists.
func mergeTokens(a, b []opd.QueueEntry) []opd.QueueEntry {
	out := make([]opd.QueueEntry, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Token < b[0].Token {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}
