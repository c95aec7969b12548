package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"kavach/hl7"
	"kavach/hospital"
	"kavach/lab"
)

// HL7Config sets up the analysers benchmark.
type HL7Config struct {
	Clients  int // analysers, each on its own connection
	Duration time.Duration
	Log      io.Writer
}

// cbcLOINC are the demo CBC's ten analytes as an analyser names them.
var cbcLOINC = []struct{ code, value, unit string }{
	{"718-7", "13.5", "g/dL"}, {"6690-2", "11.8", "10*3/uL"}, {"777-3", "140", "10*3/uL"}, {"789-8", "4.9", "10*6/uL"},
	{"4544-3", "44", "%"}, {"787-2", "90", "fL"}, {"785-6", "29", "pg"}, {"786-4", "33", "g/dL"}, {"788-0", "12.5", "%"},
	{"32623-1", "9.1", "fL"},
}

// HL7 measures analysers sending CBC results (ten analytes a message) over
// MLLP to the node's listener on loopback, each waiting for its ACK, which
// comes once the results are stored and synced: messages/s and the ACK's
// latency. Each message is for a sample received and without results.
func HL7(ctx context.Context, h *hospital.Hospital, cfg HL7Config) (Result, error) {
	need := int(cfg.Duration.Seconds()*1500) + 1000
	db := h.Node.DB()
	var have int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM lab_samples WHERE received <> '' AND result_stamp = ''`).Scan(&have); err != nil {
		return Result{}, err
	}
	if have < need {
		var pending int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM lab_worklist WHERE section = 'HAEM' AND pending = 1`).Scan(&pending); err != nil {
			return Result{}, err
		}
		if _, err := LabPreload(ctx, h, pending+need-have, cfg.Log); err != nil {
			return Result{}, err
		}
	}
	rows, err := db.QueryContext(ctx, `SELECT accession FROM lab_samples WHERE received <> '' AND result_stamp = '' ORDER BY accession LIMIT ?`, need)
	if err != nil {
		return Result{}, err
	}
	var accs []string
	for rows.Next() {
		var a string
		rows.Scan(&a)
		accs = append(accs, a)
	}
	rows.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	sctx, stop := context.WithCancel(ctx)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := &hl7.Server{Log: quiet, Handler: lab.Analysers(h.Node, quiet)}
	done := make(chan struct{})
	go func() { defer close(done); srv.Serve(sctx, ln) }()
	defer func() { stop(); <-done }()

	var next atomic.Int64
	var errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, cfg.Clients)
	deadline := time.Now().Add(cfg.Duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := hl7.Dial(ctx, ln.Addr().String())
			if err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			defer cl.Close()
			for time.Now().Before(deadline) {
				i := next.Add(1) - 1
				if int(i) >= len(accs) {
					return
				}
				o := hl7.ORU{ControlID: "B" + strconv.FormatInt(i, 10), Sender: "XN-" + strconv.Itoa(c), Orders: []hl7.Order{{Accession: accs[i]}}}
				for _, a := range cbcLOINC {
					o.Orders[0].Observations = append(o.Orders[0].Observations, hl7.Observation{Code: a.code, System: "LN", Value: a.value, Units: a.unit, Status: "F"})
				}
				msg := hl7.BuildORU(o, time.Now())
				t0 := time.Now()
				ack, err := cl.Send(ctx, msg)
				if err == nil {
					var code, text string
					if code, text, err = hl7.AckCode(ack); err == nil && code != "AA" {
						err = fmt.Errorf("ACK %s: %s", code, text)
					}
				}
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := Result{Name: "hl7", Clients: cfg.Clients, Ops: int64(len(all)), Errors: errs.Load(), Seconds: el.Seconds(),
		PerSecond: float64(len(all)) / el.Seconds(), Unit: "messages (10 results each)",
		P50Millis: percentile(all, .5), P99Millis: percentile(all, .99), MaxMillis: percentile(all, 1)}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	if len(all) > 0 && int(next.Load()) >= len(accs) {
		res.FirstError += " (ran out of samples before the time was up)"
	}
	return res, nil
}
