// Package bench is Kavach's load generator and benchmarks: registration and
// OPD visits over the JSON API, journal appends against plain SQLite inserts,
// verify, and search. Every write in them is synced, as in production.
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
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"kavach/hospital"
	"kavach/node"
	"kavach/registration"
)

// Password is the demo users' password in benchmark data directories.
const Password = "bench-password-1"

// Open opens (creating if needed) a benchmark node with the demo data.
func Open(ctx context.Context, dir string) (*hospital.Hospital, error) {
	h, err := hospital.Open(ctx, node.Config{Dir: dir, Init: node.InitConfig{HospitalName: "Kavach Bench Hospital"}})
	if err != nil {
		return nil, err
	}
	if _, err := h.EnsureAdmin(ctx, Password); err != nil {
		h.Close()
		return nil, err
	}
	if err := h.SeedDemo(ctx, Password); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

// Preload registers patients until the node has at least n, many to a
// transaction, through the same Register command the API uses.
func Preload(ctx context.Context, h *hospital.Hospital, n int, progress io.Writer) (int, error) {
	var have int
	if err := h.Node.DB().QueryRowContext(ctx, `SELECT count(*) FROM patients`).Scan(&have); err != nil {
		return 0, err
	}
	r := rand.New(rand.NewPCG(uint64(have), 42))
	start := time.Now()
	const per = 2000
	for have < n {
		k := min(per, n-have)
		err := h.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			for range k {
				if _, err := registration.Register(tx, Patient(r)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return have, err
		}
		have += k
		if progress != nil && (have%100000 == 0 || have == n) {
			fmt.Fprintf(progress, "preloaded %d patients (%.0f/s)\n", have, float64(have)/time.Since(start).Seconds())
		}
	}
	return have, nil
}

// Result is one benchmark's outcome.
type Result struct {
	Name       string  `json:"name"`
	Clients    int     `json:"clients,omitempty"`
	Patients   int     `json:"patients_stored,omitempty"`
	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSecond  float64 `json:"per_second"`
	P50Millis  float64 `json:"p50_ms,omitempty"`
	P99Millis  float64 `json:"p99_ms,omitempty"`
	MaxMillis  float64 `json:"max_ms,omitempty"`
	Unit       string  `json:"unit"`
	Extra      any     `json:"extra,omitempty"`
	FirstError string  `json:"first_error,omitempty"`
}

func (r Result) String() string {
	s := fmt.Sprintf("%s: %.0f %s/s (%d in %.1fs, %d errors)", r.Name, r.PerSecond, r.Unit, r.Ops, r.Seconds, r.Errors)
	if r.P99Millis > 0 {
		s += fmt.Sprintf(", p50 %.1f ms, p99 %.1f ms, max %.1f ms", r.P50Millis, r.P99Millis, r.MaxMillis)
	}
	if r.Clients > 0 {
		s += fmt.Sprintf(", %d clients", r.Clients)
	}
	if r.Patients > 0 {
		s += fmt.Sprintf(", %d patients stored", r.Patients)
	}
	if r.FirstError != "" {
		s += "; first error: " + r.FirstError
	}
	if r.Extra != nil {
		b, _ := json.MarshalIndent(r.Extra, "", "  ")
		s += "\n" + string(b)
	}
	return s
}

func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return float64(sorted[i].Microseconds()) / 1000
}

// RegistrationConfig sets up the registration benchmark.
type RegistrationConfig struct {
	Clients  int
	Duration time.Duration
	Warmup   time.Duration
	URL      string // an existing server; empty to serve h in this process
}

// Registration runs clients that each register a patient and open an OPD
// visit for it over the JSON API, as a counter does, and measures the pair.
func Registration(ctx context.Context, h *hospital.Hospital, cfg RegistrationConfig) (Result, error) {
	url := cfg.URL
	if url == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return Result{}, err
		}
		ws, err := h.Server(nil)
		if err != nil {
			return Result{}, err
		}
		srv := &http.Server{Handler: ws}
		go srv.Serve(ln)
		defer srv.Close()
		url = "http://" + ln.Addr().String()
	}
	tr := &http.Transport{MaxIdleConnsPerHost: cfg.Clients * 2, MaxConnsPerHost: cfg.Clients * 2}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()

	tokens := make([]string, cfg.Clients)
	for i := range tokens {
		body, _ := json.Marshal(map[string]string{"username": "registration", "password": Password})
		resp, err := client.Post(url+"/api/v1/login", "application/json", bytes.NewReader(body))
		if err != nil {
			return Result{}, err
		}
		var out struct{ Token string }
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out.Token == "" {
			return Result{}, fmt.Errorf("bench: login failed: %s", resp.Status)
		}
		tokens[i] = out.Token
	}
	post := func(token, path string, v any, out any) error {
		body, _ := json.Marshal(v)
		req, _ := http.NewRequestWithContext(ctx, "POST", url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			return fmt.Errorf("%s %s: %s", path, resp.Status, b)
		}
		return json.NewDecoder(resp.Body).Decode(out)
	}

	var measuring atomic.Bool
	var ops, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]time.Duration, cfg.Clients)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				t0 := time.Now()
				var p struct{ UHID string }
				err := post(tokens[i], "/api/v1/patients", Patient(r), &p)
				if err == nil {
					var v struct{ Token int }
					err = post(tokens[i], "/api/v1/opd-visits", map[string]string{"uhid": p.UHID, "department": Department(r)}, &v)
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
		}(i)
	}
	time.Sleep(cfg.Warmup)
	measuring.Store(true)
	start := time.Now()
	var ws0, ws node.WriterStats
	if h != nil {
		ws0 = h.Node.Stats()
	}
	cpu0 := processCPU()
	select {
	case <-time.After(cfg.Duration):
	case <-ctx.Done():
	}
	measuring.Store(false)
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	if h != nil {
		ws = h.Node.Stats()
	}
	close(stop)
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	res := Result{Name: "registration+visit", Clients: cfg.Clients, Ops: ops.Load(), Errors: errs.Load(),
		Seconds: elapsed.Seconds(), PerSecond: float64(ops.Load()) / elapsed.Seconds(), Unit: "pairs",
		P50Millis: percentile(all, 0.50), P99Millis: percentile(all, 0.99), MaxMillis: percentile(all, 1)}
	if e, ok := firstErr.Load().(string); ok {
		res.FirstError = e
	}
	if b := ws.Batches - ws0.Batches; b > 0 {
		res.Extra = map[string]float64{
			"commands_per_batch":  float64(ws.Commands-ws0.Commands) / float64(b),
			"batches_per_second":  float64(b) / elapsed.Seconds(),
			"exec_ms_per_batch":   float64((ws.ExecTime - ws0.ExecTime).Microseconds()) / 1000 / float64(b),
			"commit_ms_per_batch": float64((ws.CommitTime - ws0.CommitTime).Microseconds()) / 1000 / float64(b),
			"writer_busy_percent": 100 * (ws.BusyTime - ws0.BusyTime).Seconds() / elapsed.Seconds(),
		}
		if n := ops.Load(); n > 0 && cpu > 0 {
			// Server and clients together, as they share this process.
			res.Extra.(map[string]float64)["cpu_ms_per_pair"] = float64(cpu.Microseconds()) / 1000 / float64(n)
		}
		if s := ws.Syncs - ws0.Syncs; s > 0 {
			res.Extra.(map[string]float64)["syncs_per_second"] = float64(s) / elapsed.Seconds()
			res.Extra.(map[string]float64)["sync_ms"] = float64((ws.SyncTime - ws0.SyncTime).Microseconds()) / 1000 / float64(s)
		}
	}
	return res, nil
}

// TempDir makes a directory for a benchmark's data.
func TempDir() (string, error) { return os.MkdirTemp("", "kavach-bench-*") }
