package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"kavach/hospital"
	"kavach/node"
	"kavach/registration"
	"kavach/replicate"
	"kavach/vault"
)

// VaultLagConfig sets up the vault lag benchmark.
type VaultLagConfig struct {
	Rate     int           // journal events per second to write (default 1000)
	Duration time.Duration // how long to measure (default 20 s)
	Warmup   time.Duration // load before measuring (default 2 s)
	Tick     time.Duration // the pace of the writes: one synced write per tick (default 10 ms)
	Wait     time.Duration // the vault's long poll (default 25 s, as kavach vault)
	Log      io.Writer     // the vault's warnings and errors; nil to drop them
}

// VaultLag measures how far a vault trails a node under a steady write load.
// It serves h on loopback, runs the vault's real pull loop (vault.Puller, as
// kavach vault runs it) into a new store in a temporary directory, encrypting
// to a new age recipient, and writes cfg.Rate journal events a second:
// registrations through the node's writer, a few in each synced write, one
// write per tick.
//
// Each event's lag runs from the moment its write was acknowledged (node.Do
// returned: committed and synced) to the moment the vault had it: when the
// vault, having appended, synced, cosigned and recorded its status, asks the
// node for the events after it. The pull requests are watched on the vault's
// HTTP client, so the moment is exact and costs the vault nothing.
func VaultLag(ctx context.Context, h *hospital.Hospital, cfg VaultLagConfig) (Result, error) {
	if cfg.Rate <= 0 {
		cfg.Rate = 1000
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 20 * time.Second
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 2 * time.Second
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 25 * time.Second
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}

	// The node, on loopback, as kavach serve serves it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	ws, err := h.Server(slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return Result{}, err
	}
	srv := &http.Server{Handler: ws}
	srv.RegisterOnShutdown(ws.BeginShutdown)
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String()
	token, err := node.NewReplicationToken(ctx, h.Node.Dir(), "bench", 0)
	if err != nil {
		return Result{}, err
	}

	// The vault, in this process, with a real store and recipient.
	vdir, err := os.MkdirTemp("", "kavach-vaultlag-*")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(vdir)
	vdir = filepath.Join(vdir, "vault")
	if _, err := vault.Setup(vdir, vault.Config{Name: "bench-vault", Source: url}); err != nil {
		return Result{}, err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return Result{}, err
	}
	rec := &pullRecorder{next: &http.Transport{}}
	p := &vault.Puller{
		Dir:        vdir,
		Source:     &replicate.Client{URL: url, Token: token, HTTP: &http.Client{Transport: rec, Timeout: cfg.Wait + 30*time.Second}},
		Recipients: []age.Recipient{id.Recipient()},
		Wait:       cfg.Wait,
		ScrubEvery: 24 * time.Hour, // kavach vault's default
		Log:        slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	vctx, stopVault := context.WithCancel(ctx)
	vdone := make(chan struct{}) // closed when Run returns, with verr
	var verr error
	go func() { verr = p.Run(vctx); close(vdone) }()
	stop := func() error {
		stopVault()
		<-vdone
		return verr
	}
	defer stop()

	// The vault first catches up with what the node holds.
	size := h.Node.Status().Events
	if err := rec.waitFor(ctx, size, 10*time.Minute, vdone); err != nil {
		if errors.Is(err, errVaultStopped) {
			err = fmt.Errorf("%w: %v", err, verr)
		}
		return Result{}, fmt.Errorf("bench: the vault did not catch up with the node's %d events: %w", size, err)
	}

	// The load: at each tick, as many registrations as the events still due
	// (a registration is one event, or two with a duplicate warning), in one
	// synced write.
	type ack struct {
		size uint64 // the node's journal when the write was acknowledged
		at   time.Time
	}
	var acks []ack
	var errs, regs, writes int64
	var firstErr string
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	maxGroup := max(1, cfg.Rate/10)
	first := size // the first event written
	tick := time.NewTicker(cfg.Tick)
	start := time.Now()
	measureFrom, measureTo := start.Add(cfg.Warmup), start.Add(cfg.Warmup+cfg.Duration)
	cpu0 := processCPU()
	var ws0, ws1 node.WriterStats
	measuring := false
load:
	for {
		select {
		case <-ctx.Done():
			tick.Stop()
			return Result{}, ctx.Err()
		case <-vdone:
			tick.Stop()
			return Result{}, fmt.Errorf("bench: the vault stopped: %v", verr)
		case now := <-tick.C:
			if !measuring && !now.Before(measureFrom) {
				measuring, ws0 = true, h.Node.Stats()
			}
			if !now.Before(measureTo) {
				break load
			}
		}
		due := int64(time.Since(start).Seconds()*float64(cfg.Rate)) - int64(size-first)
		if due <= 0 {
			continue
		}
		k := int(min(due, int64(maxGroup)))
		pats := make([]*registration.NewPatient, k)
		for i := range pats {
			pats[i] = Patient(r)
		}
		err := h.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			for _, np := range pats {
				if _, err := registration.Register(tx, np); err != nil {
					return err
				}
			}
			return nil
		})
		at := time.Now()
		if measuring {
			writes++
		}
		if err != nil {
			errs++
			if firstErr == "" {
				firstErr = err.Error()
			}
			continue
		}
		if measuring {
			regs += int64(k)
		}
		size = h.Node.Status().Events
		acks = append(acks, ack{size, at})
	}
	tick.Stop()
	ws1 = h.Node.Stats()
	cpu := processCPU() - cpu0

	// Let the vault take the last of it, then stop it.
	caught := rec.waitFor(ctx, size, 60*time.Second, vdone)
	stopped := time.Now()
	if err := stop(); err != nil {
		return Result{}, err
	}
	st, _ := vault.ReadStatus(vdir)
	// What a pull per commit leaves behind: a segment, a manifest and a
	// cosignature each, all of which the vault reads again at every start.
	t0 := time.Now()
	store, err := vault.OpenStore(vault.StoreDir(vdir))
	if err != nil {
		return Result{}, fmt.Errorf("bench: reopening the vault's store: %w", err)
	}
	segments := len(store.Segments())
	openMillis := float64(time.Since(t0).Microseconds()) / 1000
	store.Close()

	// Each measured event's lag: from its acknowledgement to the first pull
	// asking past it.
	asks := rec.all()
	var lats []time.Duration
	minLag := time.Duration(1<<63 - 1)
	var lo, hi uint64 // the measured events [lo, hi)
	seen := false
	unstored := 0
	j := 0
	prev := first
	for _, a := range acks {
		if a.at.Before(measureFrom) {
			prev = a.size
			continue
		}
		if !seen {
			lo, seen = prev, true
		}
		for e := prev; e < a.size; e++ {
			for j < len(asks) && asks[j].from <= e {
				j++
			}
			stored := stopped
			if j < len(asks) {
				stored = asks[j].at
			} else {
				unstored++
			}
			lag := stored.Sub(a.at)
			minLag = min(minLag, lag)
			lats = append(lats, max(lag, 0))
		}
		prev, hi = a.size, a.size
	}
	slices.Sort(lats)
	secs := cfg.Duration.Seconds()
	n := len(lats)
	res := Result{Name: "vault-lag", Ops: int64(n), Errors: errs, Seconds: secs, PerSecond: float64(n) / secs, Unit: "events",
		P50Millis: percentile(lats, .5), P99Millis: percentile(lats, .99), MaxMillis: percentile(lats, 1), FirstError: firstErr}
	if caught != nil {
		res.FirstError = strings.TrimPrefix(res.FirstError+"; ", "; ") + fmt.Sprintf("the vault did not catch up within 60 s after the load: %v", caught)
	}
	for _, a := range st.AlertDetails {
		if a.Kind != vault.AlertNotRunning { // it was stopped just now
			res.FirstError = strings.TrimPrefix(res.FirstError+"; ", "; ") + "vault alert: " + a.String()
		}
	}

	// The pulls that brought the measured events, and what the vault did
	// with each: from the answer read to its next ask (check, encrypt,
	// append, sync, cosign, status).
	pulls, polls := 0, 0
	var work, fetch []time.Duration
	for i, a := range asks {
		if a.from < lo || a.from >= hi {
			continue
		}
		polls++
		if i+1 < len(asks) && asks[i+1].from > a.from {
			pulls++
			if !a.done.IsZero() {
				work = append(work, asks[i+1].at.Sub(a.done))
				fetch = append(fetch, a.done.Sub(a.at))
			}
		}
	}
	slices.Sort(work)
	slices.Sort(fetch)
	extra := map[string]any{
		"target_events_per_second": cfg.Rate,
		"registrations":            regs,
		"synced_writes":            writes,
		"pulls":                    pulls,
		"polls":                    polls,
		"pulls_per_second":         float64(pulls) / secs,
		"vault_ms_per_pull_p50":    percentile(work, .5),
		"vault_ms_per_pull_p99":    percentile(work, .99),
		"fetch_ms_p50":             percentile(fetch, .5),
		"vault_ms_per_pull_max":    percentile(work, 1),
		"fetch_ms_p99":             percentile(fetch, .99),
		"fetch_ms_max":             percentile(fetch, 1),
		"unstored_events":          unstored,
		"vault_segments":           segments,
		"vault_store_open_ms":      openMillis,
		"vault_events":             st.Events,
		"node_events":              size,
		"min_lag_ms":               float64(minLag.Microseconds()) / 1000,
	}
	if pulls > 0 {
		extra["events_per_pull"] = float64(n) / float64(pulls)
	}
	if s := ws1.Syncs - ws0.Syncs; s > 0 {
		extra["node_syncs_per_second"] = float64(s) / secs
		extra["node_sync_ms"] = float64((ws1.SyncTime - ws0.SyncTime).Microseconds()) / 1000 / float64(s)
	}
	if cpu > 0 {
		extra["cpu_percent"] = 100 * cpu.Seconds() / time.Since(start).Seconds()
	}
	res.Extra = extra
	return res, nil
}

