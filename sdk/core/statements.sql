-- Tideline client core: the named statements every SDK runs against schema.sql.
-- Each "-- name: x" starts one statement; parameters are named (:collection). An SDK runs
-- the procedures below inside one transaction each, so the local cache is never half
-- updated (an app killed midway leaves it as it was before the procedure).
--
-- Procedures (what an SDK does with the statements):
--   write(c, d, op, fields, ops): add_mutation; rebase(c, d)
--   rebase(c, d):                 pending_count = 0: view_from_server (server copy
--                                 deleted or absent: view_delete).
--                                 Else fold_doc(upto = -1) -> NULL: view_delete; else
--                                 view_put (version = server_version, pending)
--   receipt applied/duplicate:    fold_doc(upto = id) -> server_put (version, seq from the
--                                 receipt, buckets kept); ack_mutation; rebase
--   receipt merged/conflict:      server_put(doc, deleted, version, seq); ack_mutation; rebase
--   receipt rejected:             ack_mutation; rebase (the app is told why)
--   pull request:                 fresh = server_empty (no documents held)
--   pulled page:                  per change: upsert/delete -> server_put; evict ->
--                                 server_evict; then rebase each; removedBuckets ->
--                                 docs_in_buckets, server_drop_buckets, rebase each;
--                                 resetBuckets -> server_mark_reset; resetComplete ->
--                                 docs_marked, server_drop_marked, rebase each;
--                                 collections -> docs_outside, server_drop_outside, rebase
--                                 each; set_meta('cursor'), all in one transaction.
--                                 The last page (hasMore false) of a full resync
--                                 (meta 'resync' = 1): docs_marked_all,
--                                 server_drop_marked_all, rebase each; resync = 0.
--   invalid cursor:               server_mark_all; resync = 1; cursor = '' (one
--                                 transaction), then pull from the start.

-- name: get_meta
SELECT value FROM tl_meta WHERE key = :key;

