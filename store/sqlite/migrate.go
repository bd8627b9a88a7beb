package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tideline-dev/tideline"
)

// A migration moves the schema from version-1 to version. Migrations run in order, each in
// its own transaction together with the row that records it, so a crash leaves the schema
// at a recorded version. Append new migrations; never edit or reorder released ones.
type migration struct {
	version int
	name    string
	up      func(ctx context.Context, tx *sql.Tx, db *DB) error
}

// migrations is the embedded engine's schema history. Features append theirs.
var migrations = []migration{
	{1, "instance", migrateInstance},
	{2, "auth", execAll(authSchema...)},
	{3, "sync", execAll(syncSchema...)},
	{4, "push", execAll(pushSchema...)},
	{5, "push campaigns", execAll(pushCampaignSchema...)},
	{6, "one secret store", execAll(secretsSchema...)},
	{7, "sync owner index", execAll(syncOwnerIndex...)},
	{8, "sync browse and client health", execAll(syncBrowseSchema...)},
	{9, "files", execAll(filesSchema...)},
	{10, "auth expiry indexes", execAll(authExpiryIndexes...)},
	{11, "push delivery retention", execAll(pushRetentionSchema...)},
	{12, "file references", execAll(fileRefsSchema...)},
}

// execAll returns a migration step that runs statements in order.
func execAll(stmts ...string) func(context.Context, *sql.Tx, *DB) error {
	return func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return err
			}
		}
		return nil
	}
}

// migrateInstance records who this data is: an instance id and when it was created.
func migrateInstance(ctx context.Context, tx *sql.Tx, db *DB) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO tideline_meta (key, value) VALUES ('instance_id', ?), ('created_at', ?)`,
		tideline.NewID(), millis(db.clock.Now()))
	return err
}

// migrate creates the bookkeeping tables and applies the migrations the data lacks. It
// refuses data whose schema is newer than this binary knows, whatever the migration: one
// process serves a data directory, so an older binary on newer data is a downgrade, never
// a rolling upgrade, and going back means restoring a backup. (The MongoDB engine, whose
// nodes upgrade one by one, runs an older binary on a database with newer migrations when
// they are all additive.)
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	err := db.inTx(ctx, "create schema tables", execAll(
		`CREATE TABLE IF NOT EXISTS tideline_meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT`,
		`CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT    NOT NULL,
			applied_at INTEGER NOT NULL
		) STRICT`,
	))
	if err != nil {
		return err
	}
	for _, m := range migs {
		err := db.inTx(ctx, fmt.Sprintf("migration %d (%s)", m.version, m.name), func(ctx context.Context, tx *sql.Tx, db *DB) error {
			var current int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
				return err
			}
			if known := migs[len(migs)-1].version; current > known {
				return newerSchema(ctx, tx, db.path, known)
			}
			if current >= m.version {
				return nil
			}
			if err := m.up(ctx, tx, db); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.version, m.name, millis(db.clock.Now()))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// inTx runs fn in one write transaction and commits it, or rolls it back when fn fails.
// Errors are mapped to tideline codes and named by what.
func (db *DB) inTx(ctx context.Context, what string, fn func(context.Context, *sql.Tx, *DB) error) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return mapError(err, what)
	}
	if err := fn(ctx, tx, db); err != nil {
		_ = tx.Rollback()
		return mapError(err, what)
	}
	return mapError(tx.Commit(), what)
}

// newerSchema is the error for data with migrations newer than known: it names the first
// one, as the MongoDB engine does, and what to run.
func newerSchema(ctx context.Context, tx *sql.Tx, path string, known int) error {
	var version int
	var name string
	if err := tx.QueryRowContext(ctx, `SELECT version, name FROM schema_migrations WHERE version > ? ORDER BY version LIMIT 1`, known).Scan(&version, &name); err != nil {
		return err
	}
	return tideline.Errorf(tideline.CodeUnavailable,
		"The data in %s has migration %d (%s), applied by a newer Tideline: this binary (Tideline %s) knows schema versions up to %d and cannot run on it. Run a Tideline that knows schema version %d, or restore a backup made by this version.",
		path, version, name, tideline.Version, known, version)
}
