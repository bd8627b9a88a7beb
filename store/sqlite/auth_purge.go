package sqlite

import (
	"context"
	"time"
)

// authExpiryIndexes is migration 10: the indexes that PurgeExpired reads, so that a sweep
// costs what it deletes, not a scan of every token, session and event.
var authExpiryIndexes = []string{
	`CREATE INDEX auth_refresh_tokens_expires ON auth_refresh_tokens (expires_at)`,
	`CREATE INDEX auth_action_tokens_expires ON auth_action_tokens (expires_at)`,
	`CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at)`,
	`CREATE INDEX auth_sessions_revoked ON auth_sessions (revoked_at) WHERE revoked_at != 0`,
	`CREATE INDEX auth_audit_at ON auth_audit (at)`,
}

// PurgeExpired is one write transaction of four deletes, each of at most limit rows
// (deleting a session deletes its refresh tokens: a foreign key cascades).
func (s authStore) PurgeExpired(ctx context.Context, now, endedBefore, auditBefore time.Time, limit int) (int, error) {
	limit = max(1, limit)
	ended := millis(endedBefore)
	stmts := []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM auth_refresh_tokens WHERE hash IN (SELECT hash FROM auth_refresh_tokens WHERE expires_at < ? LIMIT ?)`, []any{millis(now), limit}},
		{`DELETE FROM auth_action_tokens WHERE hash IN (SELECT hash FROM auth_action_tokens WHERE expires_at < ? LIMIT ?)`, []any{millis(now), limit}},
		{`DELETE FROM auth_sessions WHERE id IN (SELECT id FROM auth_sessions WHERE expires_at < ? UNION
			SELECT id FROM auth_sessions WHERE revoked_at != 0 AND revoked_at < ? LIMIT ?)`, []any{ended, ended, limit}},
		{`DELETE FROM auth_audit WHERE id IN (SELECT id FROM auth_audit WHERE at < ? LIMIT ?)`, []any{millis(auditBefore), limit}},
	}
	total := 0
	for _, st := range stmts {
		res, err := s.db.write.ExecContext(ctx, st.sql, st.args...)
		if err != nil {
			return total, mapError(err, "purge expired auth records")
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, mapError(err, "purge expired auth records")
		}
		total += int(n)
	}
	return total, nil
}
