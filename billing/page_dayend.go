package billing

import (
	"net/http"
	"strconv"
	"strings"

	"kavach"
	"kavach/web"
)

// dayEndPage is the cashier's end of a shift or day at a counter: what the
// receipts say should be in the drawer, the cash count by denomination,
// and the handover; for those who see the day's takings, those too.
type dayEndPage struct {
	*web.View
	Counter string
	Today   string
	Shift   *Shift
	Closed  bool   // the counter's day is closed: no count, no payment
	Close   *Close // the close just made (?closed=1)
	Denoms  []denomField
	F       map[string]string // handover_to, note as typed
	Err     map[string]string
	Message string
	Counted int64 // the count as the server adds it up
	Diff    int64 // counted − expected
	Focus   string
	Takings *takings
}

// denomField is one note or coin of the cash count form.
type denomField struct {
	Rupees int
	Name   string // count_500
	Count  string // as typed
	Err    string
}

// takings is the day's takings for a date, for billing.reports holders.
type takings struct {
	Action  string // the page the date form goes to
	Date    string
	DateErr string
	Day     *DayEnd
}

// dayEndState is what a refused close brings back.
type dayEndState struct {
	f       map[string]string
	counts  map[string]string
	errs    map[string]string
	message string
	counted int64
}

// pageDayEnd shows the cashier's shift at the counter today with the cash
// count form, or, once the counter's day is closed, the close.
func (h *handlers) pageDayEnd(w http.ResponseWriter, r *http.Request, v *web.View) error {
	counter := h.counterFor(w, r)
	return h.renderDayEnd(w, r, v, http.StatusOK, counter, dayEndState{})
}

func (h *handlers) renderDayEnd(w http.ResponseWriter, r *http.Request, v *web.View, status int, counter string, st dayEndState) error {
	ctx := r.Context()
	db := h.n.DB()
	today := kavach.Day(h.n.Now())
	s, err := ShiftOf(ctx, db, counter, today, v.User())
	if err != nil {
		return err
	}
	d, err := GetDayEnd(ctx, db, today, counter)
	if err != nil {
		return err
	}
	page := &dayEndPage{View: v, Counter: counter, Today: today, Shift: s, F: st.f, Err: st.errs, Message: st.message, Counted: st.counted}
	page.Diff = page.Counted - s.Expected
	for _, c := range d.Closed {
		page.Closed = page.Closed || c == counter
	}
	if r.URL.Query().Get("closed") == "1" {
		for i := range d.Closes {
			if c := d.Closes[i]; c.Cashier == v.User() {
				page.Close = &c
			}
		}
	}
	if page.F == nil {
		page.F = map[string]string{"handover_to": CashOffice}
	}
	for _, dn := range Denominations {
		f := denomField{Rupees: dn, Name: "count_" + strconv.Itoa(dn)}
		f.Count, f.Err = st.counts[f.Name], st.errs[f.Name]
		page.Denoms = append(page.Denoms, f)
	}
	order := []string{}
	for _, f := range page.Denoms {
		order = append(order, f.Name)
	}
	order = append(order, "handover_to", "note")
	page.Focus = order[0]
	for _, k := range order {
		if st.errs[k] != "" {
			page.Focus = k
			break
		}
	}
	if v.Can(string(SeeDayEnds)) {
		if page.Takings, err = h.takings(r, v); err != nil {
			return err
		}
		page.Takings.Action = "/billing/day-end"
	}
	v.Title = v.T("Day end") + " · " + counter
	return v.Render(w, status, "billing_dayend", page)
}

// takings reads ?date= (today if none) and sums that day's takings at
// every counter.
func (h *handlers) takings(r *http.Request, v *web.View) (*takings, error) {
	t := &takings{Date: kavach.Day(h.n.Now())}
	if q := strings.TrimSpace(r.URL.Query().Get("date")); q != "" {
		if iso, ok := kavach.ParseDate(q); ok {
			t.Date = iso
		} else {
			t.DateErr = v.T("The date must be like 04-12-2026")
		}
	}
	var err error
	t.Day, err = GetDayEnd(r.Context(), h.n.DB(), t.Date, "")
	return t, err
}

// pageTakings is the day's takings on their own page, for those who see
// them but keep no counter (the auditor).
func (h *handlers) pageTakings(w http.ResponseWriter, r *http.Request, v *web.View) error {
	t, err := h.takings(r, v)
	if err != nil {
		return err
	}
	t.Action = "/billing/takings"
	v.Title = v.T("The day's takings") + " · " + kavach.ShowDay(t.Date)
	status := http.StatusOK
	if t.DateErr != "" {
		status = http.StatusBadRequest
	}
	return v.Render(w, status, "billing_takings", &dayEndPage{View: v, Takings: t})
}

// pageReceiptsCSV is the receipts (and refunds) of a range of days as CSV,
// as the API gives them, for a logged-in user's browser.
func (h *handlers) pageReceiptsCSV(w http.ResponseWriter, r *http.Request, v *web.View) error {
	return h.apiReceiptsCSV(w, r, v.Sess)
}
