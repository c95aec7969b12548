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
	"path/filepath"
	"slices"
	"sync"
	"time"

	"kavach/hospital"
	"kavach/node"
	"kavach/opd"
	"kavach/registration"
	"kavach/upstream"
)

// A central and a site node in this process, each served on loopback as
// kavach serve serves it, the site linked to the central as kavach serve
// --upstream links it.
type sitePair struct {
	central, site *hospital.Hospital
	link          *upstream.Link
	stopLink      func()
	closers       []func()
}

func (p *sitePair) close() {
	if p.stopLink != nil {
		p.stopLink()
	}
	for i := len(p.closers) - 1; i >= 0; i-- {
		p.closers[i]()
	}
}

// serveOn serves h on loopback and returns its URL.
func serveOn(p *sitePair, h *hospital.Hospital, link func() node.LinkStatus, logw io.Writer) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	log := slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var ws http.Handler
	if link != nil {
		s, err := h.SiteServer(log, link)
		if err != nil {
			return "", err
		}
		ws = s
	} else {
		s, err := h.Server(log)
		if err != nil {
			return "", err
		}
		ws = s
	}
	srv := &http.Server{Handler: ws}
	go srv.Serve(ln)
	p.closers = append(p.closers, func() { srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

// newSitePair makes a central (with the demo data) and a site enrolled with
// it in new directories under dir, with the site's first pull done; the
// link is not running.
func newSitePair(ctx context.Context, dir string, logw io.Writer) (*sitePair, error) {
	p := &sitePair{}
	central, err := Open(ctx, filepath.Join(dir, "central"))
	if err != nil {
		return nil, err
	}
	p.central = central
	p.closers = append(p.closers, func() { central.Close() })
	url, err := serveOn(p, central, nil, logw)
	if err != nil {
		p.close()
		return nil, err
	}
	tok, err := central.Node.AddSite(ctx, "admin", "KB", "Bench counter", 0)
	if err != nil {
		p.close()
		return nil, err
	}
	sdir := filepath.Join(dir, "site")
	init, en, err := upstream.Prepare(ctx, sdir, url, tok, nil)
	if err != nil {
		p.close()
		return nil, err
	}
	site, err := hospital.Open(ctx, node.Config{Dir: sdir, Init: init})
	if err != nil {
		p.close()
		return nil, err
	}
	p.site = site
	p.closers = append(p.closers, func() { site.Close() })
	if err := upstream.Join(ctx, site.Node, en, url); err != nil {
		p.close()
		return nil, err
	}
	_, cred, err := site.Node.UpstreamLink(ctx)
	if err != nil {
		p.close()
		return nil, err
	}
	p.link = upstream.New(site.Node, url, cred, slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := p.link.CatchUp(ctx); err != nil {
		p.close()
		return nil, err
	}
	if _, err := serveOn(p, site, p.link.Status, logw); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// run starts the link.
func (p *sitePair) run(ctx context.Context) {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.link.Run(lctx) }()
	p.stopLink = func() { cancel(); <-done; p.stopLink = nil }
}

// counterDay registers patients with an OPD visit each at h until it has
// written events new events, a few to each synced write, as a counter's
// clerks do.
func counterDay(ctx context.Context, h *hospital.Hospital, events int, seed uint64) error {
	r := rand.New(rand.NewPCG(seed, 17))
	start := h.Node.Status().Events
	for h.Node.Status().Events < start+uint64(events) {
		err := h.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			for range 8 {
				reg, err := registration.Register(tx, Patient(r))
				if err != nil {
					return err
				}
				if _, err := opd.Open(tx, opd.NewVisit{UHID: reg.Patient.UHID, Department: Department(r)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// converged waits until the central and the site hold the same events of
// every origin.
func (p *sitePair) converged(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		a, err := p.central.Node.Origins(ctx)
		if err != nil {
			return err
		}
		b, err := p.site.Node.Origins(ctx)
		if err != nil {
			return err
		}
		same := len(a) == len(b)
		for o, n := range a {
			same = same && b[o] == n
		}
		if same {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not converged within %s: central %v, site %v", limit, a, b)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// SiteCatchUpConfig sets up the catch-up benchmark.
type SiteCatchUpConfig struct {
	Events int       // events each side writes while cut off (default 15000: a busy counter's day)
	Log    io.Writer // warnings; nil to drop them
}

// SiteCatchUp measures how long a site cut off for a day takes to catch up
// once its central answers again: the site writes cfg.Events events
// (registrations with a visit each) with its link stopped, the central as
// many of its own; then the link starts, and the clock runs until both hold
// every event of both, each checked against its origin's checkpoints and
// applied to the projections, synced.
func SiteCatchUp(ctx context.Context, dir string, cfg SiteCatchUpConfig) (Result, error) {
	if cfg.Events <= 0 {
		cfg.Events = 15000
	}
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	p, err := newSitePair(ctx, dir, logw)
	if err != nil {
		return Result{}, err
	}
	defer p.close()
	var wg sync.WaitGroup
	var siteErr, centralErr error
	wg.Add(2)
	go func() { defer wg.Done(); siteErr = counterDay(ctx, p.site, cfg.Events, 1) }()
	go func() { defer wg.Done(); centralErr = counterDay(ctx, p.central, cfg.Events, 2) }()
	wg.Wait()
	if err := errors.Join(siteErr, centralErr); err != nil {
		return Result{}, err
	}
	siteEvents := p.site.Node.Status().Events
	centralEvents := p.central.Node.Status().Events
	cpu0 := processCPU()
	start := time.Now()
	p.run(ctx)
	if err := p.converged(ctx, 5*time.Minute); err != nil {
		return Result{}, err
	}
	took := time.Since(start)
	cpu := processCPU() - cpu0
	// Each side's share: when the central held all of the site's.
	n := int64(cfg.Events) * 2
	res := Result{Name: "site-catchup", Ops: n, Seconds: took.Seconds(), PerSecond: float64(n) / took.Seconds(), Unit: "events",
		Extra: map[string]any{"site_events_written": cfg.Events, "central_events_written": cfg.Events,
			"site_journal": siteEvents, "central_journal": centralEvents, "cpu_percent": 100 * cpu.Seconds() / took.Seconds()}}
	return res, nil
}

// SiteLagConfig sets up the replication lag benchmark.
type SiteLagConfig struct {
	Rate     int           // site events per second (default 1000)
	Duration time.Duration // how long to measure (default 20 s)
	Warmup   time.Duration // load before measuring (default 2 s)
	Tick     time.Duration // one synced write per tick (default 10 ms)
	Log      io.Writer
}

// SiteLag measures how far the central trails a site while they are
// linked: the site writes cfg.Rate events a second (registrations, a few
// to each synced write, one write a tick), and each event's lag runs from
// its acknowledgement at the site (committed and synced) to the moment the
// central holds it (checked, stored, applied and synced), as the central's
// commits show it.
func SiteLag(ctx context.Context, dir string, cfg SiteLagConfig) (Result, error) {
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
	logw := cfg.Log
	if logw == nil {
		logw = io.Discard
	}
	p, err := newSitePair(ctx, dir, logw)
	if err != nil {
		return Result{}, err
	}
	defer p.close()
	p.run(ctx)
	if err := p.converged(ctx, time.Minute); err != nil {
		return Result{}, err
	}
	code := p.site.Node.Info().NodeCode

	// The central's holdings of the site's journal, at each of its commits.
	type held struct {
		size uint64
		at   time.Time
	}
	var mu sync.Mutex
	var helds []held
	wctx, stopWatch := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			ch := p.central.Node.Changed()
			if o, err := p.central.Node.Origins(wctx); err == nil {
				mu.Lock()
				if len(helds) == 0 || helds[len(helds)-1].size != o[code] {
					helds = append(helds, held{o[code], time.Now()})
				}
				mu.Unlock()
			}
			select {
			case <-ch:
			case <-wctx.Done():
				return
			}
		}
	}()

	type ack struct {
		size uint64
		at   time.Time
	}
	var acks []ack
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	size := p.site.Node.Status().Events
	first := size
	tick := time.NewTicker(cfg.Tick)
	start := time.Now()
	measureFrom, measureTo := start.Add(cfg.Warmup), start.Add(cfg.Warmup+cfg.Duration)
	cpu0 := processCPU()
	var errs int64
	for now := range tick.C {
		if !now.Before(measureTo) {
			break
		}
		due := int64(time.Since(start).Seconds()*float64(cfg.Rate)) - int64(size-first)
		if due <= 0 {
			continue
		}
		k := int(min(due, int64(max(1, cfg.Rate/10))))
		pats := make([]*registration.NewPatient, k)
		for i := range pats {
			pats[i] = Patient(r)
		}
		err := p.site.Node.Do(ctx, "registration", func(tx *node.Tx) error {
			for _, np := range pats {
				if _, err := registration.Register(tx, np); err != nil {
					return err
				}
			}
			return nil
		})
		at := time.Now()
		if err != nil {
			errs++
			continue
		}
		size = p.site.Node.Status().Events
		acks = append(acks, ack{size, at})
	}
	tick.Stop()
	cpu := processCPU() - cpu0
	caught := p.converged(ctx, time.Minute)
	stopWatch()
	<-watched

	mu.Lock()
	defer mu.Unlock()
	var lats []time.Duration
	prev := first
	j := 0
	for _, a := range acks {
		if a.at.Before(measureFrom) {
			prev = a.size
			continue
		}
		for e := prev; e < a.size; e++ {
			for j < len(helds) && helds[j].size <= e {
				j++
			}
			if j < len(helds) {
				lats = append(lats, max(helds[j].at.Sub(a.at), 0))
			}
		}
		prev = a.size
	}
	slices.Sort(lats)
	secs := cfg.Duration.Seconds()
	res := Result{Name: "site-lag", Ops: int64(len(lats)), Errors: errs, Seconds: secs, PerSecond: float64(len(lats)) / secs, Unit: "events",
		P50Millis: percentile(lats, .5), P99Millis: percentile(lats, .99), MaxMillis: percentile(lats, 1),
		Extra: map[string]any{"target_events_per_second": cfg.Rate, "central_commits_seen": len(helds), "cpu_percent": 100 * cpu.Seconds() / time.Since(start).Seconds()}}
	if caught != nil {
		res.FirstError = caught.Error()
	}
	return res, nil
}
