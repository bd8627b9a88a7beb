package push

import "sync/atomic"

// Stats are the push service's counters since it started, for metrics (cmd/api exports
// them as tideline_push_*).
type Stats struct {
	Sent, Failed, Pruned, Retried, Cancelled int64 // delivery outcomes recorded
	ProviderErrors                           int64 // batches the provider could not send at all
	WakeUps                                  int64 // silent sync wake-ups sent
	CampaignsStarted, CampaignsCompleted     int64
}

type counters struct {
	sent, failed, pruned, retried, cancelled atomic.Int64
	providerErrors, wakeUps                  atomic.Int64
	started, completed                       atomic.Int64
}

// Stats returns the service's counters.
func (s *Service) Stats() Stats {
	c := &s.counters
	return Stats{Sent: c.sent.Load(), Failed: c.failed.Load(), Pruned: c.pruned.Load(), Retried: c.retried.Load(),
		Cancelled: c.cancelled.Load(), ProviderErrors: c.providerErrors.Load(), WakeUps: c.wakeUps.Load(),
		CampaignsStarted: c.started.Load(), CampaignsCompleted: c.completed.Load()}
}

func (c *counters) count(outcomes []Outcome) {
	for _, o := range outcomes {
		switch o.Status {
		case DeliverySent:
			c.sent.Add(1)
		case DeliveryFailed:
			c.failed.Add(1)
		case DeliveryPruned:
			c.pruned.Add(1)
		case DeliveryPending:
			c.retried.Add(1)
		case DeliveryCancelled:
			c.cancelled.Add(1)
		}
	}
}
