package sqlite

// authSchema is migration 2: the tables of auth.Store. Times are Unix milliseconds; 0 means
// "not yet" (an unused token, an active session). Deleting a user cascades to everything of
// theirs.
var authSchema = []string{
	`CREATE TABLE users (
		id             TEXT PRIMARY KEY,
		email          TEXT,              -- NULL when the user has none; unique otherwise
		email_verified INTEGER NOT NULL,
		password_hash  TEXT    NOT NULL,
		anonymous      INTEGER NOT NULL,
		disabled       INTEGER NOT NULL,
		roles          TEXT    NOT NULL,  -- JSON array of strings
		display_name   TEXT    NOT NULL,
		created_at     INTEGER NOT NULL,
		updated_at     INTEGER NOT NULL,
		version        INTEGER NOT NULL
	) STRICT`,
	`CREATE UNIQUE INDEX users_email ON users (email)`,
	`CREATE TABLE auth_identities (
		provider   TEXT    NOT NULL,
		subject    TEXT    NOT NULL,
		user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		email      TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (provider, subject)
	) STRICT`,
	`CREATE INDEX auth_identities_user ON auth_identities (user_id, created_at)`,
	`CREATE TABLE auth_sessions (
		id           TEXT    PRIMARY KEY,
		user_id      TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		device_name  TEXT    NOT NULL,
		platform     TEXT    NOT NULL,
		user_agent   TEXT    NOT NULL,
		ip           TEXT    NOT NULL,
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER NOT NULL,
		expires_at   INTEGER NOT NULL,
		revoked_at   INTEGER NOT NULL
	) STRICT`,
	`CREATE INDEX auth_sessions_user ON auth_sessions (user_id, created_at)`,
	`CREATE TABLE auth_refresh_tokens (
		hash       TEXT    PRIMARY KEY,
		session_id TEXT    NOT NULL REFERENCES auth_sessions (id) ON DELETE CASCADE,
		user_id    TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		used_at    INTEGER NOT NULL
	) STRICT`,
	`CREATE INDEX auth_refresh_tokens_session ON auth_refresh_tokens (session_id)`,
	`CREATE TABLE auth_action_tokens (
		hash       TEXT    PRIMARY KEY,
		kind       TEXT    NOT NULL,
		user_id    TEXT    NOT NULL REFERENCES users (id) ON DELETE CASCADE,
		email      TEXT    NOT NULL,
		created_at INTEGER NOT NULL,
		expires_at INTEGER NOT NULL,
		used_at    INTEGER NOT NULL
	) STRICT`,
	`CREATE INDEX auth_action_tokens_user ON auth_action_tokens (user_id)`,
	`CREATE TABLE auth_signing_keys (
		id          TEXT    PRIMARY KEY,
		algorithm   TEXT    NOT NULL,
		private_key BLOB    NOT NULL,
		public_key  BLOB    NOT NULL,
		created_at  INTEGER NOT NULL,
		retired_at  INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE auth_secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) STRICT`,
	`CREATE TABLE auth_admin_keys (
		id           TEXT    PRIMARY KEY,
		name         TEXT    NOT NULL,
		hash         TEXT    NOT NULL UNIQUE,
		prefix       TEXT    NOT NULL,
		created_by   TEXT    NOT NULL,
		created_at   INTEGER NOT NULL,
		last_used_at INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE auth_audit (
		id         TEXT    PRIMARY KEY,
		at         INTEGER NOT NULL,
		type       TEXT    NOT NULL,
		user_id    TEXT    NOT NULL,
		session_id TEXT    NOT NULL,
		actor      TEXT    NOT NULL,
		ip         TEXT    NOT NULL,
		detail     TEXT    NOT NULL -- JSON object of strings
	) STRICT`,
	`CREATE INDEX auth_audit_user ON auth_audit (user_id, id)`,
	`CREATE INDEX auth_audit_type ON auth_audit (type, id)`,
}
