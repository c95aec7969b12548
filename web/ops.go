package web

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kavach/access"
	"kavach/node"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if err := s.n.DB().PingContext(r.Context()); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

// latencyBuckets are the request latency histogram's upper bounds, seconds.
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

// newMetrics makes the server's Prometheus registry: request latency by
// route, the journal and its checkpoints, each registered vault's backups,
// the process and Go runtime. client_golang writes the exposition, so no
// value (a vault's name, a route) can break its format.
func (s *Server) newMetrics() {
	s.registry = prometheus.NewRegistry()
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "kavach_http_request_duration_seconds", Help: "Latency of HTTP requests by route.", Buckets: latencyBuckets,
	}, []string{"route"})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	s.registry.MustRegister(
		s.latency,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("kavach_journal_events", "Events in the node's journal.", func() float64 { return float64(s.n.Status().Events) }),
		gauge("kavach_checkpoint_size", "Events covered by the latest signed checkpoint.", func() float64 { return float64(s.n.Status().CheckpointSize) }),
		gauge("kavach_seconds_since_checkpoint", "Seconds since the latest signed checkpoint.", func() float64 {
			return time.Since(s.n.Status().CheckpointTime).Seconds()
		}),
		gauge("kavach_uptime_seconds", "Seconds since this process started serving.", func() float64 { return time.Since(s.started).Seconds() }),
		&vaultCollector{n: s.n},
	)
}

// vaultCollector reports each registered vault's backups, read at every
// scrape.
type vaultCollector struct{ n *node.Node }

var (
	vaultBackedUp = prometheus.NewDesc("kavach_vault_backed_up_events",
		"Events each vault has confirmed it verified and stored.", []string{"vault"}, nil)
	vaultSince = prometheus.NewDesc("kavach_vault_seconds_since_backup",
		"Seconds since each vault last confirmed a backup (it grows while the node is quiet; alert on kavach_vault_unbacked_seconds).", []string{"vault"}, nil)
	vaultUnbackedEvents = prometheus.NewDesc("kavach_vault_unbacked_events",
		"Events each vault has not yet confirmed.", []string{"vault"}, nil)
	vaultUnbackedSeconds = prometheus.NewDesc("kavach_vault_unbacked_seconds",
		"Age of the oldest event each vault has not yet confirmed; 0 when it holds them all.", []string{"vault"}, nil)
)

func (c *vaultCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{vaultBackedUp, vaultSince, vaultUnbackedEvents, vaultUnbackedSeconds} {
		ch <- d
	}
}

func (c *vaultCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	vs, err := c.n.Vaults(ctx)
	if err != nil {
		return
	}
	for _, v := range vs {
		// Unknown is NaN, never "all backed up".
		events, seconds := math.NaN(), math.NaN()
		if n, since, err := c.n.Unbacked(ctx, v); err == nil {
			events, seconds = float64(n), 0
			if !since.IsZero() {
				seconds = time.Since(since).Seconds()
			}
		}
		ch <- prometheus.MustNewConstMetric(vaultBackedUp, prometheus.GaugeValue, float64(v.Size), v.Name)
		ch <- prometheus.MustNewConstMetric(vaultSince, prometheus.GaugeValue, time.Since(v.Time).Seconds(), v.Name)
		ch <- prometheus.MustNewConstMetric(vaultUnbackedEvents, prometheus.GaugeValue, events, v.Name)
		ch <- prometheus.MustNewConstMetric(vaultUnbackedSeconds, prometheus.GaugeValue, seconds, v.Name)
	}
}

func (s *Server) metricsText(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{ErrorLog: nil}).ServeHTTP(w, r)
	return nil
}
