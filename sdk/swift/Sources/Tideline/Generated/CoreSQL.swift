// GENERATED CODE - DO NOT EDIT. cmd/sdkgen writes it from sdk/core (core.json,
// statements.sql, migrations/): go generate ./cmd/sdkgen
//
// The client core's SQL and settings, as the SDK embeds them. docs/sdk-core.md says which
// statement runs when.

/// The client core: its settings, its migrations and its named statements.
public enum CoreSQL {
    /// The cache version: the number of migrations (PRAGMA user_version).
    public static let cacheVersion = 4
    /// The oldest SQLite the core runs on, checked at open.
    public static let sqliteMinimum = "3.32.0"
    /// The SQLite version the core is pinned to (the newest of its test matrix).
    public static let sqlitePinned = "3.54.1"
    /// The most mutations one push sends.
    public static let pushMaxMutations = 500
    /// The byte budget of one push.
    public static let pushMaxBytes = 524288
    /// The most changes one pull asks for.
    public static let pullLimit = 500
    /// The download cache's default limit in bytes (unpinned files).
    public static let filesCacheBytes = 268435456
    /// How long a cut download's bytes are kept without being resumed (milliseconds).
    public static let filesPartialMaxAgeMs = 604800000

    /// The migrations: migrations[i] brings a cache from version i to version i + 1.
    public static let migrations: [String] = [
        """
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
""",
        """
-- Cache version 2 (client core v2).
-- tl_outbox.size: the bytes a mutation counts for against a push's byte budget (see
-- docs/sdk-core.md, "Batching"), computed once when the mutation is written. Rows written
-- by core v1 get the same value computed from their columns.
ALTER TABLE tl_outbox ADD COLUMN size INTEGER NOT NULL DEFAULT 0;

UPDATE tl_outbox SET size = 200 + length(CAST(collection AS BLOB)) + length(CAST(doc_id AS BLOB))
  + coalesce(length(CAST(fields AS BLOB)), 0) + coalesce(length(CAST(ops AS BLOB)), 0);
""",
        """
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
""",
        """
-- Cache version 4: partial downloads (docs/sdk-core.md "Attachments", "download").
--   tl_downloads  the bytes a cut download kept, one file per file id (part/<file id>),
--                 resumed with Range by a later open (this process or another, also after
--                 a restart); dropped with access, by clear, and when older than
--                 core.json files.partialMaxAgeMs.
-- A row is deleted in the transaction that takes its file (renames it away): a process
-- that finds the row owns the file, so two processes never write the same bytes.

CREATE TABLE IF NOT EXISTS tl_downloads (
    file_id    TEXT    PRIMARY KEY,         -- the server's file id ("_file")
    path       TEXT    NOT NULL,            -- part/<file id>, relative to the files directory
    sha256     TEXT    NOT NULL,            -- the reference's hash: the If-Range validator
    collection TEXT    NOT NULL,            -- the document it was opened through: the
    doc_id     TEXT    NOT NULL,            -- partial goes when the user loses it
    updated_at INTEGER NOT NULL             -- unix milliseconds of the last bytes kept
);
""",
    ]

    /// The statement ack_mutation.
    public static let ackMutation = """
-- Settles a mutation. changes() = 0 means another process on the same cache settled it
-- first: the receipt is then ignored.
DELETE FROM tl_outbox WHERE id = :id;
"""

    /// The statement add_mutation.
    public static let addMutation = """
-- The mutation's base version is the server version the client has of the document; its
-- size is what it counts for against a push's byte budget. The new id is the connection's
-- last_insert_rowid() (no RETURNING: it needs SQLite 3.35).
INSERT INTO tl_outbox (collection, doc_id, op, fields, ops, hlc, base_version, created_at, size)
VALUES (:collection, :doc_id, :op, :fields, :ops, :hlc,
        coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0), :now,
        200 + length(CAST(:collection AS BLOB)) + length(CAST(:doc_id AS BLOB))
            + coalesce(length(CAST(:fields AS BLOB)), 0) + coalesce(length(CAST(:ops AS BLOB)), 0));
"""

