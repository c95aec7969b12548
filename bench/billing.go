package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kavach/billing"
	"kavach/hospital"
	"kavach/lab"
	"kavach/node"
)

// serveBench serves h on loopback for a benchmark and returns its URL, a
// client and a token of user for each of clients.
func serveBench(ctx context.Context, h *hospital.Hospital, clients int, user string) (url string, client *http.Client, tokens []string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, nil, nil, err
	}
	ws, err := h.Server(nil)
	if err != nil {
		return "", nil, nil, nil, err
	}
	srv := &http.Server{Handler: ws}
	go srv.Serve(ln)
	tr := &http.Transport{MaxIdleConnsPerHost: clients * 2, MaxConnsPerHost: clients * 2}
	client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	stop = func() { tr.CloseIdleConnections(); srv.Close() }
	for range clients {
		tok, _, err := h.Auth.Login(ctx, user, Password, "api", "bench")
		if err != nil {
			stop()
			return "", nil, nil, nil, err
		}
		tokens = append(tokens, tok)
	}
	return "http://" + ln.Addr().String(), client, tokens, stop, nil
}

// Payments measures payments taken over the JSON API by concurrent
// counters (cash, or UPI with a reference), each answered once synced:
// payments/s and latency.
func Payments(ctx context.Context, h *hospital.Hospital, clients int, d time.Duration) (Result, error) {
	rows, err := h.Node.DB().QueryContext(ctx, `SELECT uhid FROM patients ORDER BY uhid LIMIT 20000`)
	if err != nil {
		return Result{}, err
	}
	var uhids []string
	for rows.Next() {
		var u string
		rows.Scan(&u)
		uhids = append(uhids, u)
	}
	rows.Close()
	if len(uhids) == 0 {
		return Result{}, fmt.Errorf("bench: no patients")
	}
	url, client, tokens, stop, err := serveBench(ctx, h, clients, "billing")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	var measuring atomic.Bool
	var ops, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, clients)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 99))
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				in := map[string]any{"uhid": uhids[r.IntN(len(uhids))], "amount_paise": 1000 + r.IntN(50000), "mode": "cash",
					"counter": fmt.Sprintf("C%d", i)}
				if n%3 == 1 {
					in["mode"], in["reference"] = "upi", fmt.Sprintf("UTR%d%d", i, n)
				}
				body, _ := json.Marshal(in)
				req, _ := http.NewRequestWithContext(ctx, "POST", url+"/api/v1/payments", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tokens[i])
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated {
						err = fmt.Errorf("payment: %s: %s", resp.Status, b)
					}
				}
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				ops.Add(1)
				lats[i] = append(lats[i], time.Since(t0))
			}
		}()
	}
	time.Sleep(2 * time.Second)
	measuring.Store(true)
	start := time.Now()
	time.Sleep(d)
	measuring.Store(false)
	el := time.Since(start)
	close(done)
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := Result{Name: "payments", Clients: clients, Ops: ops.Load(), Errors: errs.Load(), Seconds: el.Seconds(),
		PerSecond: float64(ops.Load()) / el.Seconds(), Unit: "payments", Patients: len(uhids),
		P50Millis: percentile(all, .5), P99Millis: percentile(all, .99), MaxMillis: percentile(all, 1)}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	return res, nil
}

// Account measures a patient's account with 1,000 charges (lab orders of
// one test each) and 100 receipts: the read alone, then the API's answer,
// whose read is audited.
func Account(ctx context.Context, h *hospital.Hospital, d time.Duration) (Result, error) {
	db := h.Node.DB()
	var uhid string
	if err := db.QueryRowContext(ctx, `SELECT uhid FROM patients ORDER BY uhid LIMIT 1`).Scan(&uhid); err != nil {
		return Result{}, err
	}
	a, err := billing.GetAccount(ctx, db, uhid)
	if err != nil {
		return Result{}, err
	}
	tests := []string{"CBC", "GLUF", "LFT", "KFT", "THY", "URINE", "HB", "LIPID", "ELEC", "HBA1C"}
	for len(a.Charges) < 1000 {
		err := h.Node.Do(ctx, "doctor", func(tx *node.Tx) error {
			for i := range 100 {
				if _, err := lab.PlaceOrder(tx, lab.NewOrder{UHID: uhid, Tests: []string{tests[i%len(tests)]}}, true); err != nil {
					return err
				}
			}
			for range 10 {
				if _, err := billing.Pay(tx, billing.NewPayment{UHID: uhid, Paise: 12345, Mode: "cash"}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return Result{}, err
		}
		if a, err = billing.GetAccount(ctx, db, uhid); err != nil {
			return Result{}, err
		}
	}
	var lats []time.Duration
	start := time.Now()
	for time.Since(start) < d/2 {
		t0 := time.Now()
		if _, err := billing.GetAccount(ctx, db, uhid); err != nil {
			return Result{}, err
		}
		lats = append(lats, time.Since(t0))
	}
	el := time.Since(start)
	slices.Sort(lats)
	res := Result{Name: "account", Ops: int64(len(lats)), Seconds: el.Seconds(), PerSecond: float64(len(lats)) / el.Seconds(), Unit: "accounts",
		P50Millis: percentile(lats, .5), P99Millis: percentile(lats, .99), MaxMillis: percentile(lats, 1)}
	url, client, tokens, stop, err := serveBench(ctx, h, 1, "billing")
	if err != nil {
		return Result{}, err
	}
	defer stop()
	api, err := timeGets(ctx, client, url+"/api/v1/accounts/"+uhid, tokens[0], d/2)
	if err != nil {
		return Result{}, err
	}
	res.Extra = map[string]any{"charges": len(a.Charges), "receipts": len(a.Payments), "api_requests": len(api),
		"api_p50_ms": percentile(api, .5), "api_p99_ms": percentile(api, .99)}
	return res, nil
}

// timeGets GETs url with token for d, one request after another, and
// returns each answer's latency, sorted.
func timeGets(ctx context.Context, client *http.Client, url, token string, d time.Duration) ([]time.Duration, error) {
	var lats []time.Duration
	start := time.Now()
	for time.Since(start) < d {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("bench: %s: %s", url, resp.Status)
		}
		lats = append(lats, time.Since(t0))
	}
	slices.Sort(lats)
	return lats, nil
}