// pullRecorder watches the vault's requests for events: each asks from the
// size of the vault's store, so its time is when the vault had stored
// everything before it.
type pullRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	asks []pullAsk
	max  uint64
}

type pullAsk struct {
	from uint64
	at   time.Time // the request went out
	done time.Time // the answer was read (its body closed)
}

func (p *pullRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(req.URL.Path, "/replicate/events") {
		return p.next.RoundTrip(req)
	}
	from, err := strconv.ParseUint(req.URL.Query().Get("from"), 10, 64)
	if err != nil {
		return p.next.RoundTrip(req)
	}
	p.mu.Lock()
	i := len(p.asks)
	p.asks = append(p.asks, pullAsk{from: from, at: time.Now()})
	p.max = max(p.max, from)
	p.mu.Unlock()
	resp, err := p.next.RoundTrip(req)
	if err == nil {
		resp.Body = &recordedBody{ReadCloser: resp.Body, done: func() {
			p.mu.Lock()
			if p.asks[i].done.IsZero() {
				p.asks[i].done = time.Now()
			}
			p.mu.Unlock()
		}}
	}
	return resp, err
}

func (p *pullRecorder) all() []pullAsk {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.asks)
}

// waitFor waits until the vault asks from n or later: it holds n events.
func (p *pullRecorder) waitFor(ctx context.Context, n uint64, limit time.Duration, vdone <-chan struct{}) error {
	end := time.Now().Add(limit)
	for {
		p.mu.Lock()
		got := p.max
		p.mu.Unlock()
		if got >= n {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("it holds %d of %d events after %s", got, n, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-vdone:
			return errVaultStopped
		case <-time.After(2 * time.Millisecond):
		}
	}
}

var errVaultStopped = errors.New("the vault stopped")

type recordedBody struct {
	io.ReadCloser
	done func()
}

func (b *recordedBody) Close() error {
	b.done()
	return b.ReadCloser.Close()
}
