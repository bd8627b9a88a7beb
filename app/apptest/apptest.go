// Package apptest starts the real app for tests: the same composition root as the server
// (app.New), on a fresh embedded engine in a temporary directory or a fresh database on
// the MongoDB engine's test server, so a test exercises the wiring that ships. What tests
// need and production does not is set through app.Config's code fields only: a manual
// clock, cheap password hashing, no rate limits, a mailbox and a log sink.
package apptest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/console"
	"github.com/tideline-dev/tideline/internal/testkit"
	"github.com/tideline-dev/tideline/store/enginetest"
	"github.com/tideline-dev/tideline/store/storetest"
)

// Epoch is where an App's manual clock starts.
var Epoch = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

// Cheap are argon2id parameters that keep tests fast; the defaults are measured in
// docs/benchmarks.md.
var Cheap = auth.Argon2Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1}

// Options say how to start an App. The zero value is the embedded engine, idle.
type Options struct {
	// Engine is enginetest.SQLite (the default) or enginetest.MongoDB.
	Engine string
	// Config, when not nil, adjusts the configuration before the app is built.
	Config func(*app.Config)
	// NodeOf, when set, makes the app another node of that app's deployment: the same
	// MongoDB database and master key, its own caches and clock. Only the MongoDB engine
	// has nodes (one process owns an embedded engine's data).
	NodeOf *App
	// Now is where the manual clock starts (zero: Epoch).
	Now time.Time
	// Start runs the app's background work (the hub's polling, the push workers, the
	// sweeper), as a server does. Off, a test drives them itself (Hub.Poll, Push.Step), so
	// that what happens when is decided by the test.
	Start bool
}

// App is a started app, closed when the test ends.
type App struct {
	*app.App
	t testing.TB
	// Config is the configuration it was built with.
	Config app.Config
	// Clock is every feature's clock.
	Clock *tideline.ManualClock
	// Mail receives the emails auth sends.
	Mail *Mailbox
	// Logs collects the JSON log lines.
	Logs *testkit.LogSink
}

// Default returns the configuration apptest starts an app with on engine: a new data
// directory or database, a generated master key, the manual clock, cheap hashing, no rate
// limits, the mailbox and the log sink.
func Default(t testing.TB, engine string, clock *tideline.ManualClock, mail *Mailbox, logs *testkit.LogSink) app.Config {
	t.Helper()
	cfg := app.Config{
		DataDir:             t.TempDir(),
		ShutdownTimeout:     10 * time.Second,
		ConsoleConfirmAbove: console.DefaultConfirmAbove,
		Auth:                auth.Config{Argon2: Cheap, Limits: &auth.Limits{}},
		Clock:               clock,
		Logger:              slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Mailer:              mail,
	}
	switch engine {
	case "", enginetest.SQLite:
	case enginetest.MongoDB:
		cfg.MongoDBURI, cfg.MongoDBDatabase = storetest.MongoURI(t), enginetest.NewDatabaseName()
		cfg.MasterKey = tideline.NewMasterKey().String()
	default:
		t.Fatalf("apptest: unknown engine %q", engine)
	}
	return cfg
}

// New starts an app as opts say.
func New(t testing.TB, opts Options) *App {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = Epoch
	}
	a := &App{t: t, Clock: tideline.NewManualClock(opts.Now), Mail: NewMailbox(), Logs: testkit.NewLogSink()}
	if n := opts.NodeOf; n != nil {
		if n.Config.MongoDBURI == "" {
			t.Fatal("apptest: NodeOf names an app on the embedded engine, which has no other nodes")
		}
		a.Config = n.Config
		a.Config.Clock, a.Config.Mailer = a.Clock, a.Mail
		a.Config.Logger = slog.New(slog.NewJSONHandler(a.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		a.Config = Default(t, opts.Engine, a.Clock, a.Mail, a.Logs)
	}
	if opts.Config != nil {
		opts.Config(&a.Config)
	}
	if err := a.Config.Validate(); err != nil {
		t.Fatalf("apptest: %v", err)
	}
	var err error
	if a.App, err = app.New(t.Context(), a.Config); err != nil {
		t.Fatalf("apptest: start the app: %v", err)
	}
	t.Cleanup(func() {
		if err := a.App.Close(); err != nil {
			t.Errorf("apptest: close the app: %v", err)
		}
	})
	if opts.Start {
		a.Start()
	} else if err := a.Hub.Poll(t.Context()); err != nil { // as Hub.Run does first
		t.Fatalf("apptest: first poll of the hub: %v", err)
	}
	return a
}

// Serve serves the app's handler on a new local HTTP server, closed when the test ends,
// and returns its URL.
func (a *App) Serve() string {
	srv := httptest.NewServer(a.Handler())
	a.t.Cleanup(srv.Close)
	return srv.URL
}

// Drain runs the push workers until they have nothing to do (for an app that was not
// started).
func (a *App) Drain() {
	a.t.Helper()
	for {
		did, err := a.Push.Step(context.WithoutCancel(a.t.Context()))
		if err != nil {
			a.t.Fatal(err)
		}
		if !did {
			return
		}
	}
}

// Mailbox is an auth.Mailer that keeps the emails for the test to read.
type Mailbox struct{ ch chan auth.Email }

// NewMailbox returns an empty mailbox of up to 100 emails.
func NewMailbox() *Mailbox { return &Mailbox{ch: make(chan auth.Email, 100)} }

// Send keeps e.
func (m *Mailbox) Send(_ context.Context, e auth.Email) error { m.ch <- e; return nil }

// Next returns the next email, failing the test when none comes within 10 s.
func (m *Mailbox) Next(t testing.TB) auth.Email {
	t.Helper()
	select {
	case e := <-m.ch:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no email within 10s")
		return auth.Email{}
	}
}

// Waiting returns an email that was sent and not read yet, if any, without waiting.
func (m *Mailbox) Waiting() (auth.Email, bool) {
	select {
	case e := <-m.ch:
		return e, true
	default:
		return auth.Email{}, false
	}
}
