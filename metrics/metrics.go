// Package metrics keeps the few counters, gauges and latency histograms that
// Kavach exposes at /metrics, and writes them in the Prometheus text format.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"sync"
	"time"
)

// Buckets are the latency histogram's upper bounds in seconds.
var Buckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

type histogram struct {
	counts []uint64 // per bucket, not cumulative
	sum    float64
	count  uint64
}

// Registry holds the metrics of one process.
type Registry struct {
	mu     sync.Mutex
	hists  map[string]map[string]*histogram // name → label set → histogram
	counts map[string]map[string]uint64
	gauges []gauge
	help   map[string]string
}

type gauge struct {
	name, help string
	f          func() float64
	labeled    func() map[string]float64 // label set → value
}

// New returns an empty registry.
func New() *Registry {
	return &Registry{hists: map[string]map[string]*histogram{}, counts: map[string]map[string]uint64{}, help: map[string]string{}}
}

// Labels formats label pairs: Labels("route", "GET /x", "code", "200").
func Labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", kv[i], kv[i+1])
	}
	return b.String()
}

// Observe adds a duration to the histogram name{labels}.
func (r *Registry) Observe(name, help, labels string, d time.Duration) {
	s := d.Seconds()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.help[name] = help
	m := r.hists[name]
	if m == nil {
		m = map[string]*histogram{}
		r.hists[name] = m
	}
	h := m[labels]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(Buckets)+1)}
		m[labels] = h
	}
	i := sort.SearchFloat64s(Buckets, s)
	h.counts[i]++
	h.sum += s
	h.count++
}

// Inc adds one to the counter name{labels}.
func (r *Registry) Inc(name, help, labels string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.help[name] = help
	if r.counts[name] == nil {
		r.counts[name] = map[string]uint64{}
	}
	r.counts[name][labels]++
}

// Gauge registers a value read when metrics are written.
func (r *Registry) Gauge(name, help string, f func() float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges = append(r.gauges, gauge{name: name, help: help, f: f})
}

func withLabels(name, labels, extra string) string {
	switch {
	case labels == "" && extra == "":
		return name
	case labels == "":
		return name + "{" + extra + "}"
	case extra == "":
		return name + "{" + labels + "}"
	}
	return name + "{" + labels + "," + extra + "}"
}

func fmtFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return fmt.Sprintf("%g", f)
}

// LabeledGauge registers a family of gauges read when metrics are written;
// f returns each label set (as Labels makes it) with its value.
func (r *Registry) LabeledGauge(name, help string, f func() map[string]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gauges = append(r.gauges, gauge{name: name, help: help, labeled: f})
}

// WriteText writes every metric in the Prometheus text exposition format.
func (r *Registry) WriteText(w io.Writer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, g := range r.gauges {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n", g.name, g.help, g.name)
		if g.labeled == nil {
			fmt.Fprintf(&b, "%s %s\n", g.name, fmtFloat(g.f()))
			continue
		}
		vals := g.labeled()
		for _, l := range sortedKeys(vals) {
			fmt.Fprintf(&b, "%s %s\n", withLabels(g.name, l, ""), fmtFloat(vals[l]))
		}
	}
	names := make([]string, 0, len(r.counts))
	for n := range r.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", n, r.help[n], n)
		for _, l := range sortedKeys(r.counts[n]) {
			fmt.Fprintf(&b, "%s %d\n", withLabels(n, l, ""), r.counts[n][l])
		}
	}
	names = names[:0]
	for n := range r.hists {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s histogram\n", n, r.help[n], n)
		for _, l := range sortedKeys(r.hists[n]) {
			h := r.hists[n][l]
			var cum uint64
			for i, ub := range append(Buckets, math.Inf(1)) {
				cum += h.counts[i]
				fmt.Fprintf(&b, "%s %d\n", withLabels(n+"_bucket", l, fmt.Sprintf("le=%q", fmtFloat(ub))), cum)
			}
			fmt.Fprintf(&b, "%s %g\n%s %d\n", withLabels(n+"_sum", l, ""), h.sum, withLabels(n+"_count", l, ""), h.count)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