-- name: set_meta
INSERT INTO tl_meta (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value;

-- name: add_mutation
-- The mutation's base version is the server version the client has of the document.
INSERT INTO tl_outbox (collection, doc_id, op, fields, ops, hlc, base_version, created_at)
VALUES (:collection, :doc_id, :op, :fields, :ops, :hlc,
        coalesce((SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id), 0), :now)
RETURNING id;

-- name: outbox_batch
SELECT id, collection, doc_id, op, fields, ops, hlc, base_version
FROM tl_outbox ORDER BY id LIMIT :limit;

-- name: outbox_get
SELECT id, collection, doc_id, op, fields, ops, hlc, base_version FROM tl_outbox WHERE id = :id;

-- name: outbox_count
SELECT count(*) FROM tl_outbox;

-- name: ack_mutation
DELETE FROM tl_outbox WHERE id = :id;

-- name: fold_doc
-- The document (collection, doc_id) as the server copy with the outbox's mutations of it up
-- to :upto (-1: all) applied in order; NULL when that is deleted or absent. Puts clear the
-- document, each field of a put or patch is set (or removed when null), and each operation
-- of a patch applies to its field: inc adds (from 0), max/min keep the larger/smaller,
-- add appends the elements the array lacks, remove removes every equal element.
WITH RECURSIVE
  muts AS (
    SELECT id, op, fields, ops FROM tl_outbox
    WHERE collection = :collection AND doc_id = :doc_id AND (:upto < 0 OR id <= :upto)
  ),
  steps AS (
    SELECT id AS mid, 0 AS sub, '' AS field, op AS kind, NULL AS arg FROM muts WHERE op IN ('put', 'delete')
    UNION ALL
    SELECT m.id, 1, f.key, CASE f.type WHEN 'null' THEN 'unset' ELSE 'set' END,
           CASE f.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                       WHEN 'object' THEN f.value WHEN 'array' THEN f.value ELSE json_quote(f.value) END
    FROM muts m, json_each(m.fields) f WHERE m.op IN ('put', 'patch')
    UNION ALL
    SELECT m.id, 2, o.key, k.key,
           CASE k.type WHEN 'object' THEN k.value WHEN 'array' THEN k.value ELSE json_quote(k.value) END
    FROM muts m, json_each(m.ops) o, json_each(o.value) k WHERE m.op = 'patch'
  ),
  ordered AS (
    SELECT row_number() OVER (ORDER BY mid, sub, field) AS n, kind, '$."' || field || '"' AS path, arg FROM steps
  ),
  fold (n, doc) AS (
    SELECT 0, (SELECT doc FROM tl_server WHERE collection = :collection AND doc_id = :doc_id)
    UNION ALL
    SELECT o.n, CASE o.kind
      WHEN 'delete' THEN NULL
      WHEN 'put' THEN '{}'
      WHEN 'set' THEN json_set(coalesce(f.doc, '{}'), o.path, json(o.arg))
      WHEN 'unset' THEN json_remove(coalesce(f.doc, '{}'), o.path)
      WHEN 'inc' THEN json_set(coalesce(f.doc, '{}'), o.path,
        coalesce(CASE WHEN json_type(f.doc, o.path) IN ('integer', 'real') THEN json_extract(f.doc, o.path) END, 0) + json_extract(o.arg, '$'))
      WHEN 'max' THEN CASE
        WHEN json_type(f.doc, o.path) IN ('integer', 'real') AND json_extract(f.doc, o.path) >= json_extract(o.arg, '$') THEN f.doc
        ELSE json_set(coalesce(f.doc, '{}'), o.path, json(o.arg)) END
      WHEN 'min' THEN CASE
        WHEN json_type(f.doc, o.path) IN ('integer', 'real') AND json_extract(f.doc, o.path) <= json_extract(o.arg, '$') THEN f.doc
        ELSE json_set(coalesce(f.doc, '{}'), o.path, json(o.arg)) END
      WHEN 'add' THEN json_set(coalesce(f.doc, '{}'), o.path, json((
        SELECT json_group_array(json(j)) FROM (
          SELECT j FROM (
            SELECT 0 AS part, e.id AS pos, CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'object' THEN e.value WHEN 'array' THEN e.value ELSE json_quote(e.value) END AS j
            FROM json_each(CASE WHEN json_type(f.doc, o.path) = 'array' THEN json_extract(f.doc, o.path) ELSE '[]' END) e
            UNION ALL
            SELECT 1, min(a.id), a.j FROM (
              SELECT x.id, CASE x.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'object' THEN x.value WHEN 'array' THEN x.value ELSE json_quote(x.value) END AS j
              FROM json_each(o.arg) x) a
            WHERE a.j NOT IN (
              SELECT CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'object' THEN e.value WHEN 'array' THEN e.value ELSE json_quote(e.value) END
              FROM json_each(CASE WHEN json_type(f.doc, o.path) = 'array' THEN json_extract(f.doc, o.path) ELSE '[]' END) e)
            GROUP BY a.j
          ) ORDER BY part, pos))))
      WHEN 'remove' THEN json_set(coalesce(f.doc, '{}'), o.path, json((
        SELECT json_group_array(json(j)) FROM (
          SELECT j FROM (
            SELECT e.id AS pos, CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'object' THEN e.value WHEN 'array' THEN e.value ELSE json_quote(e.value) END AS j
            FROM json_each(CASE WHEN json_type(f.doc, o.path) = 'array' THEN json_extract(f.doc, o.path) ELSE '[]' END) e)
          WHERE j NOT IN (
            SELECT CASE x.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' WHEN 'null' THEN 'null'
                     WHEN 'object' THEN x.value WHEN 'array' THEN x.value ELSE json_quote(x.value) END
            FROM json_each(o.arg) x)
          ORDER BY pos))))
      ELSE f.doc END
    FROM fold f JOIN ordered o ON o.n = f.n + 1
  )
SELECT doc FROM fold ORDER BY n DESC LIMIT 1;

-- name: server_version
SELECT version FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;

-- name: pending_count
SELECT count(*) FROM tl_outbox WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_put
INSERT INTO tl_view (collection, doc_id, doc, version, pending)
VALUES (:collection, :doc_id, :doc, :version, :pending)
ON CONFLICT (collection, doc_id) DO UPDATE SET doc = excluded.doc, version = excluded.version, pending = excluded.pending;

-- name: view_delete
DELETE FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_get
SELECT doc, version, pending FROM tl_view WHERE collection = :collection AND doc_id = :doc_id;

-- name: view_list
SELECT doc_id, doc, version, pending FROM tl_view WHERE collection = :collection ORDER BY doc_id;

-- name: server_put
-- The server's state of a document (doc NULL: deleted). An older state (lower seq) than
-- the one kept is ignored, so a late receipt cannot undo a newer pull. :buckets NULL keeps
-- the buckets known.
INSERT INTO tl_server (collection, doc_id, doc, version, seq, buckets, reset_mark)
VALUES (:collection, :doc_id, :doc, :version, :seq, coalesce(:buckets, '[]'), 0)
ON CONFLICT (collection, doc_id) DO UPDATE SET
  doc = excluded.doc, version = excluded.version, seq = excluded.seq,
  buckets = coalesce(:buckets, tl_server.buckets), reset_mark = 0
WHERE excluded.seq >= tl_server.seq;

-- name: server_empty
-- 1 when the client holds no server documents: only then is its pull "fresh" (an initial
-- sync may leave out tombstones). Receipts store documents too, so a client that pushed
-- before it first pulled is not fresh, and hears of deletions it would otherwise miss.
SELECT NOT EXISTS (SELECT 1 FROM tl_server);

-- name: server_get
SELECT doc, version, seq, buckets, reset_mark FROM tl_server WHERE collection = :collection AND doc_id = :doc_id;

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

-- name: view_from_server
-- rebase for a document with no pending write: the view is the server copy (when it is
-- deleted or absent, run view_delete instead).
INSERT OR REPLACE INTO tl_view (collection, doc_id, doc, version, pending)
SELECT collection, doc_id, doc, version, 0 FROM tl_server
WHERE collection = :collection AND doc_id = :doc_id AND doc IS NOT NULL;
