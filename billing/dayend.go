package billing

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"kavach"
	"kavach/journal"
	"kavach/node"
)

// Denominations are the notes and coins a cash count takes, in rupees.
var Denominations = []int{500, 200, 100, 50, 20, 10, 5, 2, 1}

// CashOffice is the handover that closes a counter's day.
const CashOffice = "cash office"

// DayClose is a cashier's end of a shift or day at a counter.
type DayClose struct {
	Counter    string         `json:"counter"`
	CashCount  map[string]int `json:"cash_count"` // "500": 3, …
	HandoverTo string         `json:"handover_to"`
	Note       string         `json:"note"`
}

// Shift is what a cashier took at a counter on a day.
type Shift struct {
	Counter  string           `json:"counter"`
	Day      string           `json:"date"`
	Cashier  string           `json:"cashier"`
	Receipts int              `json:"receipts"`
	ByMode   map[string]int64 `json:"by_mode"`
	Refunds  int64            `json:"cash_refunds_paise"`
	Expected int64            `json:"expected_cash_paise"`
}

// ShiftOf sums what the cashier took at the counter today and has not yet
// closed: receipts by mode, cash refunds, and the cash that should be in
// the drawer.
func ShiftOf(ctx context.Context, db journal.DBTX, counter, day, cashier string) (*Shift, error) {
	var since string
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(closed), '') FROM day_closes WHERE counter = ? AND day = ? AND cashier = ?`, counter, day, cashier).Scan(&since); err != nil {
		return nil, err
	}
	s := &Shift{Counter: counter, Day: day, Cashier: cashier, ByMode: map[string]int64{}}
	for _, m := range Modes {
		s.ByMode[m] = 0
	}
	rows, err := db.QueryContext(ctx, `SELECT mode, COUNT(*), SUM(paise) FROM payments WHERE day = ? AND counter = ? AND cashier = ? AND paid > ? GROUP BY mode`, day, counter, cashier, since)
	if err != nil {
		return nil, fmt.Errorf("billing: shift: %w", err)
	}
	for rows.Next() {
		var mode string
		var n int
		var sum int64
		if err := rows.Scan(&mode, &n, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		s.Receipts += n
		s.ByMode[mode] = sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Cash refunds the cashier asked for, paid out (at once, or when
	// approved) in this shift.
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(SUM(paise), 0) FROM refunds WHERE paid_day = ? AND counter = ? AND requested_by = ? AND mode = 'cash'
		AND paid_at > ?`, day, counter, cashier, since).Scan(&s.Refunds); err != nil {
		return nil, err
	}
	s.Expected = s.ByMode["cash"] - s.Refunds
	return s, nil
}

// CloseDay closes the cashier's shift at a counter: the cash counted by
// denomination against what the receipts say. Handed to the cash office,
// it closes the counter's day: no payment or refund there until tomorrow.
func CloseDay(tx *node.Tx, in DayClose) (*CounterDayClose, error) {
	f := kavach.Fields{}
	in.Counter = checkCounter(f, in.Counter)
	in.HandoverTo = strings.TrimSpace(in.HandoverTo)
	if in.HandoverTo == "" {
		in.HandoverTo = CashOffice
	}
	f.Note("handover_to", in.HandoverTo, 60)
	f.Note("note", in.Note, 500)
	var counted int64
	count := map[string]int{}
	for k, n := range in.CashCount {
		d, err := strconv.Atoi(k)
		ok := err == nil
		if ok {
			ok = false
			for _, x := range Denominations {
				ok = ok || x == d
			}
		}
		switch {
		case !ok:
			f.Add("cash_count", "Unknown denomination "+k+": notes and coins are "+denomList())
		case n < 0 || n > 100000:
			f.Add("cash_count", "A count is 0 to 100000")
		case n > 0:
			count[k] = n
			counted += int64(d) * int64(n) * 100
		}
	}
	if err := f.Err(); err != nil {
		return nil, err
	}
	if in.Counter == "" {
		in.Counter = DefaultCounter(tx.Node())
	}
	day := kavach.Day(tx.Now)
	if err := counterOpen(tx, in.Counter, day); err != nil {
		return nil, err
	}
	s, err := ShiftOf(tx.Context(), tx, in.Counter, day, tx.Actor)
	if err != nil {
		return nil, err
	}
	d := CounterDayClose{ByMode: s.ByMode, CashCount: count, Counted: counted, Counter: in.Counter, Day: day, Expected: s.Expected,
		Final: strings.EqualFold(in.HandoverTo, CashOffice), HandoverTo: in.HandoverTo, Note: strings.TrimSpace(in.Note),
		Receipts: s.Receipts, Refunds: s.Refunds}
	if d.Final {
		d.HandoverTo = CashOffice
	}
	if _, err := node.Emit(tx, DayClosed, d); err != nil {
		return nil, err
	}
	return &d, nil
}

func denomList() string {
	var s []string
	for _, d := range Denominations {
		s = append(s, strconv.Itoa(d))
	}
	return strings.Join(s, ", ")
}

// DayEnd is a day's takings: at every counter, or at one.
type DayEnd struct {
	Date     string           `json:"date"`
	Counter  string           `json:"counter,omitempty"`
	ByMode   map[string]int64 `json:"by_mode"`
	Receipts int              `json:"receipts"`
	Total    int64            `json:"total_paise"`
	Refunds  map[string]int64 `json:"refunds_by_mode"`
	Net      int64            `json:"net_paise"`
	Closes   []Close          `json:"closes"`
	Closed   []string         `json:"closed_counters"`
}

