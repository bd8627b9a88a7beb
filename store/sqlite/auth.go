package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// Auth returns the embedded engine's auth.Store.
func (db *DB) Auth() auth.Store { return authStore{db} }

type authStore struct{ db *DB }

var _ auth.Store = authStore{}

// opt is the stored form of a time that may be zero ("not yet"): 0.
func opt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

// fromOpt reads a time stored by opt.
func fromOpt(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

// nullable stores "" as NULL, for unique columns where many rows have no value.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

type scanner interface{ Scan(dest ...any) error }

const userColumns = `id, email, email_verified, password_hash, anonymous, disabled, roles, display_name, created_at, updated_at, version`

func scanUser(row scanner) (auth.User, error) {
	var u auth.User
	var email sql.NullString
	var roles string
	var created, updated int64
	if err := row.Scan(&u.ID, &email, &u.EmailVerified, &u.PasswordHash, &u.Anonymous, &u.Disabled, &roles, &u.DisplayName, &created, &updated, &u.Version); err != nil {
		return u, err
	}
	u.Email, u.CreatedAt, u.UpdatedAt = email.String, fromMillis(created), fromMillis(updated)
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return u, err
	}
	return u, nil
}

func rolesJSON(roles []string) string {
	if roles == nil {
		roles = []string{}
	}
	b, _ := json.Marshal(roles) // a []string always marshals
	return string(b)
}

func (s authStore) CreateUser(ctx context.Context, u auth.User) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, nullable(u.Email), u.EmailVerified, u.PasswordHash, u.Anonymous, u.Disabled, rolesJSON(u.Roles), u.DisplayName,
		millis(u.CreatedAt), millis(u.UpdatedAt), u.Version)
	return mapError(err, "create user")
}

func (s authStore) FindUserByID(ctx context.Context, id string) (auth.User, error) {
	u, err := scanUser(s.db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	return u, mapError(err, "find user")
}

func (s authStore) FindUserByEmail(ctx context.Context, email string) (auth.User, error) {
	u, err := scanUser(s.db.read.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	return u, mapError(err, "find user by email")
}

func (s authStore) UpdateUser(ctx context.Context, u auth.User) (auth.User, error) {
	var out auth.User
	err := s.db.inTx(ctx, "update user", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var err error
		out, err = scanUser(tx.QueryRowContext(ctx, `UPDATE users SET email = ?, email_verified = ?, password_hash = ?, anonymous = ?,
			disabled = ?, roles = ?, display_name = ?, updated_at = ?, version = version + 1
			WHERE id = ? AND version = ? RETURNING `+userColumns,
			nullable(u.Email), u.EmailVerified, u.PasswordHash, u.Anonymous, u.Disabled, rolesJSON(u.Roles), u.DisplayName,
			millis(u.UpdatedAt), u.ID, u.Version))
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var version int64
		if err := tx.QueryRowContext(ctx, `SELECT version FROM users WHERE id = ?`, u.ID).Scan(&version); err != nil {
			return err // no rows: not found
		}
		return tideline.Errorf(tideline.CodeConflict, "The user was changed meanwhile (version %d, not %d).", version, u.Version)
	})
	return out, err
}

func (s authStore) DeleteUser(ctx context.Context, id string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, id) // cascades
	return rowsOr(res, err, "delete user")
}

// rowsOr maps err, and a statement that changed no row to not_found.
func rowsOr(res sql.Result, err error, what string) error {
	if err != nil {
		return mapError(err, what)
	}
	if n, err := res.RowsAffected(); err != nil {
		return mapError(err, what)
	} else if n == 0 {
		return mapError(sql.ErrNoRows, what)
	}
	return nil
}

