package sqlite

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
)

// The refresh of a session through auth.Store (spend the token, store the successor,
// touch the session), beside the same writes done directly on SQLite in one transaction:
// the limit of the store underneath. See docs/benchmarks.md.

func benchSession(b *testing.B) (*DB, auth.Session, auth.RefreshToken) {
	b.Helper()
	db, err := Open(b.Context(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	u := auth.User{ID: tideline.NewID(), Email: "ada@example.com", CreatedAt: now, UpdatedAt: now, Version: 1}
	if err := db.Auth().CreateUser(b.Context(), u); err != nil {
		b.Fatal(err)
	}
	s := auth.Session{ID: tideline.NewID(), UserID: u.ID, CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
	t := auth.RefreshToken{Hash: "h0", SessionID: s.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.Auth().CreateSession(b.Context(), s, t); err != nil {
		b.Fatal(err)
	}
	return db, s, t
}

func BenchmarkStoreRefresh(b *testing.B) {
	db, s, t := benchSession(b)
	store := db.Auth()
	ctx := b.Context()
	i := 0
	for b.Loop() {
		now := time.Now()
		if _, _, err := store.SpendRefreshToken(ctx, t.Hash, now); err != nil {
			b.Fatal(err)
		}
		i++
		t = auth.RefreshToken{Hash: fmt.Sprint("h", i), SessionID: s.ID, UserID: s.UserID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := store.CreateRefreshToken(ctx, t); err != nil {
			b.Fatal(err)
		}
		if err := store.TouchSession(ctx, s.ID, now, "203.0.113.1", now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRawSQLiteRefresh(b *testing.B) {
	db, s, t := benchSession(b)
	raw, err := sql.Open("sqlite", dsn(filepath.Join(filepath.Dir(db.path), FileName), false))
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	b.Cleanup(func() { raw.Close() })
	hash := t.Hash
	i := 0
	for b.Loop() {
		now := time.Now().UnixMilli()
		tx, err := raw.Begin()
		if err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`UPDATE auth_refresh_tokens SET used_at = ? WHERE hash = ? AND used_at = 0`, now, hash); err != nil {
			b.Fatal(err)
		}
		i++
		hash = fmt.Sprint("h", i)
		if _, err := tx.Exec(`INSERT INTO auth_refresh_tokens (hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, 0)`, hash, s.ID, s.UserID, now, now+3600000); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.Exec(`UPDATE auth_sessions SET last_used_at = ?, ip = ?, expires_at = ? WHERE id = ?`, now, "203.0.113.1", now+3600000, s.ID); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}
