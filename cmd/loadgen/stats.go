package main

import (
	"math"
	"slices"
	"sync"
	"time"
)

// samples collects latencies; percentiles are taken from the sorted slice (nearest rank),
// exact for the sample sizes a run produces (a few hundred thousand at most).
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

// Latency is the summary of one kind of latency, in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
}

func (s *samples) summary() Latency { return summarize(s.all()) }

func summarize(d []time.Duration) Latency {
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return math.Round(float64(x)/1e4) / 100 }
	if len(d) == 0 {
		return Latency{}
	}
	return Latency{Count: len(d), P50: ms(percentile(d, 50)), P95: ms(percentile(d, 95)), P99: ms(percentile(d, 99)), Max: ms(d[len(d)-1])}
}

// percentile returns the nearest-rank p-th percentile of sorted (0 < p <= 100): the
// smallest value with at least p% of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	if rank > len(sorted) {
		rank = len(sorted)
	}
	return sorted[rank-1]
}

// all is a copy of the samples.
func (s *samples) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}