// likeLiteral escapes s for a LIKE pattern with ESCAPE '\'.
func likeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (s authStore) ListUsers(ctx context.Context, q auth.UserQuery) ([]auth.User, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT `+userColumns+` FROM users
		WHERE id > ? AND (? = '' OR email LIKE '%' || ? || '%' ESCAPE '\')
		ORDER BY id LIMIT ?`, q.After, q.EmailContains, likeLiteral(q.EmailContains), max(1, q.Limit))
	if err != nil {
		return nil, mapError(err, "list users")
	}
	return collect(rows, scanUser, "list users")
}

func (s authStore) CountUsers(ctx context.Context) (auth.UserCounts, error) {
	var c auth.UserCounts
	err := s.db.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(anonymous), 0), COALESCE(SUM(disabled), 0) FROM users`).
		Scan(&c.Total, &c.Anonymous, &c.Disabled)
	return c, mapError(err, "count users")
}

// collect scans every row with scan.
func collect[T any](rows *sql.Rows, scan func(scanner) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapError(err, what)
		}
		out = append(out, v)
	}
	return out, mapError(rows.Err(), what)
}

func scanIdentity(row scanner) (auth.Identity, error) {
	var i auth.Identity
	var created int64
	err := row.Scan(&i.Provider, &i.Subject, &i.UserID, &i.Email, &created)
	i.CreatedAt = fromMillis(created)
	return i, err
}

func (s authStore) CreateIdentity(ctx context.Context, i auth.Identity) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO auth_identities (provider, subject, user_id, email, created_at) VALUES (?, ?, ?, ?, ?)`,
		i.Provider, i.Subject, i.UserID, i.Email, millis(i.CreatedAt))
	return mapError(err, "create identity")
}

func (s authStore) FindIdentity(ctx context.Context, provider, subject string) (auth.Identity, error) {
	i, err := scanIdentity(s.db.read.QueryRowContext(ctx, `SELECT provider, subject, user_id, email, created_at FROM auth_identities WHERE provider = ? AND subject = ?`, provider, subject))
	return i, mapError(err, "find identity")
}

func (s authStore) ListIdentities(ctx context.Context, userID string) ([]auth.Identity, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT provider, subject, user_id, email, created_at FROM auth_identities WHERE user_id = ? ORDER BY created_at, provider, subject`, userID)
	if err != nil {
		return nil, mapError(err, "list identities")
	}
	return collect(rows, scanIdentity, "list identities")
}

const actionColumns = `hash, kind, user_id, email, created_at, expires_at, used_at`

func scanAction(row scanner) (auth.ActionToken, error) {
	var t auth.ActionToken
	var created, expires, used int64
	err := row.Scan(&t.Hash, &t.Kind, &t.UserID, &t.Email, &created, &expires, &used)
	t.CreatedAt, t.ExpiresAt, t.UsedAt = fromMillis(created), fromMillis(expires), fromOpt(used)
	return t, err
}

func (s authStore) CreateActionToken(ctx context.Context, t auth.ActionToken) error {
	_, err := s.db.write.ExecContext(ctx, `INSERT INTO auth_action_tokens (`+actionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.Kind, t.UserID, t.Email, millis(t.CreatedAt), millis(t.ExpiresAt), opt(t.UsedAt))
	return mapError(err, "create action token")
}

func (s authStore) EndActionTokens(ctx context.Context, userID, kind string, at time.Time) (int, error) {
	res, err := s.db.write.ExecContext(ctx, `UPDATE auth_action_tokens SET used_at = ? WHERE user_id = ? AND kind = ? AND used_at = 0`,
		millis(at), userID, kind)
	if err != nil {
		return 0, mapError(err, "end action tokens")
	}
	n, err := res.RowsAffected()
	return int(n), mapError(err, "end action tokens")
}

func (s authStore) UseActionToken(ctx context.Context, hash, kind string, at time.Time) (auth.ActionToken, error) {
	t, err := scanAction(s.db.write.QueryRowContext(ctx, `UPDATE auth_action_tokens SET used_at = ?
		WHERE hash = ? AND kind = ? AND used_at = 0 AND expires_at > ? RETURNING `+actionColumns,
		millis(at), hash, kind, millis(at)))
	return t, mapError(err, "use action token")
}