    /// The statement apply_mutation.
    public static let applyMutation = """
-- :doc (a JSON object, or NULL for a deleted or absent document) with one mutation
-- applied; NULL when the result is deleted. put: the document becomes its fields; delete:
-- NULL; patch: each field of :fields is set (null: removed), then each operation of :ops
-- applies to its field (fields and ops name distinct fields, so their order is free):
--   inc     the field's number (0 when it is absent or not a number) plus the operand
--   max/min the operand, unless the field is a number already larger / smaller (or equal)
--   add     the array (empty when absent or not an array) with the operand's elements it
--           lacks appended in their order, each once
--   remove  the array without every element equal to one of the operand's
-- Values of :fields are copied as they are written (json_patch keeps number text); the
-- numbers ops compute render by the rule of "Numbers" in docs/sdk-core.md: an integer in
-- decimal, any other number as printf('%!.15g'). Elements are equal when they are both
-- numbers of equal value, both strings, booleans or nulls of equal value.
WITH
  m AS (SELECT :op AS op, :fields AS fields, :ops AS ops, :doc AS doc),
  f AS (
    SELECT CASE m.op
      WHEN 'delete' THEN NULL
      WHEN 'put' THEN json_patch('{}', coalesce(m.fields, '{}'))
      ELSE json_patch(json_patch(coalesce(m.doc, '{}'),
                                 (SELECT json_group_object(k.key, NULL) FROM json_each(coalesce(m.fields, '{}')) k)),
                      coalesce(m.fields, '{}'))
    END AS doc FROM m
  ),
  o AS (
    SELECT fo.key AS field, k.key AS kind, k.value AS arg, k.type AS argtype,
           (SELECT d.value FROM f, json_each(f.doc) d WHERE d.key = fo.key) AS cur,
           (SELECT d.type FROM f, json_each(f.doc) d WHERE d.key = fo.key) AS curtype
    FROM m, json_each(coalesce(m.ops, '{}')) fo, json_each(fo.value) k
    WHERE m.op = 'patch'
  ),
  n AS (
    SELECT field, CASE kind
      WHEN 'inc' THEN (SELECT CASE typeof(r) WHEN 'integer' THEN CAST(r AS TEXT) ELSE printf('%!.15g', r) END
                       FROM (SELECT CASE WHEN curtype IN ('integer', 'real') THEN cur ELSE 0 END + arg AS r))
      WHEN 'max' THEN CASE WHEN curtype IN ('integer', 'real') AND cur >= arg THEN NULL
                           WHEN argtype = 'integer' THEN CAST(arg AS TEXT) ELSE printf('%!.15g', arg) END
      WHEN 'min' THEN CASE WHEN curtype IN ('integer', 'real') AND cur <= arg THEN NULL
                           WHEN argtype = 'integer' THEN CAST(arg AS TEXT) ELSE printf('%!.15g', arg) END
      WHEN 'add' THEN (
        SELECT '[' || coalesce(group_concat(j, ','), '') || ']' FROM (
          SELECT j FROM (
            SELECT 0 AS part, e.id AS pos,
                   CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'integer' THEN CAST(e.value AS TEXT) WHEN 'real' THEN printf('%!.15g', e.value)
                     WHEN 'text' THEN json_quote(e.value) ELSE e.value END AS j
            FROM json_each(CASE WHEN curtype = 'array' THEN cur ELSE '[]' END) e
            UNION ALL
            SELECT 1, x.id,
                   CASE x.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'integer' THEN CAST(x.value AS TEXT) WHEN 'real' THEN printf('%!.15g', x.value)
                     WHEN 'text' THEN json_quote(x.value) ELSE x.value END
            FROM json_each(arg) x
            WHERE NOT EXISTS (
                SELECT 1 FROM json_each(CASE WHEN curtype = 'array' THEN cur ELSE '[]' END) e
                WHERE (CASE WHEN e.type IN ('integer', 'real') THEN 'number' ELSE e.type END)
                    = (CASE WHEN x.type IN ('integer', 'real') THEN 'number' ELSE x.type END)
                  AND e.value IS x.value)
              AND NOT EXISTS (
                SELECT 1 FROM json_each(arg) y
                WHERE y.id < x.id
                  AND (CASE WHEN y.type IN ('integer', 'real') THEN 'number' ELSE y.type END)
                    = (CASE WHEN x.type IN ('integer', 'real') THEN 'number' ELSE x.type END)
                  AND y.value IS x.value)
          ) ORDER BY part, pos))
      WHEN 'remove' THEN (
        SELECT '[' || coalesce(group_concat(j, ','), '') || ']' FROM (
          SELECT CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                   WHEN 'integer' THEN CAST(e.value AS TEXT) WHEN 'real' THEN printf('%!.15g', e.value)
                   WHEN 'text' THEN json_quote(e.value) ELSE e.value END AS j
          FROM json_each(CASE WHEN curtype = 'array' THEN cur ELSE '[]' END) e
          WHERE NOT EXISTS (
              SELECT 1 FROM json_each(arg) x
              WHERE (CASE WHEN e.type IN ('integer', 'real') THEN 'number' ELSE e.type END)
                  = (CASE WHEN x.type IN ('integer', 'real') THEN 'number' ELSE x.type END)
                AND e.value IS x.value)
          ORDER BY e.id))
      END AS value
    FROM o
  )
SELECT CASE WHEN f.doc IS NULL THEN NULL
  ELSE json_patch(f.doc, (SELECT json_group_object(n.field, json(n.value)) FROM n WHERE n.value IS NOT NULL)) END
FROM f;
"""

