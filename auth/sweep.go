package auth

import (
	"context"
	"time"
)

// sweepBatch is how many records of each kind one PurgeExpired call deletes.
const sweepBatch = 500

// Sweep deletes what no request can use any more (Store.PurgeExpired): refresh and action
// tokens that expired, sessions that ended more than SessionRetention ago (with their
// tokens) and audit events older than AuditRetention, a batch at a time until none is
// left. Without it, every refresh leaves a spent token behind for good (about 43 million
// a day at 500 refreshes a second). Deleting is idempotent: several nodes may sweep at
// once. It returns how many records it deleted.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.clock.Now()
	ended, audit := now.Add(-s.cfg.SessionRetention), now.Add(-s.cfg.AuditRetention)
	total := 0
	for {
		n, err := s.store.PurgeExpired(ctx, now, ended, audit, sweepBatch)
		total += n
		if err != nil || n == 0 {
			return total, err
		}
	}
}

// RunSweeper sweeps every interval until ctx ends, logging failures.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "auth: sweep of expired records", "err", err)
		} else if n > 0 {
			s.log.InfoContext(ctx, "auth: sweep deleted expired records", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
