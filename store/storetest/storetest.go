// Package storetest is the conformance suite that every storage engine runs: the same cases,
// against real storage, so that the embedded engine and the MongoDB engine keep the same
// promises. An engine's test calls Run with a Harness that opens it.
//
// It also starts the MongoDB engine's test server: an in-process FerretDB v1 on SQLite
// (StartFerretDB), or the real MongoDB named by TIDELINE_TEST_MONGODB_URI (MongoURI).
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/sync"
)

// Engine is what the conformance suite asks of every engine. Each feature's cases ask for
// that feature's store too.
type Engine interface {
	Ping(ctx context.Context) error
	Info(ctx context.Context) (tideline.StoreInfo, error)
	Close() error
	// Auth returns the engine's auth store.
	Auth() auth.Store
	// Sync returns the engine's sync store.
	Sync() sync.Store
	// Push returns the engine's push store.
	Push() push.Store
	// Secrets returns the engine's one store of server secrets.
	Secrets() tideline.SecretStore
	// Files returns the engine's file store.
	Files() files.Store
}

// Harness opens one engine for the suite.
type Harness struct {
	// Engine is the engine's name as StoreInfo reports it.
	Engine string
	// LatestSchema is the schema version the engine migrates to.
	LatestSchema int
	// NewLocation returns a new, empty place for data: a directory, a database name.
	NewLocation func(t *testing.T) string
	// Open opens the engine on the data at loc, creating it if needed. Opening a location
	// again after Close finds the same data.
	Open func(ctx context.Context, loc string, clock tideline.Clock) (Engine, error)
	// SetSchemaVersion records at loc that schema version v was applied, as a newer binary
	// would. The engine at loc is closed when it is called.
	SetSchemaVersion func(t *testing.T, loc string, v int)
}

// Epoch is where the suite's manual clocks start.
var Epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Run runs every conformance case against the harness's engine.
func Run(t *testing.T, h Harness) {
	t.Run("Foundation", func(t *testing.T) { runFoundation(t, h) })
	t.Run("Secrets", func(t *testing.T) { runSecrets(t, h) })
	t.Run("Auth", func(t *testing.T) { runAuth(t, h) })
	t.Run("Sync", func(t *testing.T) { runSync(t, h) })
	t.Run("Push", func(t *testing.T) { runPush(t, h) })
	t.Run("Files", func(t *testing.T) { runFiles(t, h) })
	t.Run("FilesSweep", func(t *testing.T) { runFilesSweep(t, h) })
}

// open opens the engine at loc and closes it when the test ends.
func open(t *testing.T, h Harness, loc string, clock tideline.Clock) Engine {
	t.Helper()
	e, err := h.Open(t.Context(), loc, clock)
	if err != nil {
		t.Fatalf("open %s at %s: %v", h.Engine, loc, err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}
