-- Cache version 2 (client core v2).
-- tl_outbox.size: the bytes a mutation counts for against a push's byte budget (see
-- docs/sdk-core.md, "Batching"), computed once when the mutation is written. Rows written
-- by core v1 get the same value computed from their columns.
ALTER TABLE tl_outbox ADD COLUMN size INTEGER NOT NULL DEFAULT 0;

UPDATE tl_outbox SET size = 200 + length(CAST(collection AS BLOB)) + length(CAST(doc_id AS BLOB))
  + coalesce(length(CAST(fields AS BLOB)), 0) + coalesce(length(CAST(ops AS BLOB)), 0);
