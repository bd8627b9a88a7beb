// Package testkit holds helpers for the tests of several packages: a sink that collects a
// server's JSON log lines and lets a test wait for a record by its message without
// sleeping (every new record wakes the waiters), and self-signed TLS certificates.
package testkit

import (
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// LogSink is an io.Writer of JSON log lines (slog.NewJSONHandler's output). It is safe for
// concurrent use.
type LogSink struct {
	mu      sync.Mutex
	all     bytes.Buffer
	partial []byte
	records []map[string]any
	changed chan struct{} // closed and replaced on every new record
}

// NewLogSink returns an empty LogSink.
func NewLogSink() *LogSink { return &LogSink{changed: make(chan struct{})} }

func (s *LogSink) Write(p []byte) (int, error) {
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

// String is everything written so far.
func (s *LogSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.all.String()
}

// Records returns the records whose msg is msg, in the order they were written.
func (s *LogSink) Records(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, rec := range s.records {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// WaitFor returns the first record whose msg is msg, failing the test when done closes
// (the writer went away; nil: never) or a minute passes first.
func (s *LogSink) WaitFor(t testing.TB, msg string, done <-chan struct{}) map[string]any {
	t.Helper()
	return s.WaitForN(t, msg, 1, done)[0]
}

// WaitForN returns the first n records whose msg is msg, failing the test when done closes
// or a minute passes first.
func (s *LogSink) WaitForN(t testing.TB, msg string, n int, done <-chan struct{}) []map[string]any {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		s.mu.Lock()
		changed := s.changed
		s.mu.Unlock()
		if found := s.Records(msg); len(found) >= n {
			return found[:n]
		}
		select {
		case <-changed:
		case <-done:
			if found := s.Records(msg); len(found) >= n {
				return found[:n]
			}
			t.Fatalf("gone before logging %q %d times:\n%s", msg, n, s)
		case <-timeout:
			t.Fatalf("%q is not in the log %d times within a minute:\n%s", msg, n, s)
		}
	}
}
