-- Tideline client core v2: the named statements every SDK runs against the cache that
-- migrations/*.sql create. Each "-- name: x" starts one statement; parameters are named
-- (:collection) and every value is bound, never pasted into the SQL text (field names
-- included: they are keys compared with json_each, never JSON paths).
--
-- Which statements run, in which order and in which transaction, is docs/sdk-core.md
-- ("Procedures"); that page is the contract, this file its SQL.

-- name: get_meta
SELECT value FROM tl_meta WHERE key = :key;

-- name: set_meta
INSERT INTO tl_meta (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: delete_meta
DELETE FROM tl_meta WHERE key = :key;

-- name: add_mutation
-- The mutation's base version is the server version the client has of the document; its
-- size is what it counts for against a push's byte budget. The new id is the connection's
-- last_insert_rowid() (no RETURNING: it needs SQLite 3.35).
INSERT INTO tl_outbox (collection, doc_id, op, fields, ops, hlc, base_version, created_at, size)
VALUES (:collection, :doc_id, :op, :fields, :ops, :hlc,
        coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0), :now,
        200 + length(CAST(:collection AS BLOB)) + length(CAST(:doc_id AS BLOB))
            + coalesce(length(CAST(:fields AS BLOB)), 0) + coalesce(length(CAST(:ops AS BLOB)), 0));

-- name: last_mutation_id
SELECT last_insert_rowid();

-- name: outbox_batch
-- The oldest mutations, in order: the candidates of the next push (docs/sdk-core.md,
-- "Batching", takes the prefix that fits the byte budget).
SELECT id, collection, doc_id, op, fields, ops, hlc, base_version, size
FROM tl_outbox ORDER BY id LIMIT :limit;

-- name: outbox_of_doc
-- The pending mutations of one document, in order: what a full rebase folds.
SELECT id, op, fields, ops FROM tl_outbox
WHERE collection = :collection AND doc_id = :doc_id ORDER BY id;

-- name: outbox_count
SELECT count(*) FROM tl_outbox;

-- name: ack_mutation
-- Settles a mutation. changes() = 0 means another process on the same cache settled it
-- first: the receipt is then ignored.
DELETE FROM tl_outbox WHERE id = :id;

-- name: apply_mutation
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

-- name: view_get
SELECT doc, version, pending FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_set
-- The view of a document that exists: its server version (0: none) and its pending count
-- are read here, from tl_server and tl_outbox.
INSERT INTO tl_view (collection, doc_id, doc, version, pending)
VALUES (:collection, :doc_id, :doc,
        coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0),
        (SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id))
ON CONFLICT (collection, doc_id) DO UPDATE SET doc = excluded.doc, version = excluded.version, pending = excluded.pending;

-- name: view_settled
-- After an applied receipt whose server copy was stored: the view's document is unchanged
-- (server copy + remaining outbox = old server copy + whole outbox); only its version and
-- pending count move.
UPDATE tl_view SET
  version = coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0),
  pending = (SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id)
WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_delete
DELETE FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_from_server
-- The view of a document with no pending write: its server copy (when that is deleted or
-- absent, view_delete runs as well, first).
INSERT OR REPLACE INTO tl_view (collection, doc_id, doc, version, pending)
SELECT collection, doc_id, doc, version, 0 FROM tl_server
WHERE collection = :collection AND doc_id = :doc_id AND doc IS NOT NULL;

-- name: pending_of_doc
SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id;

-- name: server_put
-- The server's state of a document (doc NULL: deleted). An older state (lower seq) than
-- the one kept is ignored (changes() = 0), so a late receipt cannot undo a newer pull.
-- :buckets NULL keeps the buckets known.
INSERT INTO tl_server (collection, doc_id, doc, version, seq, buckets, reset_mark)
VALUES (:collection, :doc_id, :doc, :version, :seq, coalesce(:buckets, '[]'), 0)
ON CONFLICT (collection, doc_id) DO UPDATE SET
  doc = excluded.doc, version = excluded.version, seq = excluded.seq,
  buckets = coalesce(:buckets, tl_server.buckets), reset_mark = 0
WHERE excluded.seq >= tl_server.seq;

-- name: server_put_applied
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

-- name: server_get
SELECT doc, version, seq, buckets, reset_mark FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;

-- name: server_empty
-- 1 when the client holds no server documents: only then is its pull "fresh" (an initial
-- sync may leave out tombstones). Receipts store documents too, so a client that pushed
-- before it first pulled is not fresh, and hears of deletions it would otherwise miss.
SELECT NOT EXISTS (SELECT 1 FROM tl_server);

-- name: server_evict
DELETE FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;

-- name: docs_in_buckets
-- Documents all of whose known buckets are in :buckets (a JSON array).
SELECT collection, doc_id FROM tl_server
WHERE json_array_length(buckets) > 0
  AND NOT EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value NOT IN (SELECT value FROM json_each(:buckets)));

-- name: server_drop_buckets
DELETE FROM tl_server
WHERE json_array_length(buckets) > 0
  AND NOT EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value NOT IN (SELECT value FROM json_each(:buckets)));

-- name: server_mark_reset
UPDATE tl_server SET reset_mark = 1
WHERE EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));

-- name: docs_marked
SELECT collection, doc_id FROM tl_server
WHERE reset_mark = 1
  AND EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));

-- name: server_drop_marked
DELETE FROM tl_server
WHERE reset_mark = 1
  AND EXISTS (SELECT 1 FROM json_each(tl_server.buckets) b WHERE b.value IN (SELECT value FROM json_each(:buckets)));

-- name: server_mark_all
-- A full resync (the server refused the cursor): every document is marked; those the new
-- initial sync re-sends (or a receipt sets) clear their mark, and at its end the documents
-- still marked are dropped (docs_marked_all, server_drop_marked_all).
UPDATE tl_server SET reset_mark = 1;

-- name: docs_marked_all
SELECT collection, doc_id FROM tl_server WHERE reset_mark = 1;

-- name: server_drop_marked_all
DELETE FROM tl_server WHERE reset_mark = 1;

-- name: docs_outside
-- Documents of collections not in :collections (a JSON array).
SELECT collection, doc_id FROM tl_server WHERE collection NOT IN (SELECT value FROM json_each(:collections));

-- name: server_drop_outside
DELETE FROM tl_server WHERE collection NOT IN (SELECT value FROM json_each(:collections));

-- name: clear_outbox
DELETE FROM tl_outbox;

-- name: clear_server
DELETE FROM tl_server;

-- name: clear_view
DELETE FROM tl_view;

-- name: clear_meta
DELETE FROM tl_meta;

-- name: sqlite_check
-- Run at open: the SQLite version, and whether the JSON functions the core uses exist
-- (this statement fails to prepare without them).
SELECT sqlite_version(), json_patch('{}', json_object('a', json('[1]')));

-- name: attachment_add
-- Attachments (docs/sdk-core.md "Attachments"): the upload queue and the download cache.
-- A file captured for a document's field; its pending reference is written by the same
-- transaction (a patch of that field).
INSERT INTO tl_attachments (local_id, collection, doc_id, field, path, name, content_type, size, sha256, created_at)
VALUES (:local_id, :collection, :doc_id, :field, :path, :name, :content_type, :size, :sha256, :now);

-- name: attachments_queue
-- The uploads to run, oldest first.
SELECT local_id, collection, doc_id, field, path, name, content_type, size, sha256, state, attempts,
       upload_url, upload_offset
FROM tl_attachments ORDER BY created_at, local_id;

-- name: attachment_get
SELECT collection, doc_id, field, path, name, content_type, size, sha256, state, attempts, upload_url, upload_offset
FROM tl_attachments WHERE local_id = :local_id;

-- name: attachment_wanted
-- 1 when the document's view still holds this attachment's pending reference in its
-- field (an object whose "pending" is the local id); 0 when the document was deleted, or
-- the field replaced (then attachments_cancel_unwanted cancels it), or the view is stale
-- for a moment (it is then left for the next run).
SELECT EXISTS (
  SELECT 1 FROM tl_view v, json_each(v.doc) f,
                json_each(CASE WHEN f.type = 'object' THEN f.value ELSE '{}' END) p
  WHERE v.collection = :collection AND v.doc_id = :doc_id AND f.key = :field
    AND p.key = 'pending' AND p.value = :local_id);

-- name: attachments_cancel_unwanted
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

-- name: attachment_started
-- The tus upload was created (POST answered 201 with its Location's path).
UPDATE tl_attachments SET state = 'uploading', upload_url = :upload_url, upload_offset = 0
WHERE local_id = :local_id;

-- name: attachment_progress
-- The server's offset, as a HEAD or an interrupted PATCH said (progress for the app).
UPDATE tl_attachments SET upload_offset = :upload_offset WHERE local_id = :local_id;

-- name: attachment_attempt_failed
-- A failure that is not final (network, 5xx, 409, 429): the upload stays, for the next run.
UPDATE tl_attachments SET attempts = attempts + 1, last_error = :error WHERE local_id = :local_id;

-- name: attachment_restart
-- The server no longer knows the upload (404 to HEAD or PATCH: expired, swept): start over.
UPDATE tl_attachments SET state = 'queued', upload_url = NULL, upload_offset = 0 WHERE local_id = :local_id;

-- name: attachment_delete
DELETE FROM tl_attachments WHERE local_id = :local_id;

-- name: attachments_all
-- Every attachment's copy (clear removes them from disk after the transaction).
SELECT local_id, path FROM tl_attachments;

-- name: clear_attachments
DELETE FROM tl_attachments;

-- name: file_get
SELECT path, size, sha256, pinned FROM tl_files WHERE file_id = :file_id;

-- name: file_put
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

-- name: file_touch
-- An open: the file becomes the most recently used.
UPDATE tl_files SET used_at = :now WHERE file_id = :file_id;

-- name: file_pin
UPDATE tl_files SET pinned = :pinned WHERE file_id = :file_id;

-- name: file_delete
DELETE FROM tl_files WHERE file_id = :file_id;

-- name: files_to_evict
-- LRU: the unpinned files that do not fit in :limit bytes when the most recently used
-- are kept first (ties: the greater file id is the more recent). :keep (the file being
-- opened) is never listed.
SELECT f.file_id, f.path FROM tl_files f
WHERE f.pinned = 0 AND f.file_id <> :keep
  AND (SELECT sum(g.size) FROM tl_files g
       WHERE g.pinned = 0 AND (g.used_at > f.used_at OR (g.used_at = f.used_at AND g.file_id >= f.file_id))) > :limit
ORDER BY f.used_at, f.file_id;

-- name: files_unreachable
-- Cached files whose document is no longer in the view, or no longer refers to them: the
-- user lost access (an eviction, a removed bucket, a deletion) or the reference was
-- removed. Pinned files too: a pin does not outlive access.
SELECT f.file_id, f.path FROM tl_files f
WHERE NOT EXISTS (SELECT 1 FROM tl_view v
                  WHERE v.collection = f.collection AND v.doc_id = f.doc_id AND instr(v.doc, json_quote(f.file_id)) > 0);

-- name: files_all
SELECT file_id, path FROM tl_files;

-- name: clear_files
DELETE FROM tl_files;

-- name: cache_bytes
-- What the unpinned files take (the limit's measure), and the pinned ones.
SELECT coalesce(sum(CASE WHEN pinned = 0 THEN size END), 0), coalesce(sum(CASE WHEN pinned = 1 THEN size END), 0) FROM tl_files;

-- name: attachments_count
SELECT count(*) FROM tl_attachments;

-- name: attachment_state
SELECT state FROM tl_attachments WHERE local_id = :local_id;

-- name: files_list
-- The download cache, by file id (for the app, and the runners' expectFiles).
SELECT file_id, collection, doc_id, size, sha256, pinned, used_at, path FROM tl_files ORDER BY file_id;

-- name: download_get
-- Partial downloads (docs/sdk-core.md "download"): the bytes a cut download kept.
SELECT path, sha256 FROM tl_downloads WHERE file_id = :file_id;

-- name: download_put
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

-- name: download_delete
DELETE FROM tl_downloads WHERE file_id = :file_id;

-- name: downloads_unreachable
-- Partial downloads whose document is no longer in the view, or no longer refers to the
-- file: dropped with the cached files (files_unreachable).
SELECT d.file_id, d.path FROM tl_downloads d
WHERE NOT EXISTS (SELECT 1 FROM tl_view v
                  WHERE v.collection = d.collection AND v.doc_id = d.doc_id AND instr(v.doc, json_quote(d.file_id)) > 0);

-- name: downloads_expired
-- Partial downloads not resumed since :before (at open: now - files.partialMaxAgeMs).
SELECT file_id, path FROM tl_downloads WHERE updated_at < :before;

-- name: downloads_all
SELECT file_id, path FROM tl_downloads;

-- name: clear_downloads
DELETE FROM tl_downloads;