// Close is a shift or day close as the day end lists it.
type Close struct {
	Counter    string           `json:"counter"`
	Cashier    string           `json:"cashier"`
	Closed     string           `json:"closed_at"`
	Final      bool             `json:"final"`
	HandoverTo string           `json:"handover_to"`
	Receipts   int              `json:"receipts"`
	ByMode     map[string]int64 `json:"by_mode"`
	Expected   int64            `json:"expected_cash_paise"`
	Counted    int64            `json:"counted_paise"`
	Difference int64            `json:"difference_paise"` // counted − expected
	CashCount  map[string]int   `json:"cash_count"`
	Note       string           `json:"note,omitempty"`
}

// GetDayEnd sums a day's receipts and refunds by mode (counter "" for all)
// and lists the closes.
func GetDayEnd(ctx context.Context, db journal.DBTX, day, counter string) (*DayEnd, error) {
	d := &DayEnd{Date: day, Counter: counter, ByMode: map[string]int64{}, Refunds: map[string]int64{}, Closes: []Close{}, Closed: []string{}}
	for _, m := range Modes {
		d.ByMode[m], d.Refunds[m] = 0, 0
	}
	where, args := `day = ?`, []any{day}
	if counter != "" {
		where, args = where+` AND counter = ?`, append(args, counter)
	}
	rows, err := db.QueryContext(ctx, `SELECT mode, COUNT(*), SUM(paise) FROM payments WHERE `+where+` GROUP BY mode`, args...)
	if err != nil {
		return nil, fmt.Errorf("billing: day end: %w", err)
	}
	for rows.Next() {
		var mode string
		var n int
		var sum int64
		if err := rows.Scan(&mode, &n, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		d.ByMode[mode], d.Receipts, d.Total = sum, d.Receipts+n, d.Total+sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rwhere := strings.Replace(where, "day = ?", "paid_day = ?", 1)
	rows, err = db.QueryContext(ctx, `SELECT mode, SUM(paise) FROM refunds WHERE `+rwhere+` GROUP BY mode`, args...)
	if err != nil {
		return nil, err
	}
	var refunded int64
	for rows.Next() {
		var mode string
		var sum int64
		if err := rows.Scan(&mode, &sum); err != nil {
			rows.Close()
			return nil, err
		}
		d.Refunds[mode], refunded = sum, refunded+sum
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	d.Net = d.Total - refunded
	rows, err = db.QueryContext(ctx, `SELECT counter, cashier, closed, final, handover_to, receipts, by_mode, expected, counted, cash_count, note
		FROM day_closes WHERE `+where+` ORDER BY closed, counter, cashier, origin, seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	closed := map[string]bool{}
	for rows.Next() {
		var c Close
		var byMode, count string
		if err := rows.Scan(&c.Counter, &c.Cashier, &c.Closed, &c.Final, &c.HandoverTo, &c.Receipts, &byMode, &c.Expected, &c.Counted, &count, &c.Note); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(byMode), &c.ByMode); err != nil {
			return nil, fmt.Errorf("billing: day end %s %s: %w", c.Counter, day, err)
		}
		if err := json.Unmarshal([]byte(count), &c.CashCount); err != nil {
			return nil, fmt.Errorf("billing: day end %s %s: %w", c.Counter, day, err)
		}
		c.Difference = c.Counted - c.Expected
		d.Closes = append(d.Closes, c)
		if c.Final && !closed[c.Counter] {
			closed[c.Counter] = true
			d.Closed = append(d.Closed, c.Counter)
		}
	}
	sort.Strings(d.Closed)
	return d, rows.Err()
}

// WriteReceiptsCSV writes the receipts (and refunds) of the days from
// first to last as CSV: one row each, amounts in rupees with paise. It
// returns the patients the rows name, for the audit trail.
func WriteReceiptsCSV(ctx context.Context, db journal.DBTX, w io.Writer, first, last string) ([]string, error) {
	cw := csv.NewWriter(w)
	cw.Write([]string{"date", "time", "kind", "number", "receipt", "uhid", "counter", "cashier", "mode", "reference", "amount", "status"})
	rows, err := db.QueryContext(ctx, `SELECT day, paid, 'receipt', receipt_no, receipt_no, uhid, counter, cashier, mode, reference, paise, 'paid' FROM payments WHERE day >= ? AND day <= ?
		UNION ALL
		SELECT day, requested, 'refund', refund_no, receipt_no, uhid, counter, requested_by, mode, '', -paise,
			CASE WHEN needs_approval = ? AND approve_stamp = '' THEN 'awaiting approval' ELSE 'refunded' END FROM refunds WHERE day >= ? AND day <= ?
		ORDER BY 2, 4`, first, last, true, first, last)
	if err != nil {
		return nil, fmt.Errorf("billing: receipts: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var uhids []string
	for rows.Next() {
		var day, at, kind, no, receipt, uhid, counter, cashier, mode, ref, status string
		var paise int64
		if err := rows.Scan(&day, &at, &kind, &no, &receipt, &uhid, &counter, &cashier, &mode, &ref, &paise, &status); err != nil {
			return nil, err
		}
		if !seen[uhid] {
			seen[uhid] = true
			uhids = append(uhids, uhid)
		}
		t, _ := time.Parse(journal.TimeFormat, at)
		sign := ""
		if paise < 0 {
			sign, paise = "-", -paise
		}
		cw.Write([]string{day, t.In(kavach.Zone).Format("15:04:05"), kind, no, receipt, uhid, counter, cashier, mode, ref,
			fmt.Sprintf("%s%d.%02d", sign, paise/100, paise%100), status})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cw.Flush()
	return uhids, cw.Error()
}