    /// The statement attachment_add.
    public static let attachmentAdd = """
-- Attachments (docs/sdk-core.md "Attachments"): the upload queue and the download cache.
-- A file captured for a document's field; its pending reference is written by the same
-- transaction (a patch of that field).
INSERT INTO tl_attachments (local_id, collection, doc_id, field, path, name, content_type, size, sha256, created_at)
VALUES (:local_id, :collection, :doc_id, :field, :path, :name, :content_type, :size, :sha256, :now);
"""

    /// The statement attachment_attempt_failed.
    public static let attachmentAttemptFailed = """
-- A failure that is not final (network, 5xx, 409, 429): the upload stays, for the next run.
UPDATE tl_attachments SET attempts = attempts + 1, last_error = :error WHERE local_id = :local_id;
"""

    /// The statement attachment_delete.
    public static let attachmentDelete = """
DELETE FROM tl_attachments WHERE local_id = :local_id;
"""

    /// The statement attachment_get.
    public static let attachmentGet = """
SELECT collection, doc_id, field, path, name, content_type, size, sha256, state, attempts, upload_url, upload_offset
FROM tl_attachments WHERE local_id = :local_id;
"""

    /// The statement attachment_progress.
    public static let attachmentProgress = """
-- The server's offset, as a HEAD or an interrupted PATCH said (progress for the app).
UPDATE tl_attachments SET upload_offset = :upload_offset WHERE local_id = :local_id;
"""

    /// The statement attachment_restart.
    public static let attachmentRestart = """
-- The server no longer knows the upload (404 to HEAD or PATCH: expired, swept): start over.
UPDATE tl_attachments SET state = 'queued', upload_url = NULL, upload_offset = 0 WHERE local_id = :local_id;
"""

    /// The statement attachment_started.
    public static let attachmentStarted = """
-- The tus upload was created (POST answered 201 with its Location's path).
UPDATE tl_attachments SET state = 'uploading', upload_url = :upload_url, upload_offset = 0
WHERE local_id = :local_id;
"""

