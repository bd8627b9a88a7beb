package storetest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// MongoURIEnv names a real MongoDB to run the MongoDB engine's tests against instead of
// FerretDB. Each test uses its own database on it and drops nothing else.
const MongoURIEnv = "TIDELINE_TEST_MONGODB_URI"

// MongoURI returns the URI of a MongoDB wire-protocol server for the test: the one named by
// TIDELINE_TEST_MONGODB_URI when set, else a new in-process FerretDB (see StartFerretDB).
func MongoURI(t testing.TB) string {
	t.Helper()
	if uri := os.Getenv(MongoURIEnv); uri != "" {
		return uri
	}
	return StartFerretDB(t)
}

// IsFerretDB reports whether MongoURI serves the tests from FerretDB.
func IsFerretDB() bool { return os.Getenv(MongoURIEnv) == "" }

// StartFerretDB starts FerretDB v1 in this process on 127.0.0.1, storing its data with its
// SQLite handler in a directory of the test's, and stops it when the test ends. The URI it
// returns sets maxPoolSize=1: FerretDB v1 does not keep single-document updates atomic
// across concurrent connections (lost $inc, duplicate findOneAndUpdate results), and one
// connection serializes it. It is a test vehicle, never a production database.
func StartFerretDB(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	uri, stop, err := startFerretDB(dir)
	if err != nil {
		t.Fatalf("start FerretDB: %v", err)
	}
	t.Cleanup(stop)
	return uri
}

// startFerretDB starts FerretDB with its data in dir and returns its URI and a function
// that stops it and waits until it has.
func startFerretDB(dir string) (string, func(), error) {
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: "127.0.0.1:0"},
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = f.Run(ctx) })
	u, err := url.Parse(f.MongoDBURI())
	if err != nil {
		cancel()
		wg.Wait()
		return "", nil, fmt.Errorf("FerretDB URI: %w", err)
	}
	q := u.Query()
	q.Set("maxPoolSize", "1")
	u.RawQuery = q.Encode()
	return u.String(), func() { cancel(); wg.Wait() }, nil
}
