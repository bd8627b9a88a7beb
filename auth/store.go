package auth

import (
	"context"
	"time"
)

// Store keeps the auth data. Each storage engine implements it; store/storetest holds the
// cases every implementation passes. Methods return *tideline.Error codes: not_found when
// the thing is absent, conflict when a unique value is taken or a conditional write lost.
// Times are stored with millisecond precision.
type Store interface {
	UserStore
	SessionStore
	KeyStore
	AuditStore
}

// UserStore keeps users, their external identities and their emailed action tokens.
type UserStore interface {
	// CreateUser stores a new user. Conflict when the id exists or the email (if any)
	// belongs to another user.
	CreateUser(ctx context.Context, u User) error
	// FindUserByID returns the user. Not found when absent.
	FindUserByID(ctx context.Context, id string) (User, error)
	// FindUserByEmail returns the user with the normalised email. Not found when absent
	// (and always for "").
	FindUserByEmail(ctx context.Context, email string) (User, error)
	// UpdateUser replaces the stored user whose ID and Version are u's with u, Version
	// increased by one, and returns what it stored. Not found when the user is absent;
	// conflict when its stored version differs (someone updated it meanwhile) or the new
	// email belongs to another user. CreatedAt is kept as stored.
	UpdateUser(ctx context.Context, u User) (User, error)
	// DeleteUser removes the user with its identities, sessions, refresh tokens and action
	// tokens. Not found when the user is absent. Safe to retry after a failure halfway.
	DeleteUser(ctx context.Context, id string) error
	// ListUsers returns users in ID order (creation order), filtered by q.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
	// CountUsers counts the users: all of them, the anonymous ones and the disabled ones.
	CountUsers(ctx context.Context) (UserCounts, error)

	// CreateIdentity links an external identity. Conflict when (Provider, Subject) is
	// linked already.
	CreateIdentity(ctx context.Context, id Identity) error
	// FindIdentity returns the link of (provider, subject). Not found when absent.
	FindIdentity(ctx context.Context, provider, subject string) (Identity, error)
	// ListIdentities returns the user's identities, oldest first.
	ListIdentities(ctx context.Context, userID string) ([]Identity, error)

	// CreateActionToken stores an emailed token. Conflict when the hash exists.
	CreateActionToken(ctx context.Context, t ActionToken) error
	// UseActionToken atomically spends the token with hash and kind and returns it: only
	// one caller ever succeeds. Not found when absent, of another kind, spent, or expired
	// (at is not before ExpiresAt).
	UseActionToken(ctx context.Context, hash, kind string, at time.Time) (ActionToken, error)
	// EndActionTokens spends, at at, every unspent token of kind of the user, so that none
	// of them works any more (the password changed: older reset links must not). It
	// returns how many it spent.
	EndActionTokens(ctx context.Context, userID, kind string, at time.Time) (int, error)
}

// UserQuery filters ListUsers.
type UserQuery struct {
	// EmailContains keeps users whose email contains it (case-insensitive, literal: no
	// pattern characters).
	EmailContains string
	// After keeps users whose ID is greater: the last ID of the previous page.
	After string
	// Limit is the most users returned; at least 1.
	Limit int
}

// UserCounts are how many users there are (the admin console's overview).
type UserCounts struct {
	Total, Anonymous, Disabled int
}

// SessionStore keeps sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession stores a session and its first refresh token. Conflict when either
	// exists.
	CreateSession(ctx context.Context, s Session, first RefreshToken) error
	// FindSession returns the session, revoked or not. Not found when absent.
	FindSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns the user's sessions that are not revoked, newest first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
	// TouchSession records a use of the session: LastUsedAt, IP and the new ExpiresAt.
	// Not found when absent.
	TouchSession(ctx context.Context, id string, at time.Time, ip string, expiresAt time.Time) error
	// RevokeSession sets RevokedAt if it is still zero. Not found when absent; revoking a
	// revoked session changes nothing and succeeds.
	RevokeSession(ctx context.Context, id string, at time.Time) error
	// RevokeUserSessions revokes all the user's active sessions except the one with id
	// except ("" for none) and returns how many it revoked.
	RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error)

	// CreateRefreshToken stores a refresh token. Conflict when the hash exists.
	CreateRefreshToken(ctx context.Context, t RefreshToken) error
	// SpendRefreshToken atomically marks the token with hash as used at at, if it is
	// unused, and returns it with spent = true. When it was used already it returns the
	// stored token (with its first UsedAt) and spent = false: of concurrent callers exactly
	// one spends it. Not found when absent.
	SpendRefreshToken(ctx context.Context, hash string, at time.Time) (t RefreshToken, spent bool, err error)
}

// KeyStore keeps signing keys and admin API keys.
type KeyStore interface {
	// ListSigningKeys returns all signing keys, oldest first.
	ListSigningKeys(ctx context.Context) ([]SigningKey, error)
	// CreateSigningKey stores a key. Conflict when the ID exists.
	CreateSigningKey(ctx context.Context, k SigningKey) error
	// RetireSigningKeys sets RetiredAt on every unretired key except the one with id
	// except.
	RetireSigningKeys(ctx context.Context, except string, at time.Time) error
	// DeleteSigningKey removes a key. Not found when absent.
	DeleteSigningKey(ctx context.Context, id string) error

	// ReplaceSigningKey sets the private key of the signing key id to private if its stored
	// private key is still old. Not found when absent; conflict when it is not old.
	ReplaceSigningKey(ctx context.Context, id string, old, private []byte) error

	// CreateAdminKey stores an admin key. Conflict when the ID or hash exists.
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// FindAdminKeyByHash returns the key with hash. Not found when absent.
	FindAdminKeyByHash(ctx context.Context, hash string) (AdminKey, error)
	// ListAdminKeys returns all admin keys, oldest first.
	ListAdminKeys(ctx context.Context) ([]AdminKey, error)
	// TouchAdminKey sets LastUsedAt. Not found when absent.
	TouchAdminKey(ctx context.Context, id string, at time.Time) error
	// DeleteAdminKey removes a key. Not found when absent.
	DeleteAdminKey(ctx context.Context, id string) error
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAudit stores an event. Conflict when the ID exists.
	AppendAudit(ctx context.Context, e AuditEvent) error
	// ListAudit returns events newest first (by ID), filtered by q.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
}

// AuditQuery filters ListAudit.
type AuditQuery struct {
	UserID string // "" for any
	Type   string // "" for any
	// Before keeps events whose ID is smaller: the last ID of the previous page.
	Before string
	// Limit is the most events returned; at least 1.
	Limit int
}
