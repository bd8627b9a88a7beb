package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

const sessionColumns = `id, user_id, device_name, platform, user_agent, ip, created_at, last_used_at, expires_at, revoked_at`

func scanSession(row scanner) (auth.Session, error) {
	var s auth.Session
	var created, used, expires, revoked int64
	err := row.Scan(&s.ID, &s.UserID, &s.DeviceName, &s.Platform, &s.UserAgent, &s.IP, &created, &used, &expires, &revoked)
	s.CreatedAt, s.LastUsedAt, s.ExpiresAt, s.RevokedAt = fromMillis(created), fromMillis(used), fromMillis(expires), fromOpt(revoked)
	return s, err
}

func (s authStore) CreateSession(ctx context.Context, sess auth.Session, first auth.RefreshToken) error {
	return s.db.inTx(ctx, "create session", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO auth_sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, sess.DeviceName, sess.Platform, sess.UserAgent, sess.IP,
			millis(sess.CreatedAt), millis(sess.LastUsedAt), millis(sess.ExpiresAt), opt(sess.RevokedAt)); err != nil {
			return err
		}
		return insertRefreshToken(ctx, tx, first)
	})
}

func (s authStore) FindSession(ctx context.Context, id string) (auth.Session, error) {
	sess, err := scanSession(s.db.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM auth_sessions WHERE id = ?`, id))
	return sess, mapError(err, "find session")
}

func (s authStore) ListSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM auth_sessions
		WHERE user_id = ? AND revoked_at = 0 ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, mapError(err, "list sessions")
	}
	return collect(rows, scanSession, "list sessions")
}

func (s authStore) TouchSession(ctx context.Context, id string, at time.Time, ip string, expiresAt time.Time) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_sessions SET last_used_at = ?, ip = ?, expires_at = ? WHERE id = ?`,
		millis(at), ip, millis(expiresAt), id)
	return rowsOr(res, err, "touch session")
}

func (s authStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = CASE revoked_at WHEN 0 THEN ? ELSE revoked_at END WHERE id = ?`,
		millis(at), id)
	return rowsOr(res, err, "revoke session")
}

func (s authStore) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_sessions SET revoked_at = ? WHERE user_id = ? AND id != ? AND revoked_at = 0`,
		millis(at), userID, except)
	if err != nil {
		return 0, mapError(err, "revoke sessions")
	}
	n, err := res.RowsAffected()
	return int(n), mapError(err, "revoke sessions")
}

const refreshColumns = `hash, session_id, user_id, created_at, expires_at, used_at`

func scanRefresh(row scanner) (auth.RefreshToken, error) {
	var t auth.RefreshToken
	var created, expires, used int64
	err := row.Scan(&t.Hash, &t.SessionID, &t.UserID, &created, &expires, &used)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMillis(created), fromMillis(expires), fromOpt(used)
	return t, err
}

func insertRefreshToken(ctx context.Context, tx interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, t auth.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO auth_refresh_tokens (`+refreshColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.SessionID, t.UserID, millis(t.CreatedAt), millis(t.ExpiresAt), opt(t.UsedAt))
	return err
}

func (s authStore) CreateRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	return mapError(insertRefreshToken(ctx, s.db.write, t), "create refresh token")
}

func (s authStore) SpendRefreshToken(ctx context.Context, hash string, at time.Time) (auth.RefreshToken, bool, error) {
	var t auth.RefreshToken
	var spent bool
	err := s.db.inTx(ctx, "spend refresh token", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var err error
		t, err = scanRefresh(tx.QueryRowContext(ctx, `UPDATE auth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at = 0 RETURNING `+refreshColumns, millis(at), hash))
		if err == nil {
			spent = true
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		t, err = scanRefresh(tx.QueryRowContext(ctx, `SELECT `+refreshColumns+` FROM auth_refresh_tokens WHERE hash = ?`, hash))
		return err
	})
	return t, spent, err
}

const signingKeyColumns = `id, algorithm, private_key, public_key, created_at, retired_at`

func scanSigningKey(row scanner) (auth.SigningKey, error) {
	var k auth.SigningKey
	var created, retired int64
	err := row.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &k.PublicKey, &created, &retired)
	k.CreatedAt, k.RetiredAt = fromMillis(created), fromOpt(retired)
	return k, err
}

func (s authStore) ListSigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+signingKeyColumns+` FROM auth_signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, mapError(err, "list signing keys")
	}
	return collect(rows, scanSigningKey, "list signing keys")
}

