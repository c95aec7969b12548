package billing

import (
	"bytes"
	"net/http"
	"strings"

	"kavach"
	"kavach/access"
	"kavach/audit"
	"kavach/node"
	"kavach/registration"
	"kavach/web"
)

func (h *handlers) apiTariffs(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	day, err := web.QueryDay(r, h.n.Now())
	if err != nil {
		return err
	}
	ts, err := Tariffs(r.Context(), h.n.DB(), day)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"date": day, "tariffs": ts})
}

func (h *handlers) apiSetPrice(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewPrice
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	if err := h.n.Do(r.Context(), sess.User.Username, func(tx *node.Tx) error { return SetPrice(tx, in) }); err != nil {
		return err
	}
	ts, err := Tariffs(r.Context(), h.n.DB(), kavach.Day(h.n.Now()))
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Code == strings.TrimSpace(in.Code) {
			return web.WriteJSON(w, http.StatusOK, t)
		}
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{})
}

func (h *handlers) apiAccount(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	uhid, err := registration.ParseUHID(r.PathValue("uhid"))
	if err != nil {
		return err
	}
	if _, err := registration.Get(r.Context(), h.n.DB(), uhid); err != nil {
		return err
	}
	a, err := GetAccount(r.Context(), h.n.DB(), uhid)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.account", uhid); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, a)
}

func (h *handlers) apiPay(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewPayment
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*Receipt, error) {
		return Pay(tx, in)
	})
}

func (h *handlers) apiReceipt(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	no, pdf := strings.CutSuffix(r.PathValue("receipt"), ".pdf")
	rc, err := GetReceipt(r.Context(), h.n.DB(), no)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.receipt", rc.UHID); err != nil {
		return err
	}
	if !pdf {
		return web.WriteJSON(w, http.StatusOK, rc)
	}
	return h.writeReceiptPDF(w, r, rc)
}

func (h *handlers) apiReceiptsCSV(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	q := r.URL.Query()
	first, last := q.Get("from"), q.Get("to")
	today := kavach.Day(h.n.Now())
	if first == "" {
		first = today
	}
	if last == "" {
		last = first
	}
	f := kavach.Fields{}
	if iso, ok := kavach.ParseDate(first); ok {
		first = iso
	} else {
		f.Add("from", "must be a date, YYYY-MM-DD or DD-MM-YYYY")
	}
	if iso, ok := kavach.ParseDate(last); ok {
		last = iso
	} else {
		f.Add("to", "must be a date, YYYY-MM-DD or DD-MM-YYYY")
	}
	if err := f.Err(); err != nil {
		return err
	}
	if last < first {
		return &kavach.Error{Code: kavach.EINVALID, Message: "The range ends before it begins.", Fields: map[string]string{"to": "must not be before from"}}
	}
	var buf bytes.Buffer
	uhids, err := WriteReceiptsCSV(r.Context(), h.n.DB(), &buf, first, last)
	if err != nil {
		return err
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.receipts_csv", uhids...); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="receipts-`+first+`-`+last+`.csv"`)
	_, err = w.Write(buf.Bytes())
	return err
}

func (h *handlers) apiCancelCharge(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct {
		Reason string `json:"reason"`
	}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusOK, func(tx *node.Tx) (*AccountCharge, error) {
		return CancelCharge(tx, r.PathValue("id"), in.Reason)
	})
}

func (h *handlers) apiRefund(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in NewRefund
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*Refund, error) {
		return RequestRefund(tx, in)
	})
}

func (h *handlers) apiPendingRefunds(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	fs, err := PendingRefunds(r.Context(), h.n.DB())
	if err != nil {
		return err
	}
	var uhids []string
	for _, f := range fs {
		uhids = append(uhids, f.UHID)
	}
	if err := audit.Viewed(r.Context(), h.n, sess.User.Username, "api.refunds", uhids...); err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, map[string]any{"refunds": fs})
}

func (h *handlers) apiApproveRefund(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in struct{}
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusOK, func(tx *node.Tx) (*Refund, error) {
		return ApproveRefund(tx, r.PathValue("refund"))
	})
}

// dayQuery reads ?date= (default today) and ?counter=.
func (h *handlers) dayQuery(r *http.Request) (day, counter string, err error) {
	q := r.URL.Query()
	if day, err = web.QueryDay(r, h.n.Now()); err != nil {
		return "", "", err
	}
	f := kavach.Fields{}
	counter = checkCounter(f, q.Get("counter"))
	return day, counter, f.Err()
}

func (h *handlers) apiDayEnd(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	day, counter, err := h.dayQuery(r)
	if err != nil {
		return err
	}
	d, err := GetDayEnd(r.Context(), h.n.DB(), day, counter)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, d)
}

func (h *handlers) apiShift(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	_, counter, err := h.dayQuery(r)
	if err != nil {
		return err
	}
	if counter == "" {
		counter = DefaultCounter(h.n)
	}
	s, err := ShiftOf(r.Context(), h.n.DB(), counter, kavach.Day(h.n.Now()), sess.User.Username)
	if err != nil {
		return err
	}
	return web.WriteJSON(w, http.StatusOK, s)
}

func (h *handlers) apiCloseDay(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	var in DayClose
	if err := web.Decode(r, &in); err != nil {
		return err
	}
	return web.Write(w, r, h.n, sess, http.StatusCreated, func(tx *node.Tx) (*CounterDayClose, error) {
		return CloseDay(tx, in)
	})
}
