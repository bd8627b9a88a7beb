// Package core is the Tideline client core that every SDK shares: the local cache's
// numbered migrations (migrations/*.sql), its named statements (statements.sql), its
// settings (core.json) and the conformance scenarios (conformance/*.json, with their JSON
// Schema) every SDK must pass. The Go SDK embeds them from here; the Swift and Flutter
// SDKs embed the same files. docs/sdk-core.md is the specification they implement.
package core

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

//go:embed statements.sql core.json migrations/*.sql
var files embed.FS

// Scenarios holds conformance/*.json and conformance/scenario.schema.json.
//
//go:embed conformance
var Scenarios embed.FS

// Statements are the named statements of statements.sql, by name.
var Statements = parse(mustRead("statements.sql"))

// Migrations are migrations/NNN_*.sql in order: Migrations[i] brings a cache from version
// i to version i+1 (PRAGMA user_version).
var Migrations = migrations()

// Settings are core.json: the cache version, the SQLite versions and the sync limits.
var Settings = settings()

// Config is the shape of core.json.
type Config struct {
	CacheVersion int `json:"cacheVersion"`
	SQLite       struct {
		Minimum string `json:"minimum"`
		Pinned  string `json:"pinned"`
	} `json:"sqlite"`
	Push struct {
		MaxMutations int `json:"maxMutations"`
		MaxBytes     int `json:"maxBytes"`
	} `json:"push"`
	Pull struct {
		Limit int `json:"limit"`
	} `json:"pull"`
	Files struct {
		// CacheBytes is the download cache's default limit (unpinned files).
		CacheBytes int64 `json:"cacheBytes"`
		// PartialMaxAgeMs is how long a cut download's bytes are kept without being
		// resumed (dropped at open when older).
		PartialMaxAgeMs int64 `json:"partialMaxAgeMs"`
	} `json:"files"`
}

func settings() Config {
	var c Config
	if err := json.Unmarshal([]byte(mustRead("core.json")), &c); err != nil {
		panic("sdk/core: core.json: " + err.Error())
	}
	if c.CacheVersion != len(Migrations) {
		panic(fmt.Sprintf("sdk/core: core.json says cache version %d, migrations/ has %d", c.CacheVersion, len(Migrations)))
	}
	return c
}

func migrations() []string {
	names, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		panic(err)
	}
	out := make([]string, len(names))
	for i, n := range names { // fs.Glob sorts: 001_, 002_, ...
		want := fmt.Sprintf("migrations/%03d_", i+1)
		if !strings.HasPrefix(n, want) {
			panic(fmt.Sprintf("sdk/core: migration %s, want %s*", n, want))
		}
		out[i] = mustRead(n)
	}
	return out
}

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// parse splits the file at its "-- name: x" lines; comments before a statement's SQL stay
// with it (SQLite ignores them).
func parse(src string) map[string]string {
	out := map[string]string{}
	name := ""
	var body strings.Builder
	flush := func() {
		if name != "" {
			out[name] = strings.TrimSpace(body.String())
		}
		body.Reset()
	}
	for line := range strings.Lines(src) {
		if n, ok := strings.CutPrefix(strings.TrimSpace(line), "-- name: "); ok {
			flush()
			name = strings.TrimSpace(n)
			if _, dup := out[name]; dup {
				panic(fmt.Sprintf("statements.sql: %q named twice", name))
			}
			continue
		}
		if name != "" {
			body.WriteString(line)
		}
	}
	flush()
	return out
}

// Statement returns the named statement; it panics on an unknown name (a bug).
func Statement(name string) string {
	s, ok := Statements[name]
	if !ok {
		panic("sdk/core: no statement " + name)
	}
	return s
}

// VersionAtLeast reports whether the SQLite version v ("3.45.1") is at least min.
func VersionAtLeast(v, min string) bool {
	a, b := versionParts(v), versionParts(min)
	for i := range 3 {
		if a[i] != b[i] {
			return a[i] > b[i]
		}
	}
	return true
}

func versionParts(v string) [3]int {
	var out [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}
