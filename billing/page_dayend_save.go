package billing

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"kavach"
	"kavach/node"
	"kavach/web"
)

// pageDayEndSave closes the cashier's shift at the counter with the cash
// counted by denomination; handed to the cash office, it closes the
// counter's day. The page then shows the count against what the receipts
// say. A refused count comes back with its fields, the total as the server
// adds it up, and nothing written.
func (h *handlers) pageDayEndSave(w http.ResponseWriter, r *http.Request, v *web.View) error {
	counter := checkCounter(kavach.Fields{}, r.PostFormValue("counter"))
	st := dayEndState{f: map[string]string{}, counts: map[string]string{}, errs: map[string]string{}}
	for _, k := range []string{"handover_to", "note"} {
		st.f[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	in := DayClose{Counter: counter, CashCount: map[string]int{}, HandoverTo: st.f["handover_to"], Note: st.f["note"]}
	for _, d := range Denominations {
		name := "count_" + strconv.Itoa(d)
		typed := strings.TrimSpace(r.PostFormValue(name))
		st.counts[name] = typed
		if typed == "" {
			continue
		}
		n, err := strconv.Atoi(typed)
		switch {
		case err != nil:
			st.errs[name] = v.T("Count the notes or coins: a whole number")
		case n < 0 || n > 100000:
			st.errs[name] = v.T("A count is 0 to 100000")
		default:
			in.CashCount[strconv.Itoa(d)] = n
			st.counted += int64(d) * int64(n) * 100
		}
	}
	var d *CounterDayClose
	var err error
	if len(st.errs) > 0 {
		err = &kavach.Error{Code: kavach.EINVALID, Message: "Please correct the marked fields.", Fields: st.errs}
	} else {
		err = h.n.Do(r.Context(), v.User(), func(tx *node.Tx) error {
			var err error
			d, err = CloseDay(tx, in)
			return err
		})
	}
	if err != nil {
		if !wantUser(err) {
			return err
		}
		if errs := formErrors(v, err, "note", nil); len(st.errs) == 0 {
			st.errs = errs
		}
		st.message = formMessage(v, err)
		if counter == "" {
			counter = DefaultCounter(h.n)
		}
		return h.renderDayEnd(w, r, v, errStatus(err), counter, st)
	}
	return web.Redirect(w, r, "/billing/day-end?counter="+url.QueryEscape(d.Counter)+"&closed=1")
}
