package app

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline/push"
)

// registerPushMetrics exports the push service's counters as tideline_push_* (see
// docs/operations.md for the alerts built on them).
func registerPushMetrics(reg prometheus.Registerer, svc *push.Service) {
	outcome := func(name string, get func(push.Stats) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tideline_push_deliveries_total", Help: "Campaign deliveries by outcome recorded on this node (retried: a retry was scheduled).",
			ConstLabels: prometheus.Labels{"outcome": name},
		}, func() float64 { return float64(get(svc.Stats())) })
	}
	reg.MustRegister(
		outcome("sent", func(s push.Stats) int64 { return s.Sent }),
		outcome("failed", func(s push.Stats) int64 { return s.Failed }),
		outcome("pruned", func(s push.Stats) int64 { return s.Pruned }),
		outcome("retried", func(s push.Stats) int64 { return s.Retried }),
		outcome("cancelled", func(s push.Stats) int64 { return s.Cancelled }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_push_provider_errors_total",
			Help: "Batches the push provider could not send at all (credentials refused, provider unreachable)."},
			func() float64 { return float64(svc.Stats().ProviderErrors) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_push_wakeups_total",
			Help: "Silent sync wake-ups sent."},
			func() float64 { return float64(svc.Stats().WakeUps) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_push_campaigns_started_total",
			Help: "Campaigns whose audience this node resolved."},
			func() float64 { return float64(svc.Stats().CampaignsStarted) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "tideline_push_campaigns_completed_total",
			Help: "Campaigns this node saw complete."},
			func() float64 { return float64(svc.Stats().CampaignsCompleted) }),
	)
}
