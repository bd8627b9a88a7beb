package sqlite

import (
	"context"
	"database/sql"

	"github.com/tideline-dev/tideline"
)

// Secrets returns the engine's store of server secrets (table secrets).
func (db *DB) Secrets() tideline.SecretStore { return secretStore{db} }

type secretStore struct{ db *DB }

// secretsSchema is migration 6: one table of server secrets for every feature, holding
// what auth and sync kept in tables of their own until then. The names never clashed
// (tideline.SecretRefreshRotation and SecretConsoleCSRF were auth's, SecretCursor sync's).
var secretsSchema = []string{
	`CREATE TABLE secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) STRICT`,
	`INSERT INTO secrets (name, value) SELECT name, value FROM auth_secrets`,
	`INSERT INTO secrets (name, value) SELECT name, value FROM sync_secrets WHERE true ON CONFLICT (name) DO NOTHING`,
	`DROP TABLE auth_secrets`,
	`DROP TABLE sync_secrets`,
}

// Secret stores candidate when there is no secret called name and returns what is stored,
// in one write transaction: concurrent callers all get the same bytes.
func (s secretStore) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var value []byte
	err := s.db.inTx(ctx, "secret", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, candidate); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&value)
	})
	return value, err
}

func (s secretStore) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT name, value FROM secrets ORDER BY name`)
	if err != nil {
		return nil, mapError(err, "list secrets")
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var name string
		var value []byte
		if err := rows.Scan(&name, &value); err != nil {
			return nil, mapError(err, "list secrets")
		}
		out[name] = value
	}
	return out, mapError(rows.Err(), "list secrets")
}

func (s secretStore) ReplaceSecret(ctx context.Context, name string, old, value []byte) error {
	return replaceBlob(ctx, s.db, "secrets", "name", "value", name, old, value, "replace secret")
}
