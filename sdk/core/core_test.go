package core

import (
	"strings"
	"testing"
)

func TestVersionAtLeast(t *testing.T) {
	for _, c := range []struct {
		v, min string
		want   bool
	}{
		{"3.32.0", "3.32.0", true}, {"3.32.2", "3.32.0", true}, {"3.31.1", "3.32.0", false},
		{"3.45.1", "3.32.0", true}, {"3.9.2", "3.32.0", false}, {"4.0.0", "3.32.0", true}, {"3.32", "3.32.0", true},
	} {
		if got := VersionAtLeast(c.v, c.min); got != c.want {
			t.Errorf("VersionAtLeast(%s, %s) = %v, want %v", c.v, c.min, got, c.want)
		}
	}
}

// TestStatementsBindEverything: no statement builds SQL or a JSON path from data (the
// portability rules of docs/sdk-core.md): no string concatenation onto a "$" path, and no
// RETURNING (SQLite 3.35).
func TestStatementsBindEverything(t *testing.T) {
	for name, q := range Statements {
		var code strings.Builder // the SQL without its comments
		for line := range strings.Lines(q) {
			if !strings.HasPrefix(strings.TrimSpace(line), "--") {
				code.WriteString(line)
			}
		}
		q := code.String()
		if strings.Contains(q, "'$.") || strings.Contains(q, `'$."`) || strings.Contains(q, "|| '\"'") {
			t.Errorf("%s builds a JSON path", name)
		}
		if strings.Contains(strings.ToUpper(q), "RETURNING") {
			t.Errorf("%s uses RETURNING", name)
		}
		// A comment after the last ";" is a second, empty statement to drivers that run
		// every statement of a string (mattn/go-sqlite3 then reports no columns): a
		// comment before a "-- name:" line belongs to the statement above it.
		if !strings.HasSuffix(strings.TrimSpace(Statements[name]), ";") {
			t.Errorf("%s does not end with its SQL (a comment follows it)", name)
		}
	}
	if Settings.CacheVersion != len(Migrations) || Settings.SQLite.Minimum == "" || Settings.Push.MaxBytes <= 0 {
		t.Fatalf("core.json %+v with %d migrations", Settings, len(Migrations))
	}
}
