// Package enginetest opens the real storage engines for the tests of the features and of
// the layers above them: each test gets a fresh embedded engine in a temporary directory,
// or a fresh database on the MongoDB engine's test server (an in-process FerretDB, or the
// MongoDB named by TIDELINE_TEST_MONGODB_URI; see storetest.MongoURI). It is the one place
// those tests open engines, so they all run on both the same way.
package enginetest

import (
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/mongo"
	"github.com/tideline-dev/tideline/store/sqlite"
	"github.com/tideline-dev/tideline/store/storetest"
)

// Engine is an opened engine with every feature's store.
type Engine = storetest.Engine

// The engines' names, as tideline.StoreInfo.Engine reports them.
const (
	SQLite  = "sqlite"
	MongoDB = "mongodb"
)

// Names are the engines every feature's tests run on: both, except SQLite alone under the
// race detector on FerretDB (storetest.Engines says why).
var Names = storetest.Engines()

// Each runs test once per engine, as a subtest named after it.
func Each(t *testing.T, test func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range Names {
		t.Run(engine, func(t *testing.T) { test(t, engine) })
	}
}

// Open opens a fresh, empty engine called engine (SQLite or MongoDB) whose clock is clock
// (nil: the system clock), closed when the test ends.
func Open(t testing.TB, engine string, clock tideline.Clock) Engine {
	t.Helper()
	var e Engine
	var err error
	switch engine {
	case SQLite:
		e, err = sqlite.Open(t.Context(), t.TempDir(), sqlite.Options{Clock: clock})
	case MongoDB:
		e, err = mongo.Open(t.Context(), mongo.Options{URI: storetest.MongoURI(t), Database: NewDatabaseName(), Clock: clock})
	default:
		t.Fatalf("enginetest: unknown engine %q", engine)
	}
	if err != nil {
		t.Fatalf("open the %s engine: %v", engine, err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// NewDatabaseName is a MongoDB database name no other test uses.
func NewDatabaseName() string {
	return "t_" + strings.ReplaceAll(tideline.NewID(), "-", "")[:24]
}

// WantCode fails the test unless err carries code (tideline.ErrorCode).
func WantCode(t testing.TB, err error, code tideline.Code) {
	t.Helper()
	if got := tideline.ErrorCode(err); got != code {
		t.Fatalf("code %q, want %q (err: %v)", got, code, err)
	}
}