func (s authStore) CreateSigningKey(ctx context.Context, k auth.SigningKey) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO auth_signing_keys (`+signingKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, k.PrivateKey, k.PublicKey, millis(k.CreatedAt), opt(k.RetiredAt))
	return mapError(err, "create signing key")
}

func (s authStore) RetireSigningKeys(ctx context.Context, except string, at time.Time) error {
	_, err := s.db.write.ExecContext(ctx, `UPDATE auth_signing_keys SET retired_at = ? WHERE id != ? AND retired_at = 0`, millis(at), except)
	return mapError(err, "retire signing keys")
}

func (s authStore) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM auth_signing_keys WHERE id = ?`, id)
	return rowsOr(res, err, "delete signing key")
}

func (s authStore) ReplaceSigningKey(ctx context.Context, id string, old, private []byte) error {
	return replaceBlob(ctx, s.db, "auth_signing_keys", "id", "private_key", id, old, private, "replace signing key")
}

// replaceBlob sets column to value in the row of table whose key is id, if the column is
// still old: not found when there is no such row, conflict when the column differs.
func replaceBlob(ctx context.Context, db *DB, table, key, column, id string, old, value []byte, what string) error {
	return db.inTx(ctx, what, func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var stored []byte
		if err := tx.QueryRowContext(ctx, `SELECT `+column+` FROM `+table+` WHERE `+key+` = ?`, id).Scan(&stored); err != nil {
			return err // no rows: not found
		}
		if !bytes.Equal(stored, old) {
			return tideline.Errorf(tideline.CodeConflict, "The stored value was changed meanwhile.")
		}
		_, err := tx.ExecContext(ctx, `UPDATE `+table+` SET `+column+` = ? WHERE `+key+` = ?`, value, id)
		return err
	})
}

const adminKeyColumns = `id, name, hash, prefix, created_by, created_at, last_used_at`

func scanAdminKey(row scanner) (auth.AdminKey, error) {
	var k auth.AdminKey
	var created, used int64
	err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.CreatedBy, &created, &used)
	k.CreatedAt, k.LastUsedAt = fromMillis(created), fromOpt(used)
	return k, err
}

func (s authStore) CreateAdminKey(ctx context.Context, k auth.AdminKey) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO auth_admin_keys (`+adminKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Hash, k.Prefix, k.CreatedBy, millis(k.CreatedAt), opt(k.LastUsedAt))
	return mapError(err, "create admin key")
}

func (s authStore) FindAdminKeyByHash(ctx context.Context, hash string) (auth.AdminKey, error) {
	k, err := scanAdminKey(s.db.read.QueryRowContext(ctx, `SELECT `+adminKeyColumns+` FROM auth_admin_keys WHERE hash = ?`, hash))
	return k, mapError(err, "find admin key")
}

func (s authStore) ListAdminKeys(ctx context.Context) ([]auth.AdminKey, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+adminKeyColumns+` FROM auth_admin_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, mapError(err, "list admin keys")
	}
	return collect(rows, scanAdminKey, "list admin keys")
}

func (s authStore) TouchAdminKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_admin_keys SET last_used_at = ? WHERE id = ?`, millis(at), id)
	return rowsOr(res, err, "touch admin key")
}

func (s authStore) DeleteAdminKey(ctx context.Context, id string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM auth_admin_keys WHERE id = ?`, id)
	return rowsOr(res, err, "delete admin key")
}

func scanAudit(row scanner) (auth.AuditEvent, error) {
	var e auth.AuditEvent
	var at int64
	var detail string
	if err := row.Scan(&e.ID, &at, &e.Type, &e.UserID, &e.SessionID, &e.Actor, &e.IP, &detail); err != nil {
		return e, err
	}
	e.At = fromMillis(at)
	return e, json.Unmarshal([]byte(detail), &e.Detail)
}

func (s authStore) AppendAudit(ctx context.Context, e auth.AuditEvent) error {
	detail, err := json.Marshal(e.Detail)
	if err != nil {
		return mapError(err, "append audit event")
	}
	if e.Detail == nil {
		detail = []byte("{}")
	}
	_, err = s.db.write.ExecContext(ctx, `INSERT INTO auth_audit (id, at, type, user_id, session_id, actor, ip, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		e.ID, millis(e.At), e.Type, e.UserID, e.SessionID, e.Actor, e.IP, string(detail))
	return mapError(err, "append audit event")
}

func (s authStore) ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEvent, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, at, type, user_id, session_id, actor, ip, detail FROM auth_audit
		WHERE (? = '' OR user_id = ?) AND (? = '' OR type = ?) AND (? = '' OR id < ?)
		ORDER BY id DESC LIMIT ?`, q.UserID, q.UserID, q.Type, q.Type, q.Before, q.Before, max(1, q.Limit))
	if err != nil {
		return nil, mapError(err, "list audit events")
	}
	return collect(rows, scanAudit, "list audit events")
}
