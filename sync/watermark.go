package sync

import (
	"context"
	stdsync "sync"
	"sync/atomic"
)

// marks is this node's copy of the watermark, so that a pull costs no read of it.
//
// The node's hub is its one advancer: every HubConfig.PollEvery, and at once after a push
// through this node, it reads the watermark from the store (which advances it) and pokes
// the streams whose buckets changed. A pull serves up to the last watermark the hub read,
// which is as correct as a fresh one (every change at or below it is visible and stays
// so; nothing new can appear below it), only older by at most a poll: a change written
// through another node since is served at the next pull, and its poke comes from the very
// poll that moves the copy past it, so a poked client finds it.
//
// Two exceptions read the store instead. A pull after a commit through this node that the
// copy may not include (commits counts them; asOf is the count when the read behind the
// copy began), so that a client that pushed and then pulls through the same node gets its
// own changes at once. And a node whose hub has not polled, or whose last poll failed.
type marks struct {
	commits atomic.Int64 // commits through this node that wrote something

	mu   stdsync.Mutex
	w    int64
	asOf int64 // the copy includes every local commit counted up to asOf
	ok   bool  // the hub keeps the copy fresh
}

// note records a watermark read from the store, which began when commits was asOf.
func (m *marks) note(w, asOf int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.w, m.asOf = max(m.w, w), max(m.asOf, asOf) // the higher includes all the lower did
}

// setFresh says whether the hub keeps the copy fresh (it polled; its poll failed or it
// stopped).
func (m *marks) setFresh(ok bool) {
	m.mu.Lock()
	m.ok = ok
	m.mu.Unlock()
}

// cached returns the copy when a pull may use it.
func (m *marks) cached() (int64, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.w, m.ok && m.asOf >= m.commits.Load()
}

// read reads the watermark from the store (which advances it) and records it.
func (s *Service) readWatermark(ctx context.Context) (int64, error) {
	asOf := s.marks.commits.Load()
	w, err := s.store.Watermark(ctx)
	if err == nil {
		s.marks.note(w, asOf)
	}
	return w, err
}

// watermark is the watermark a pull serves up to: this node's copy when it may be used,
// else a fresh read.
func (s *Service) watermark(ctx context.Context) (int64, error) {
	if w, ok := s.marks.cached(); ok {
		return w, nil
	}
	return s.readWatermark(ctx)
}

// commit commits c and counts it when it wrote something, so that the next pull through
// this node reads a watermark that includes it.
func (s *Service) commit(ctx context.Context, c Commit) ([]CommitResult, error) {
	res, err := s.store.Store.Commit(ctx, c) // the one call (see storeNoCommit)
	for _, r := range res {
		if r.Seq > 0 {
			s.marks.commits.Add(1)
			break
		}
	}
	return res, err
}
