-- Cache version 3: attachments (docs/sdk-core.md "Attachments").
--   tl_attachments  the upload queue: local files captured for a document's field, each
--                   waiting for (or in the middle of) its tus upload
--   tl_files        the download cache: files kept on the device, with their use time for
--                   LRU eviction, pinned ones kept whatever the limit
-- Paths are relative to the cache's files directory (the SDK decides where that is).

CREATE TABLE IF NOT EXISTS tl_attachments (
    local_id      TEXT    PRIMARY KEY,      -- "<client id>-<n>": the pending reference's "pending"
    collection    TEXT    NOT NULL,         -- the document and the top-level field the
    doc_id        TEXT    NOT NULL,         -- reference fills
    field         TEXT    NOT NULL,
    path          TEXT    NOT NULL,         -- the SDK's copy of the file
    name          TEXT    NOT NULL,
    content_type  TEXT    NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT    NOT NULL,         -- hex, computed when the file was attached
    state         TEXT    NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'uploading', 'canceled')),
    attempts      INTEGER NOT NULL DEFAULT 0, -- failed attempts (network, 5xx, 409, 429)
    upload_url    TEXT,                     -- the tus upload's path (Location), once created
    upload_offset INTEGER NOT NULL DEFAULT 0, -- the server's offset as last heard
    last_error    TEXT,
    created_at    INTEGER NOT NULL          -- unix milliseconds; the queue's order
);

CREATE TABLE IF NOT EXISTS tl_files (
    file_id    TEXT    PRIMARY KEY,         -- the server's file id ("_file")
    path       TEXT    NOT NULL,
    size       INTEGER NOT NULL,
    sha256     TEXT    NOT NULL,
    collection TEXT    NOT NULL,            -- the document it was opened through (or uploaded
    doc_id     TEXT    NOT NULL,            -- for): it stays while that document refers to it
    pinned     INTEGER NOT NULL DEFAULT 0,  -- 1: kept whatever the limit, outside it
    used_at    INTEGER NOT NULL             -- unix milliseconds of the last open: LRU
);
CREATE INDEX IF NOT EXISTS tl_files_lru ON tl_files (pinned, used_at, file_id);
