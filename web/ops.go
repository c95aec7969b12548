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
		&siteCollector{s: s},
	)
}

// siteCollector reports the links between a site and its central: on a
// site, whether the central answers and what waits to be sent; on a
// central, each site's; on both, the other nodes' journals held and the
// events among them waiting for their causes, and the alerts raised.
type siteCollector struct{ s *Server }

var (
	upstreamReachable = prometheus.NewDesc("kavach_upstream_reachable",
		"1 while this site node's central answers, 0 while it works alone.", nil, nil)
	upstreamPending = prometheus.NewDesc("kavach_upstream_pending_events",
		"This site's own events its central does not hold yet.", nil, nil)
	upstreamOldest = prometheus.NewDesc("kavach_upstream_oldest_pending_seconds",
		"Age of the oldest own event the central does not hold yet; 0 when it holds them all.", nil, nil)
	siteReachable = prometheus.NewDesc("kavach_site_reachable",
		"1 while the site node has been in touch within the last seconds.", []string{"site"}, nil)
	sitePending = prometheus.NewDesc("kavach_site_pending_events",
		"The site's events this central does not hold yet, as the site last said.", []string{"site"}, nil)
	siteSinceSeen = prometheus.NewDesc("kavach_site_seconds_since_seen",
		"Seconds since the site node was last in touch (NaN if never).", []string{"site"}, nil)
	replicaHeld = prometheus.NewDesc("kavach_replica_events",
		"Events of another node's journal this node holds.", []string{"origin"}, nil)
	replicaWaiting = prometheus.NewDesc("kavach_replica_waiting_events",
		"Events held of another node that wait for their causes (events of a third node not here yet).", []string{"origin"}, nil)
	alertsRaised = prometheus.NewDesc("kavach_alerts",
		"Alerts this node raised (journaled), by kind; alert on any increase.", []string{"kind"}, nil)
)

func (c *siteCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{upstreamReachable, upstreamPending, upstreamOldest, siteReachable, sitePending, siteSinceSeen, replicaHeld, replicaWaiting, alertsRaised} {
		ch <- d
	}
}

func (c *siteCollector) Collect(ch chan<- prometheus.Metric) {
	ctx := context.Background()
	s := c.s
	if s.link != nil {
		st := s.link()
		reachable, oldest := 0.0, 0.0
		if st.Reachable {
			reachable = 1
		}
		if !st.Oldest.IsZero() {
			oldest = time.Since(st.Oldest).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(upstreamReachable, prometheus.GaugeValue, reachable)
		ch <- prometheus.MustNewConstMetric(upstreamPending, prometheus.GaugeValue, float64(st.Pending))
		ch <- prometheus.MustNewConstMetric(upstreamOldest, prometheus.GaugeValue, oldest)
	} else if sites, err := node.Sites(ctx, s.n.DB()); err == nil {
		held, _ := s.n.Origins(ctx)
		for _, site := range sites {
			seen := s.sites.get(site.Code)
			reachable, since := 0.0, math.NaN()
			if !seen.lastSeen.IsZero() {
				since = time.Since(seen.lastSeen).Seconds()
			}
			if seen.inflight > 0 || since < siteSeenFor.Seconds() {
				reachable = 1
			}
			pending := 0.0
			if seen.own > held[site.Code] {
				pending = float64(seen.own - held[site.Code])
			}
			ch <- prometheus.MustNewConstMetric(siteReachable, prometheus.GaugeValue, reachable, site.Code)
			ch <- prometheus.MustNewConstMetric(sitePending, prometheus.GaugeValue, pending, site.Code)
			ch <- prometheus.MustNewConstMetric(siteSinceSeen, prometheus.GaugeValue, since, site.Code)
		}
	}
	if reps, err := s.n.Replicas(ctx); err == nil {
		for _, r := range reps {
			ch <- prometheus.MustNewConstMetric(replicaHeld, prometheus.GaugeValue, float64(r.Size), r.Origin)
			ch <- prometheus.MustNewConstMetric(replicaWaiting, prometheus.GaugeValue, float64(r.Size-r.Applied), r.Origin)
		}
	}
	if counts, err := node.AlertCounts(ctx, s.n.DB(), s.n.Info().NodeCode); err == nil {
		for _, kind := range node.AlertKinds {
			if _, ok := counts[kind]; !ok {
				counts[kind] = 0 // a series from 0, or its first alert is no increase
			}
		}
		for kind, n := range counts {
			ch <- prometheus.MustNewConstMetric(alertsRaised, prometheus.GaugeValue, float64(n), kind)
		}
	}
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