    /// The statement attachment_state.
    public static let attachmentState = """
SELECT state FROM tl_attachments WHERE local_id = :local_id;
"""

    /// The statement attachment_wanted.
    public static let attachmentWanted = """
-- 1 when the document's view still holds this attachment's pending reference in its
-- field (an object whose "pending" is the local id); 0 when the document was deleted, or
-- the field replaced (then attachments_cancel_unwanted cancels it), or the view is stale
-- for a moment (it is then left for the next run).
SELECT EXISTS (
  SELECT 1 FROM tl_view v, json_each(v.doc) f,
                json_each(CASE WHEN f.type = 'object' THEN f.value ELSE '{}' END) p
  WHERE v.collection = :collection AND v.doc_id = :doc_id AND f.key = :field
    AND p.key = 'pending' AND p.value = :local_id);
"""

    /// The statement attachments_all.
    public static let attachmentsAll = """
-- Every attachment's copy (clear removes them from disk after the transaction).
SELECT local_id, path FROM tl_attachments;
"""

    /// The statement attachments_cancel_unwanted.
    public static let attachmentsCancelUnwanted = """
-- After a local write, a receipt that carries the server's document (or rejects the
-- mutation), or a page: the attachments of the document whose pending reference left its
-- view are canceled. Not after a rebase onto a copy that may be stale (a duplicate
-- receipt without a document): the next page brings the reference back.
UPDATE tl_attachments SET state = 'canceled'
WHERE collection = :collection AND doc_id = :doc_id AND state <> 'canceled'
  AND NOT EXISTS (
    SELECT 1 FROM tl_view v, json_each(v.doc) f,
                  json_each(CASE WHEN f.type = 'object' THEN f.value ELSE '{}' END) p
    WHERE v.collection = tl_attachments.collection AND v.doc_id = tl_attachments.doc_id
      AND f.key = tl_attachments.field AND p.key = 'pending' AND p.value = tl_attachments.local_id);
"""

    /// The statement attachments_count.
    public static let attachmentsCount = """
SELECT count(*) FROM tl_attachments;
"""

    /// The statement attachments_queue.
    public static let attachmentsQueue = """
-- The uploads to run, oldest first.
SELECT local_id, collection, doc_id, field, path, name, content_type, size, sha256, state, attempts,
       upload_url, upload_offset
FROM tl_attachments ORDER BY created_at, local_id;
"""

    /// The statement cache_bytes.
    public static let cacheBytes = """
-- What the unpinned files take (the limit's measure), and the pinned ones.
SELECT coalesce(sum(CASE WHEN pinned = 0 THEN size END), 0), coalesce(sum(CASE WHEN pinned = 1 THEN size END), 0) FROM tl_files;
"""

    /// The statement clear_attachments.
    public static let clearAttachments = """
DELETE FROM tl_attachments;
"""

    /// The statement clear_downloads.
    public static let clearDownloads = """
DELETE FROM tl_downloads;
"""

    /// The statement clear_files.
    public static let clearFiles = """
DELETE FROM tl_files;
"""

    /// The statement clear_meta.
    public static let clearMeta = """
DELETE FROM tl_meta;
"""

    /// The statement clear_outbox.
    public static let clearOutbox = """
DELETE FROM tl_outbox;
"""

    /// The statement clear_server.
    public static let clearServer = """
DELETE FROM tl_server;
"""

    /// The statement clear_view.
    public static let clearView = """
DELETE FROM tl_view;
"""

    /// The statement delete_meta.
    public static let deleteMeta = """
DELETE FROM tl_meta WHERE key = :key;
"""

    /// The statement docs_in_buckets.
    public static let docsInBuckets = """
-- Documents all of whose known buckets are in :buckets (a JSON array).
SELECT collection, doc_id FROM tl_server
WHERE json_array_length(buckets) > 0
  AND NOT EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value NOT IN (SELECT value FROM json_each(:buckets)));
"""

