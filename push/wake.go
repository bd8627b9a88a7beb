package push

import (
	"context"
	"slices"
	"sync"
	"time"
)

// SyncWakeData is the data of a silent sync wake-up: the SDKs sync when they get it.
var SyncWakeData = map[string]string{"tideline": "sync"}

// maxWaitingWake bounds the users waiting for a wake-up: past it, Notify drops users (a
// wake-up is a hint; the app syncs when it next opens anyway).
const maxWaitingWake = 100000

// waker sends silent sync wake-ups, coalesced and rate limited per device.
type waker struct {
	s *Service

	mu      sync.Mutex
	waiting map[string]struct{}  // users to wake
	woken   map[string]time.Time // device server id -> last wake-up
	ready   chan struct{}        // a user is waiting
}

func newWaker(s *Service) *waker {
	return &waker{s: s, waiting: map[string]struct{}{}, woken: map[string]time.Time{}, ready: make(chan struct{}, 1)}
}

// Notify implements sync.Notifier: the users' devices get a silent push that makes the app
// sync (data only: APNs content-available, Android high priority), at most one per device
// per Config.WakeEvery. It does not wait: Run sends them.
func (s *Service) Notify(_ context.Context, userIDs []string) {
	w := s.waker
	w.mu.Lock()
	for _, u := range userIDs {
		if len(w.waiting) >= maxWaitingWake {
			break
		}
		w.waiting[u] = struct{}{}
	}
	w.mu.Unlock()
	select {
	case w.ready <- struct{}{}:
	default:
	}
}

// runWaker sends the waiting wake-ups until ctx ends.
func (s *Service) runWaker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.waker.ready:
		}
		if err := s.WakeWaiting(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.WarnContext(ctx, "push: sync wake-up", "err", err)
		}
	}
}

// WakeWaiting sends the wake-ups waiting now (Run calls it; tests call it directly).
func (s *Service) WakeWaiting(ctx context.Context) error {
	w := s.waker
	w.mu.Lock()
	users := make([]string, 0, len(w.waiting))
	for u := range w.waiting {
		users = append(users, u)
	}
	clear(w.waiting)
	w.mu.Unlock()
	slices.Sort(users)
	var msgs []Message
	for _, u := range users {
		ds, err := s.store.ListDevices(ctx, u)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if d.PushToken != "" && w.due(d.ID, s.clock.Now(), s.cfg.WakeEvery) {
				msgs = append(msgs, Message{Token: d.PushToken, Platform: d.Platform, Data: SyncWakeData,
					Silent: true, Priority: "high", CollapseKey: "tideline-sync", TTL: time.Hour})
			}
		}
	}
	for len(msgs) > 0 {
		batch := msgs[:min(len(msgs), MaxBatch)]
		msgs = msgs[len(batch):]
		sctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
		results, err := s.cfg.Provider.Send(sctx, batch)
		cancel()
		if err != nil {
			s.counters.providerErrors.Add(1)
			return err // a wake-up is a hint: no retry
		}
		s.counters.wakeUps.Add(int64(len(batch)))
		for i, r := range results {
			if r.Outcome == ResultUnregistered {
				if err := s.store.PruneToken(ctx, batch[i].Token); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// due says whether the device may be woken at now, and if so notes that it is.
func (w *waker) due(device string, now time.Time, every time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if last, ok := w.woken[device]; ok && now.Sub(last) < every {
		return false
	}
	if len(w.woken) >= maxWaitingWake { // forget old entries: memory stays bounded
		for d, at := range w.woken {
			if now.Sub(at) >= every {
				delete(w.woken, d)
			}
		}
	}
	w.woken[device] = now
	return true
}
