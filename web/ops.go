package web

import (
	"context"
	"math"
	"net/http"
	"time"

	"kavach/access"
	"kavach/metrics"
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

func (s *Server) registerGauges() {
	s.metrics.Gauge("kavach_journal_events", "Events in the node's journal.", func() float64 { return float64(s.n.Status().Events) })
	s.metrics.Gauge("kavach_checkpoint_size", "Events covered by the latest signed checkpoint.", func() float64 { return float64(s.n.Status().CheckpointSize) })
	s.metrics.Gauge("kavach_seconds_since_checkpoint", "Seconds since the latest signed checkpoint.", func() float64 {
		return time.Since(s.n.Status().CheckpointTime).Seconds()
	})
	s.metrics.LabeledGauge("kavach_vault_backed_up_events", "Events each vault has confirmed it verified and stored.", func() map[string]float64 {
		return s.vaultGauge(func(v node.VaultStatus) float64 { return float64(v.Size) })
	})
	s.metrics.LabeledGauge("kavach_vault_seconds_since_backup", "Seconds since each vault last confirmed a backup (it grows while the node is quiet; alert on kavach_vault_unbacked_seconds).", func() map[string]float64 {
		return s.vaultGauge(func(v node.VaultStatus) float64 { return time.Since(v.Time).Seconds() })
	})
	s.metrics.LabeledGauge("kavach_vault_unbacked_events", "Events each vault has not yet confirmed.", func() map[string]float64 {
		return s.vaultGauge(func(v node.VaultStatus) float64 {
			n, _, err := s.n.Unbacked(context.Background(), v)
			if err != nil {
				return math.NaN() // unknown, never "all backed up"
			}
			return float64(n)
		})
	})
	s.metrics.LabeledGauge("kavach_vault_unbacked_seconds", "Age of the oldest event each vault has not yet confirmed; 0 when it holds them all.", func() map[string]float64 {
		return s.vaultGauge(func(v node.VaultStatus) float64 {
			_, since, err := s.n.Unbacked(context.Background(), v)
			if err != nil {
				return math.NaN()
			}
			if since.IsZero() {
				return 0
			}
			return time.Since(since).Seconds()
		})
	})
	s.metrics.Gauge("kavach_uptime_seconds", "Seconds since this process started serving.", func() float64 { return time.Since(s.started).Seconds() })
}

func (s *Server) vaultGauge(f func(node.VaultStatus) float64) map[string]float64 {
	vs, err := s.n.Vaults(context.Background())
	if err != nil {
		return nil
	}
	out := map[string]float64{}
	for _, v := range vs {
		out[metrics.Labels("vault", v.Name)] = f(v)
	}
	return out
}

func (s *Server) metricsText(w http.ResponseWriter, r *http.Request, sess *access.Session) error {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	return s.metrics.WriteText(w)
}
