package sqlite

// syncSchema is migration 3: the tables of sync.Store.
//
// sync_docs holds each document's current state, its sequence number the number of its
// last write. sync_doc_buckets lists, per bucket, the documents in it by sequence number:
// scanning a bucket's changes is a range of its primary key. The sequence is one counter,
// incremented inside the single write transaction, so commit order is sequence order and
// every number up to the counter is committed.
// syncOwnerIndex is migration 6: the documents of an owner who is deleted are found by it
// (ListOwnedDocuments). Partial: tombstones, which stay until purged, are not listed.
var syncOwnerIndex = []string{
	`CREATE INDEX sync_docs_owner ON sync_docs (owner) WHERE deleted = 0`,
}

var syncSchema = []string{
	`CREATE TABLE sync_docs (
		collection TEXT    NOT NULL,
		scope      TEXT    NOT NULL,
		doc_id     TEXT    NOT NULL,
		owner      TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		seq        INTEGER NOT NULL UNIQUE,
		deleted    INTEGER NOT NULL,
		fields     TEXT    NOT NULL, -- JSON object
		meta       TEXT    NOT NULL, -- JSON of sync.Meta
		buckets    TEXT    NOT NULL, -- bucket names, space-separated (names never contain spaces)
		evicted    TEXT    NOT NULL, -- buckets it left, space-separated
		evict_seq  INTEGER NOT NULL, -- the seq of the write that last evicted (sync.Document.EvictSeq)
		updated_at INTEGER NOT NULL,
		PRIMARY KEY (collection, scope, doc_id)
	) STRICT`,
	`CREATE TABLE sync_doc_buckets (
		bucket     TEXT    NOT NULL,
		seq        INTEGER NOT NULL,
		collection TEXT    NOT NULL,
		scope      TEXT    NOT NULL,
		doc_id     TEXT    NOT NULL,
		deleted    INTEGER NOT NULL,
		member     INTEGER NOT NULL, -- 1: in the bucket; 0: it left the bucket (an eviction)
		PRIMARY KEY (bucket, seq)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX sync_doc_buckets_doc ON sync_doc_buckets (collection, scope, doc_id)`,
	`CREATE INDEX sync_doc_buckets_seq ON sync_doc_buckets (seq)`,
	`CREATE INDEX sync_docs_purge ON sync_docs (updated_at) WHERE deleted = 1 OR evicted != ''`,
	`CREATE TABLE sync_sequence (
		id    INTEGER PRIMARY KEY CHECK (id = 1),
		value INTEGER NOT NULL
	) STRICT`,
	`INSERT INTO sync_sequence (id, value) VALUES (1, 0)`,
	`CREATE TABLE sync_clients (
		client_id TEXT    PRIMARY KEY,
		user_id   TEXT    NOT NULL,
		high      INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE sync_collections (
		name       TEXT    PRIMARY KEY,
		config     TEXT    NOT NULL, -- JSON
		updated_at INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE sync_state (
		key   TEXT    PRIMARY KEY, -- purge_horizon
		value INTEGER NOT NULL
	) STRICT`,
	`INSERT INTO sync_state (key, value) VALUES ('purge_horizon', 0)`,
	`CREATE TABLE sync_leases (
		name   TEXT    PRIMARY KEY,
		holder TEXT    NOT NULL,
		until  INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE sync_groups (
		id         TEXT    PRIMARY KEY,
		name       TEXT    NOT NULL,
		owner_id   TEXT    NOT NULL,
		created_at INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE sync_members (
		group_id TEXT    NOT NULL REFERENCES sync_groups (id) ON DELETE CASCADE,
		user_id  TEXT    NOT NULL,
		role     TEXT    NOT NULL,
		added_at INTEGER NOT NULL,
		PRIMARY KEY (group_id, user_id)
	) STRICT`,
	`CREATE INDEX sync_members_user ON sync_members (user_id)`,
	`CREATE TABLE sync_secrets (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) STRICT`,
}