    /// The statement docs_marked.
    public static let docsMarked = """
SELECT collection, doc_id FROM tl_server
WHERE reset_mark = 1
  AND EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));
"""

    /// The statement docs_marked_all.
    public static let docsMarkedAll = """
SELECT collection, doc_id FROM tl_server WHERE reset_mark = 1;
"""

    /// The statement docs_outside.
    public static let docsOutside = """
-- Documents of collections not in :collections (a JSON array).
SELECT collection, doc_id FROM tl_server WHERE collection NOT IN (SELECT value FROM json_each(:collections));
"""

    /// The statement download_delete.
    public static let downloadDelete = """
DELETE FROM tl_downloads WHERE file_id = :file_id;
"""

    /// The statement download_get.
    public static let downloadGet = """
-- Partial downloads (docs/sdk-core.md "download"): the bytes a cut download kept.
SELECT path, sha256 FROM tl_downloads WHERE file_id = :file_id;
"""

    /// The statement download_put.
    public static let downloadPut = """
-- A cut download keeps its bytes (its file is renamed to :path in the same transaction
-- when this changed a row): only while the document is in the view and refers to the
-- file, and the file is not cached; otherwise (access lost, a clear, another process
-- finished it meanwhile) nothing is kept.
INSERT INTO tl_downloads (file_id, path, sha256, collection, doc_id, updated_at)
SELECT :file_id, :path, :sha256, :collection, :doc_id, :now
WHERE EXISTS (SELECT 1 FROM tl_view v
              WHERE v.collection = :collection AND v.doc_id = :doc_id AND instr(v.doc, json_quote(:file_id)) > 0)
  AND NOT EXISTS (SELECT 1 FROM tl_files f WHERE f.file_id = :file_id)
ON CONFLICT (file_id) DO UPDATE SET path = excluded.path, sha256 = excluded.sha256,
  collection = excluded.collection, doc_id = excluded.doc_id, updated_at = excluded.updated_at;
"""

    /// The statement downloads_all.
    public static let downloadsAll = """
SELECT file_id, path FROM tl_downloads;
"""

    /// The statement downloads_expired.
    public static let downloadsExpired = """
-- Partial downloads not resumed since :before (at open: now - files.partialMaxAgeMs).
SELECT file_id, path FROM tl_downloads WHERE updated_at < :before;
"""

    /// The statement downloads_unreachable.
    public static let downloadsUnreachable = """
-- Partial downloads whose document is no longer in the view, or no longer refers to the
-- file: dropped with the cached files (files_unreachable).
SELECT d.file_id, d.path FROM tl_downloads d
WHERE NOT EXISTS (SELECT 1 FROM tl_view v
                  WHERE v.collection = d.collection AND v.doc_id = d.doc_id AND instr(v.doc, json_quote(d.file_id)) > 0);
"""

    /// The statement file_delete.
    public static let fileDelete = """
DELETE FROM tl_files WHERE file_id = :file_id;
"""

    /// The statement file_get.
    public static let fileGet = """
SELECT path, size, sha256, pinned FROM tl_files WHERE file_id = :file_id;
"""

    /// The statement file_pin.
    public static let filePin = """
UPDATE tl_files SET pinned = :pinned WHERE file_id = :file_id;
"""

    /// The statement file_put.
    public static let filePut = """
-- A file now on the device: downloaded, or uploaded from here (its copy kept). Pinned
-- stays as it was when the file was cached already. Only while the document is in the
-- view and refers to the file (changes() = 0 otherwise: access was lost, or the cache
-- cleared, while the download ran; its file is then not kept).
INSERT INTO tl_files (file_id, path, size, sha256, collection, doc_id, pinned, used_at)
SELECT :file_id, :path, :size, :sha256, :collection, :doc_id, :pinned, :now
WHERE EXISTS (SELECT 1 FROM tl_view v
              WHERE v.collection = :collection AND v.doc_id = :doc_id AND instr(v.doc, json_quote(:file_id)) > 0)
ON CONFLICT (file_id) DO UPDATE SET path = excluded.path, size = excluded.size, sha256 = excluded.sha256,
  collection = excluded.collection, doc_id = excluded.doc_id,
  pinned = max(tl_files.pinned, excluded.pinned), used_at = excluded.used_at;
"""

