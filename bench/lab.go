package bench

import (
	"context"
	"fmt"
	"io"
	"slices"
	"time"

	"kavach/hospital"
	"kavach/lab"
	"kavach/node"
)

// LabPreload makes n samples pending on the haematology worklist (a CBC
// ordered, collected and received for a patient each, many to a
// transaction, through the lab's own commands). Patients are taken from
// those stored, round robin.
func LabPreload(ctx context.Context, h *hospital.Hospital, n int, progress io.Writer) (int, error) {
	db := h.Node.DB()
	var have int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM lab_worklist WHERE section = 'HAEM' AND pending = 1`).Scan(&have); err != nil {
		return 0, err
	}
	if have >= n {
		return have, nil
	}
	var uhids []string
	rows, err := db.QueryContext(ctx, `SELECT uhid FROM patients ORDER BY uhid LIMIT 20000`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var u string
		rows.Scan(&u)
		uhids = append(uhids, u)
	}
	rows.Close()
	if len(uhids) == 0 {
		return 0, fmt.Errorf("bench: no patients to order for; preload patients first")
	}
	start := time.Now()
	const per = 500
	for have < n {
		k := min(per, n-have)
		err := h.Node.Do(ctx, "lab", func(tx *node.Tx) error {
			for i := range k {
				prio := "routine"
				if (have+i)%10 == 0 {
					prio = "urgent"
				}
				o, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhids[(have+i)%len(uhids)], Tests: []string{"CBC"}, Priority: prio, Prescriber: "Dr. Bench"}, false)
				if err != nil {
					return err
				}
				c, err := lab.Collect(tx, o.ID)
				if err != nil {
					return err
				}
				if _, err := lab.Receive(tx, c.Samples[0].Accession); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return have, err
		}
		have += k
		if progress != nil && (have%10000 == 0 || have == n) {
			fmt.Fprintf(progress, "preloaded %d pending samples (%.0f/s)\n", have, float64(have)/time.Since(start).Seconds())
		}
	}
	return have, nil
}

// LabWorklist measures the haematology worklist (its first 200 samples and
// the count pending) with every sample of LabPreload pending: the read by
// itself, then the API's answer over HTTP, whose audit of the read is a
// synced write.
func LabWorklist(ctx context.Context, h *hospital.Hospital, d time.Duration) (Result, error) {
	db := h.Node.DB()
	var lats []time.Duration
	pending := 0
	start := time.Now()
	for time.Since(start) < d/2 {
		t0 := time.Now()
		items, total, err := lab.Worklist(ctx, db, "HAEM", 200)
		if err != nil {
			return Result{}, err
		}
		lats = append(lats, time.Since(t0))
		pending = total
		if len(items) == 0 {
			return Result{}, fmt.Errorf("bench: the worklist is empty")
		}
	}
	el := time.Since(start)
	slices.Sort(lats)
	res := Result{Name: "lab-worklist", Ops: int64(len(lats)), Seconds: el.Seconds(), PerSecond: float64(len(lats)) / el.Seconds(),
		Unit: "worklists", P50Millis: percentile(lats, .5), P99Millis: percentile(lats, .99), MaxMillis: percentile(lats, 1)}

	base, client, tokens, stop, err := serveBench(ctx, h, 1, "lab")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	api, err := timeGets(ctx, client, base+"/api/v1/worklists/HAEM", tokens[0], d/2)
	if err != nil {
		return Result{}, err
	}
	res.Extra = map[string]any{"pending": pending, "api_requests": len(api), "api_p50_ms": percentile(api, .5), "api_p99_ms": percentile(api, .99)}
	return res, nil
}
