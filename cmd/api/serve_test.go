package main

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// gatedEngine is a real engine whose Ping, once entered, waits to be released: it holds a
// /readyz request in its handler for as long as the test needs.
type gatedEngine struct {
	engine
	entered chan struct{}
	release chan struct{}
}

func (g gatedEngine) Ping(ctx context.Context) error {
	g.entered <- struct{}{}
	<-g.release
	return g.engine.Ping(ctx)
}

// startServe runs serve in this process on a real embedded engine whose pings are gated,
// and returns the gate, the log and serve's result.
func startServe(t *testing.T, shutdownTimeout time.Duration) (gatedEngine, *logSink, string, <-chan error, context.CancelFunc) {
	t.Helper()
	cfg, err := loadConfig([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--shutdown-timeout", shutdownTimeout.String()}, env(nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	gate := gatedEngine{entered: make(chan struct{}), release: make(chan struct{})}
	open := func(ctx context.Context, cfg *Config, log *slog.Logger) (engine, error) {
		e, err := openEngine(ctx, cfg, log)
		gate.engine = e
		return gate, err
	}
	logs := newLogSink()
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		result <- serve(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)), open)
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	up := logs.waitFor(t, "tideline listening", stopped)
	return gate, logs, up["addr"].(string), result, cancel
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	gate, logs, base, result, signal := startServe(t, time.Minute)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			answered <- -1
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-gate.entered // the request is in its handler
	signal()       // what SIGTERM does
	logs.waitFor(t, "shutting down", nil)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("a new request was accepted after shutdown began")
	}
	select {
	case err := <-result:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	default:
	}
	close(gate.release)
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("the in-flight request got %d", code)
	}
	if err := <-result; err != nil {
		t.Fatalf("serve: %v", err)
	}
	logs.waitFor(t, "stopped", nil)
}

func TestShutdownTimeout(t *testing.T) {
	gate, _, base, result, signal := startServe(t, 200*time.Millisecond)
	defer close(gate.release)
	go func() {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
		}
	}()
	<-gate.entered
	signal()
	err := <-result
	if err == nil || !strings.Contains(err.Error(), "did not finish within 200ms") {
		t.Fatalf("serve: %v, want the shutdown timeout", err)
	}
}