    /// The statement file_touch.
    public static let fileTouch = """
-- An open: the file becomes the most recently used.
UPDATE tl_files SET used_at = :now WHERE file_id = :file_id;
"""

    /// The statement files_all.
    public static let filesAll = """
SELECT file_id, path FROM tl_files;
"""

    /// The statement files_list.
    public static let filesList = """
-- The download cache, by file id (for the app, and the runners' expectFiles).
SELECT file_id, collection, doc_id, size, sha256, pinned, used_at, path FROM tl_files ORDER BY file_id;
"""

    /// The statement files_to_evict.
    public static let filesToEvict = """
-- LRU: the unpinned files that do not fit in :limit bytes when the most recently used
-- are kept first (ties: the greater file id is the more recent). :keep (the file being
-- opened) is never listed.
SELECT f.file_id, f.path FROM tl_files f
WHERE f.pinned = 0 AND f.file_id <> :keep
  AND (SELECT sum(g.size) FROM tl_files g
       WHERE g.pinned = 0 AND (g.used_at > f.used_at OR (g.used_at = f.used_at AND g.file_id >= f.file_id))) > :limit
ORDER BY f.used_at, f.file_id;
"""

    /// The statement files_unreachable.
    public static let filesUnreachable = """
-- Cached files whose document is no longer in the view, or no longer refers to them: the
-- user lost access (an eviction, a removed bucket, a deletion) or the reference was
-- removed. Pinned files too: a pin does not outlive access.
SELECT f.file_id, f.path FROM tl_files f
WHERE NOT EXISTS (SELECT 1 FROM tl_view v
                  WHERE v.collection = f.collection AND v.doc_id = f.doc_id AND instr(v.doc, json_quote(f.file_id)) > 0);
"""

    /// The statement get_meta.
    public static let getMeta = """
SELECT value FROM tl_meta WHERE key = :key;
"""

    /// The statement last_mutation_id.
    public static let lastMutationId = """
SELECT last_insert_rowid();
"""

    /// The statement outbox_batch.
    public static let outboxBatch = """
-- The oldest mutations, in order: the candidates of the next push (docs/sdk-core.md,
-- "Batching", takes the prefix that fits the byte budget).
SELECT id, collection, doc_id, op, fields, ops, hlc, base_version, size
FROM tl_outbox ORDER BY id LIMIT :limit;
"""

    /// The statement outbox_count.
    public static let outboxCount = """
SELECT count(*) FROM tl_outbox;
"""

    /// The statement outbox_of_doc.
    public static let outboxOfDoc = """
-- The pending mutations of one document, in order: what a full rebase folds.
SELECT id, op, fields, ops FROM tl_outbox
WHERE collection = :collection AND doc_id = :doc_id ORDER BY id;
"""

    /// The statement pending_of_doc.
    public static let pendingOfDoc = """
SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// The statement server_drop_buckets.
    public static let serverDropBuckets = """
DELETE FROM tl_server
WHERE json_array_length(buckets) > 0
  AND NOT EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value NOT IN (SELECT value FROM json_each(:buckets)));
"""

    /// The statement server_drop_marked.
    public static let serverDropMarked = """
DELETE FROM tl_server
WHERE reset_mark = 1
  AND EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));
"""

    /// The statement server_drop_marked_all.
    public static let serverDropMarkedAll = """
DELETE FROM tl_server WHERE reset_mark = 1;
"""

    /// The statement server_drop_outside.
    public static let serverDropOutside = """
