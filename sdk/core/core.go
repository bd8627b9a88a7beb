// Package core is the Tideline client core that every SDK shares: the local cache's
// schema (schema.sql), its named statements (statements.sql) and the conformance scenarios
// (conformance/*.json) every SDK must pass. The Go SDK embeds them from here; the Swift and
// Flutter SDKs copy the same files. See docs/sdk-core.md.
package core

import (
	"embed"
	"fmt"
	"strings"
)

//go:embed schema.sql statements.sql
var files embed.FS

//go:embed conformance/*.json
var Scenarios embed.FS

// Schema is schema.sql: run it (idempotent) when a local database opens.
var Schema = mustRead("schema.sql")

// Statements are the named statements of statements.sql, by name.
var Statements = parse(mustRead("statements.sql"))

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
