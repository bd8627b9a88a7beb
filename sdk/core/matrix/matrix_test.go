// Package matrix runs the client core's conformance scenarios on older SQLite versions
// than the Go SDK's own (modernc.org/sqlite, the newest of the matrix), through
// github.com/mattn/go-sqlite3, whose versions each embed one SQLite amalgamation. It is a
// module of its own so that cgo stays out of the main module; .ci/run runs it once per
// go.mod of this directory (docs/sdk-core.md "SQLite"):
//
//	go test -tags sqlite_json .                          # go.mod:       SQLite 3.32.2 (the minimum)
//	go test -tags sqlite_json -modfile go.sqlite345.mod . # SQLite 3.45.1 (the new JSON parser)
package matrix

import (
	"database/sql"
	"os"
	"testing"

	_ "github.com/mattn/go-sqlite3"
	"github.com/tideline-dev/tideline/sdk/core"
	tideline "github.com/tideline-dev/tideline/sdk/go"
	"github.com/tideline-dev/tideline/sdk/go/conformance"
)

// mattn is github.com/mattn/go-sqlite3 with the DSN parameters the core asks for.
var mattn = &tideline.Driver{Name: "sqlite3", DSN: func(path string) string {
	return "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_txlock=immediate"
}}

// TestSQLiteVersion says which SQLite this run tests, and checks it is the one .ci/run
// asked for (TIDELINE_MATRIX_SQLITE) and no older than the core's minimum.
func TestSQLiteVersion(t *testing.T) {
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	if err := db.QueryRow("SELECT sqlite_version()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	t.Logf("SQLite %s (core minimum %s, pinned %s)", v, core.Settings.SQLite.Minimum, core.Settings.SQLite.Pinned)
	if want := os.Getenv("TIDELINE_MATRIX_SQLITE"); want != "" && v != want {
		t.Fatalf("SQLite %s, want %s", v, want)
	}
	if !core.VersionAtLeast(v, core.Settings.SQLite.Minimum) {
		t.Fatalf("SQLite %s is older than the core's minimum %s", v, core.Settings.SQLite.Minimum)
	}
}

func TestScenarios(t *testing.T) { conformance.Run(t, mattn) }