DELETE FROM tl_server WHERE collection NOT IN (SELECT value FROM json_each(:collections));
"""

    /// The statement server_empty.
    public static let serverEmpty = """
-- 1 when the client holds no server documents: only then is its pull "fresh" (an initial
-- sync may leave out tombstones). Receipts store documents too, so a client that pushed
-- before it first pulled is not fresh, and hears of deletions it would otherwise miss.
SELECT NOT EXISTS (SELECT 1 FROM tl_server);
"""

    /// The statement server_evict.
    public static let serverEvict = """
DELETE FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// The statement server_get.
    public static let serverGet = """
SELECT doc, version, seq, buckets, reset_mark FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// The statement server_mark_all.
    public static let serverMarkAll = """
-- A full resync (the server refused the cursor): every document is marked; those the new
-- initial sync re-sends (or a receipt sets) clear their mark, and at its end the documents
-- still marked are dropped (docs_marked_all, server_drop_marked_all).
UPDATE tl_server SET reset_mark = 1;
"""

    /// The statement server_mark_reset.
    public static let serverMarkReset = """
UPDATE tl_server SET reset_mark = 1
WHERE EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));
"""

    /// The statement server_put.
    public static let serverPut = """
-- The server's state of a document (doc NULL: deleted). An older state (lower seq) than
-- the one kept is ignored (changes() = 0), so a late receipt cannot undo a newer pull.
-- :buckets NULL keeps the buckets known.
INSERT INTO tl_server (collection, doc_id, doc, version, seq, buckets, reset_mark)
VALUES (:collection, :doc_id, :doc, :version, :seq, coalesce(:buckets, '[]'), 0)
ON CONFLICT (collection, doc_id) DO UPDATE SET
  doc = excluded.doc, version = excluded.version, seq = excluded.seq,
  buckets = coalesce(:buckets, tl_server.buckets), reset_mark = 0
WHERE excluded.seq >= tl_server.seq;
"""

    /// The statement server_put_applied.
    public static let serverPutApplied = """
-- An applied receipt's document (the server copy with the mutation on top): kept only
-- when the copy is older than the receipt (changes() = 0 otherwise). A copy at the
-- receipt's seq already has the mutation (a merged or duplicate receipt earlier in the
-- answer carried the document after the whole batch, or a pull came first): applying it
-- again would count an inc twice. Not used when an applied receipt earlier in the same
-- answer wrote the copy at that seq (the batch's mutations of a document share a seq and
-- apply one on top of the other: server_put then). The same parameters as server_put.
INSERT INTO tl_server (collection, doc_id, doc, version, seq, buckets, reset_mark)
VALUES (:collection, :doc_id, :doc, :version, :seq, coalesce(:buckets, '[]'), 0)
ON CONFLICT (collection, doc_id) DO UPDATE SET
  doc = excluded.doc, version = excluded.version, seq = excluded.seq,
  buckets = coalesce(:buckets, tl_server.buckets), reset_mark = 0
WHERE excluded.seq > tl_server.seq;
"""

    /// The statement set_meta.
    public static let setMeta = """
INSERT INTO tl_meta (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;
"""

    /// The statement sqlite_check.
    public static let sqliteCheck = """
-- Run at open: the SQLite version, and whether the JSON functions the core uses exist
-- (this statement fails to prepare without them).
SELECT sqlite_version(), json_patch('{}', json_object('a', json('[1]')));
"""

    /// The statement view_delete.
    public static let viewDelete = """
DELETE FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// The statement view_from_server.
    public static let viewFromServer = """
-- The view of a document with no pending write: its server copy (when that is deleted or
-- absent, view_delete runs as well, first).
INSERT OR REPLACE INTO tl_view (collection, doc_id, doc, version, pending)
SELECT collection, doc_id, doc, version, 0 FROM tl_server
WHERE collection = :collection AND doc_id = :doc_id AND doc IS NOT NULL;
"""

    /// The statement view_get.
    public static let viewGet = """
SELECT doc, version, pending FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// The statement view_set.
    public static let viewSet = """
-- The view of a document that exists: its server version (0: none) and its pending count
-- are read here, from tl_server and tl_outbox.
INSERT INTO tl_view (collection, doc_id, doc, version, pending)
VALUES (:collection, :doc_id, :doc,
        coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0),
        (SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id))
