package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
)

func harness() storetest.Harness {
	return storetest.Harness{
		Engine:       "sqlite",
		LatestSchema: migrations[len(migrations)-1].version,
		NewLocation:  func(t *testing.T) string { return t.TempDir() },
		Open: func(ctx context.Context, dir string, clock tideline.Clock) (storetest.Engine, error) {
			return Open(ctx, dir, Options{Clock: clock})
		},
		SetSchemaVersion: func(t *testing.T, dir string, v int) {
			t.Helper()
			raw := openRaw(t, dir)
			if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', 0)`, v); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// openRaw opens the database file in dir directly, bypassing the engine (and its lock).
func openRaw(t *testing.T, dir string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness())
}

func mustOpen(t *testing.T, dir string, migs []migration) *DB {
	t.Helper()
	db, err := open(t.Context(), dir, Options{Clock: tideline.NewManualClock(storetest.Epoch)}, migs)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpen(t *testing.T) {
	t.Parallel()
	t.Run("ErrDirectoryInUse", func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir, migrations)
		_, err := Open(t.Context(), dir, Options{})
		if code := tideline.ErrorCode(err); code != tideline.CodeConflict {
			t.Fatalf("second Open: code %q, want conflict (err: %v)", code, err)
		}
		if msg := tideline.ErrorMessage(err); !strings.Contains(msg, "in use by another Tideline process") || !strings.Contains(msg, "pid") {
			t.Fatalf("message %q does not explain the lock", msg)
		}
	})

	t.Run("LockReleasedOnClose", func(t *testing.T) {
		dir := t.TempDir()
		db, err := Open(t.Context(), dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		mustOpen(t, dir, migrations)
	})

	t.Run("ErrDataDirIsAFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(file, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(t.Context(), file, Options{}); err == nil {
			t.Fatal("Open on a regular file succeeded")
		}
	})

	t.Run("PragmasApplied", func(t *testing.T) {
		db := mustOpen(t, t.TempDir(), migrations)
		for _, c := range []struct {
			conn   *sql.DB
			pragma string
			want   string
		}{
			{db.write, "journal_mode", "wal"},
			{db.write, "foreign_keys", "1"},
			{db.write, "synchronous", "2"},
			{db.read, "query_only", "1"},
			{db.read, "busy_timeout", "10000"},
		} {
			var got string
			if err := c.conn.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
			}
		}
		if _, err := db.read.Exec(`INSERT INTO tideline_meta (key, value) VALUES ('x', 1)`); err == nil {
			t.Error("a reader connection could write")
		}
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	t.Run("ForwardFromOlderSchema", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpen(t, dir, migrations[:1])
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		runs := 0
		next := append(migrations[:1:1], migration{2, "add widgets", func(ctx context.Context, tx *sql.Tx, db *DB) error {
			runs++
			return execAll(`CREATE TABLE widgets (id TEXT PRIMARY KEY) STRICT`)(ctx, tx, db)
		}})
		for range 2 { // the second open must not run it again
			db = mustOpen(t, dir, next)
			info, err := db.Info(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if info.SchemaVersion != 2 {
				t.Fatalf("schema version %d, want 2", info.SchemaVersion)
			}
			if _, err := db.write.Exec(`INSERT INTO widgets (id) VALUES (?)`, tideline.NewID()); err != nil {
				t.Fatalf("migration 2 did not create its table: %v", err)
			}
			db.Close()
		}
		if runs != 1 {
			t.Fatalf("migration 2 ran %d times, want 1", runs)
		}
	})

	// Unlike the MongoDB engine's, a newer migration is refused even when it is additive:
	// an older binary on newer data is a downgrade (the message says what to run).
	t.Run("ErrNewerDataNamesTheMigration", func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir, migrations).Close()
		raw := openRaw(t, dir)
		if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'widgets', 0), (?, 'gadgets', 0)`,
			len(migrations)+1, len(migrations)+2); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		_, err := open(t.Context(), dir, Options{}, migrations)
		msg := tideline.ErrorMessage(err)
		want := fmt.Sprintf("has migration %d (widgets), applied by a newer Tideline", len(migrations)+1)
		if tideline.ErrorCode(err) != tideline.CodeUnavailable || !strings.Contains(msg, want) || !strings.Contains(msg, "restore a backup") {
			t.Fatalf("open on newer data: %v; want unavailable, saying %q and what to do", err, want)
		}
	})

	t.Run("FailedMigrationLeavesPreviousVersion", func(t *testing.T) {
		dir := t.TempDir()
		broken := append(migrations[:1:1], migration{2, "broken", execAll(
			`CREATE TABLE half (id TEXT) STRICT`,
			`THIS IS NOT SQL`,
		)})
		if _, err := open(t.Context(), dir, Options{}, broken); err == nil {
			t.Fatal("open with a broken migration succeeded")
		}
		db := mustOpen(t, dir, migrations[:1])
		info, err := db.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.SchemaVersion != 1 {
			t.Fatalf("schema version %d after a failed migration, want 1", info.SchemaVersion)
		}
		if _, err := db.write.Exec(`INSERT INTO half (id) VALUES ('x')`); err == nil {
			t.Fatal("the failed migration's first statement was kept")
		}
	})
}

func TestMapError(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, t.TempDir(), migrations)
	ctx := t.Context()
	if _, err := db.write.Exec(`CREATE TABLE parent (id TEXT PRIMARY KEY) STRICT;
		CREATE TABLE child (id TEXT PRIMARY KEY, parent TEXT NOT NULL REFERENCES parent(id), email TEXT UNIQUE) STRICT;
		INSERT INTO parent VALUES ('p');
		INSERT INTO child VALUES ('c', 'p', 'a@example.com')`); err != nil {
		t.Fatal(err)
	}
	var s string
	tests := []struct {
		name string
		err  error
		code tideline.Code
	}{
		{"NoRows", db.read.QueryRowContext(ctx, `SELECT id FROM child WHERE id = 'nope'`).Scan(&s), tideline.CodeNotFound},
		{"PrimaryKey", exec(db, `INSERT INTO child VALUES ('c', 'p', 'b@example.com')`), tideline.CodeConflict},
		{"Unique", exec(db, `INSERT INTO child VALUES ('d', 'p', 'a@example.com')`), tideline.CodeConflict},
		{"ForeignKey", exec(db, `INSERT INTO child VALUES ('e', 'missing', NULL)`), tideline.CodeConflict},
		{"Syntax", exec(db, `SELEKT 1`), tideline.CodeInternal},
		{"Canceled", func() error {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			_, err := db.read.QueryContext(ctx, `SELECT 1`)
			return err
		}(), tideline.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the driver returned no error")
			}
			err := mapError(tt.err, "test")
			if code := tideline.ErrorCode(err); code != tt.code {
				t.Fatalf("code %q, want %q (err: %v)", code, tt.code, err)
			}
			if !strings.HasPrefix(err.Error(), string(tt.code)) && tt.code != tideline.CodeUnavailable {
				t.Fatalf("error %q lost its code", err)
			}
		})
	}
	if mapError(nil, "x") != nil {
		t.Fatal("mapError(nil) != nil")
	}
}

func exec(db *DB, q string) error {
	_, err := db.write.Exec(q)
	return err
}
