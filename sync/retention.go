package sync

import (
	"context"
	"time"
)

// DefaultRetention is how long tombstones and eviction markers are kept.
const DefaultRetention = 30 * 24 * time.Hour

// sweepLease is the lease that lets one node at a time purge.
const sweepLease = "sync-sweep"

// Sweep purges, if this node holds the sweep lease (node names it), the tombstones and
// eviction markers older than the retention window, in batches, for at most budget. A
// client whose cursor is older than what was purged syncs the affected buckets again
// (Page.ResetBuckets). It returns how many documents it purged.
func (s *Service) Sweep(ctx context.Context, node string, budget time.Duration) (int, error) {
	now := s.clock.Now()
	ok, err := s.store.AcquireLease(ctx, sweepLease, node, now, now.Add(budget+time.Minute))
	if err != nil || !ok {
		return 0, err
	}
	before := now.Add(-s.cfg.Retention)
	total := 0
	for s.clock.Now().Sub(now) < budget {
		n, err := s.store.PurgeDocuments(ctx, before, 500)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
	return total, nil
}

// RunSweeper sweeps every interval until ctx is done, logging failures.
func (s *Service) RunSweeper(ctx context.Context, node string, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx, node, interval/2); err != nil {
			s.cfg.Logger.Error("sync sweep failed", "err", err.Error())
		} else if n > 0 {
			s.cfg.Logger.Info("sync sweep purged documents", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