ON CONFLICT (collection, doc_id) DO UPDATE SET doc = excluded.doc, version = excluded.version, pending = excluded.pending;
"""

    /// The statement view_settled.
    public static let viewSettled = """
-- After an applied receipt whose server copy was stored: the view's document is unchanged
-- (server copy + remaining outbox = old server copy + whole outbox); only its version and
-- pending count move.
UPDATE tl_view SET
  version = coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0),
  pending = (SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id)
WHERE collection = :collection AND doc_id = :doc_id;
"""

    /// Every statement, by its name in statements.sql.
    public static let statements: [String: String] = [
        "ack_mutation": ackMutation,
        "add_mutation": addMutation,
        "apply_mutation": applyMutation,
        "attachment_add": attachmentAdd,
        "attachment_attempt_failed": attachmentAttemptFailed,
        "attachment_delete": attachmentDelete,
        "attachment_get": attachmentGet,
        "attachment_progress": attachmentProgress,
        "attachment_restart": attachmentRestart,
        "attachment_started": attachmentStarted,
        "attachment_state": attachmentState,
        "attachment_wanted": attachmentWanted,
        "attachments_all": attachmentsAll,
        "attachments_cancel_unwanted": attachmentsCancelUnwanted,
        "attachments_count": attachmentsCount,
        "attachments_queue": attachmentsQueue,
        "cache_bytes": cacheBytes,
        "clear_attachments": clearAttachments,
        "clear_downloads": clearDownloads,
        "clear_files": clearFiles,
        "clear_meta": clearMeta,
        "clear_outbox": clearOutbox,
        "clear_server": clearServer,
        "clear_view": clearView,
        "delete_meta": deleteMeta,
        "docs_in_buckets": docsInBuckets,
        "docs_marked": docsMarked,
        "docs_marked_all": docsMarkedAll,
        "docs_outside": docsOutside,
        "download_delete": downloadDelete,
        "download_get": downloadGet,
        "download_put": downloadPut,
        "downloads_all": downloadsAll,
        "downloads_expired": downloadsExpired,
        "downloads_unreachable": downloadsUnreachable,
        "file_delete": fileDelete,
        "file_get": fileGet,
        "file_pin": filePin,
        "file_put": filePut,
        "file_touch": fileTouch,
        "files_all": filesAll,
        "files_list": filesList,
        "files_to_evict": filesToEvict,
        "files_unreachable": filesUnreachable,
        "get_meta": getMeta,
        "last_mutation_id": lastMutationId,
        "outbox_batch": outboxBatch,
        "outbox_count": outboxCount,
        "outbox_of_doc": outboxOfDoc,
        "pending_of_doc": pendingOfDoc,
        "server_drop_buckets": serverDropBuckets,
        "server_drop_marked": serverDropMarked,
        "server_drop_marked_all": serverDropMarkedAll,
        "server_drop_outside": serverDropOutside,
        "server_empty": serverEmpty,
        "server_evict": serverEvict,
        "server_get": serverGet,
        "server_mark_all": serverMarkAll,
        "server_mark_reset": serverMarkReset,
        "server_put": serverPut,
        "server_put_applied": serverPutApplied,
        "set_meta": setMeta,
        "sqlite_check": sqliteCheck,
        "view_delete": viewDelete,
        "view_from_server": viewFromServer,
        "view_get": viewGet,
        "view_set": viewSet,
        "view_settled": viewSettled,
    ]
}
