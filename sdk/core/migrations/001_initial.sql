-- Cache version 1: the tables of client core v1, unchanged (a cache that core v1 wrote has
-- exactly these, and PRAGMA user_version 0). Every statement is idempotent, so running it
-- on such a cache changes nothing. See docs/sdk-core.md, "Cache versions".
--
--   tl_meta    key/value: client_id, cursor, hlc, resync, and from v2 the user and session
--   tl_server  the documents as the server last said they are (pulled, or from receipts)
--   tl_outbox  the local writes not yet acknowledged, in order (the mutation id is the
--              autoincrement: never reused, always increasing, as the protocol requires)
--   tl_view    what the app reads: the server copy with the outbox rebased on top

CREATE TABLE IF NOT EXISTS tl_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS tl_server (
    collection TEXT    NOT NULL,
    doc_id     TEXT    NOT NULL,
    doc        TEXT,                        -- JSON object; NULL when deleted
    version    INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    buckets    TEXT    NOT NULL DEFAULT '[]', -- JSON array of the buckets the user reads it by
    reset_mark INTEGER NOT NULL DEFAULT 0,  -- 1: in a bucket being reset, not re-sent yet
    PRIMARY KEY (collection, doc_id)
);

CREATE TABLE IF NOT EXISTS tl_outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT, -- the mutation id
    collection   TEXT    NOT NULL,
    doc_id       TEXT    NOT NULL,
    op           TEXT    NOT NULL CHECK (op IN ('put', 'patch', 'delete')),
    fields       TEXT,                      -- JSON object (put, patch)
    ops          TEXT,                      -- JSON object: field -> {"inc"|"max"|"min"|"add"|"remove": arg}
    hlc          TEXT    NOT NULL,
    base_version INTEGER NOT NULL,
    created_at   INTEGER NOT NULL           -- unix milliseconds
);
CREATE INDEX IF NOT EXISTS tl_outbox_doc ON tl_outbox (collection, doc_id, id);

CREATE TABLE IF NOT EXISTS tl_view (
    collection TEXT    NOT NULL,
    doc_id     TEXT    NOT NULL,
    doc        TEXT    NOT NULL,            -- JSON object
    version    INTEGER NOT NULL,            -- the server version it is based on (0: none)
    pending    INTEGER NOT NULL,            -- local writes not yet acknowledged
    PRIMARY KEY (collection, doc_id)
);
