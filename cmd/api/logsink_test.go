package main

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// logSink is an io.Writer that collects a server's JSON log lines and lets a test wait
// for a record by its message, without sleeping.
type logSink struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	records []map[string]any
	changed chan struct{} // closed and replaced on every new record
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.all.Write(p)
	s.partial = append(s.partial, p...)
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		var rec map[string]any
		if json.Unmarshal(s.partial[:i], &rec) == nil {
			s.records = append(s.records, rec)
			close(s.changed)
			s.changed = make(chan struct{})
		}
		s.partial = s.partial[i+1:]
	}
	return len(p), nil
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.String()
}

// waitFor returns the first record whose msg is msg, failing the test when done closes
// (the writer went away) or a minute passes first.
func (s *logSink) waitFor(t testing.TB, msg string, done <-chan struct{}) map[string]any {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		s.mu.Lock()
		for _, rec := range s.records {
			if rec["msg"] == msg {
				s.mu.Unlock()
				return rec
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-done:
			if rec := s.find(msg); rec != nil {
				return rec
			}
			t.Fatalf("gone before logging %q:\n%s", msg, s)
		case <-timeout:
			t.Fatalf("no %q in the log within a minute:\n%s", msg, s)
		}
	}
}

func (s *logSink) find(msg string) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rec := range s.records {
		if rec["msg"] == msg {
			return rec
		}
	}
	return nil
}
