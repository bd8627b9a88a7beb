package app_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/internal/testkit"
)

// gatedEngine is a real engine whose Ping, once entered, waits to be released: it holds a
// /readyz request in its handler for as long as the test needs.
type gatedEngine struct {
	app.Engine
	entered chan struct{}
	release chan struct{}
}

func (g gatedEngine) Ping(ctx context.Context) error {
	g.entered <- struct{}{}
	<-g.release
	return g.Engine.Ping(ctx)
}

// startRun runs the app in this process on a real embedded engine whose pings are gated,
// and returns the gate, the log, the base URL and Run's result.
func startRun(t *testing.T, shutdownTimeout time.Duration) (gatedEngine, *testkit.LogSink, string, <-chan error, context.CancelFunc) {
	t.Helper()
	logs := testkit.NewLogSink()
	cfg := app.Config{Addr: "127.0.0.1:0", DataDir: t.TempDir(), ShutdownTimeout: shutdownTimeout, Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	raw, err := app.Open(t.Context(), &cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	gate := gatedEngine{Engine: raw, entered: make(chan struct{}), release: make(chan struct{})}
	a, err := app.NewOn(t.Context(), cfg, gate)
	if err != nil {
		raw.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		result <- a.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-stopped; a.Close() })
	up := logs.WaitFor(t, "tideline listening", stopped)
	return gate, logs, up["addr"].(string), result, cancel
}

func TestShutdownFinishesInFlightRequests(t *testing.T) {
	gate, logs, base, result, signal := startRun(t, time.Minute)
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
	logs.WaitFor(t, "shutting down", nil)
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("a new request was accepted after shutdown began")
	}
	select {
	case err := <-result:
		t.Fatalf("Run returned (%v) while a request was in flight", err)
	default:
	}
	close(gate.release)
	if code := <-answered; code != http.StatusOK {
		t.Fatalf("the in-flight request got %d", code)
	}
	if err := <-result; err != nil {
		t.Fatalf("Run: %v", err)
	}
	logs.WaitFor(t, "stopped", nil)
}

func TestShutdownTimeout(t *testing.T) {
	gate, _, base, result, signal := startRun(t, 200*time.Millisecond)
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
		t.Fatalf("Run: %v, want the shutdown timeout", err)
	}
}
