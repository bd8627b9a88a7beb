package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/sync"
)

// Sync returns the embedded engine's sync.Store.
func (db *DB) Sync() sync.Store { return syncStore{db} }

type syncStore struct{ db *DB }

var _ sync.Store = syncStore{}

const docColumns = `collection, scope, doc_id, owner, version, seq, deleted, fields, meta, buckets, evicted, evict_seq, updated_at`

func scanDoc(row scanner) (sync.Document, error) {
	var d sync.Document
	var fields, meta, buckets, evicted string
	var updated int64
	err := row.Scan(&d.Ref.Collection, &d.Ref.Scope, &d.Ref.ID, &d.Owner, &d.Version, &d.Seq, &d.Deleted, &fields, &meta, &buckets, &evicted, &d.EvictSeq, &updated)
	if err != nil {
		return d, err
	}
	d.UpdatedAt = fromMillis(updated)
	if err := decodeJSON(fields, &d.Fields); err != nil {
		return d, err
	}
	if err := decodeJSON(meta, &d.Meta); err != nil {
		return d, err
	}
	d.Buckets, d.Evicted = splitBuckets(buckets), splitBuckets(evicted)
	return d, nil
}

// scanChange reads a ScanBucket row: what a pull needs and nothing more.
func scanChange(row scanner) (sync.Document, error) {
	var d sync.Document
	var fields, buckets, evicted string
	if err := row.Scan(&d.Ref.Collection, &d.Ref.Scope, &d.Ref.ID, &d.Version, &d.Seq, &d.Deleted, &fields, &buckets, &evicted, &d.EvictSeq); err != nil {
		return d, err
	}
	d.Buckets, d.Evicted = splitBuckets(buckets), splitBuckets(evicted)
	return d, decodeJSON(fields, &d.Fields)
}

func splitBuckets(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// decodeJSON decodes keeping numbers exact (json.Number); sync normalises them.
func decodeJSON(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}

func (s syncStore) FindDocuments(ctx context.Context, refs []sync.DocRef) ([]sync.Document, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	var q strings.Builder
	q.WriteString(`SELECT ` + docColumns + ` FROM sync_docs WHERE (collection, scope, doc_id) IN (VALUES `)
	args := make([]any, 0, 3*len(refs))
	for i, r := range refs {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?)")
		args = append(args, r.Collection, r.Scope, r.ID)
	}
	q.WriteString(")")
	rows, err := s.db.query(ctx, q.String(), args...)
	if err != nil {
		return nil, mapError(err, "find documents")
	}
	return collect(rows, scanDoc, "find documents")
}

func (s syncStore) ListOwnedDocuments(ctx context.Context, owner string, limit int) ([]sync.Document, error) {
	rows, err := s.db.query(ctx, `SELECT `+docColumns+` FROM sync_docs WHERE owner = ? AND deleted = 0 LIMIT ?`, owner, max(1, limit))
	if err != nil {
		return nil, mapError(err, "list owned documents")
	}
	return collect(rows, scanDoc, "list owned documents")
}

func (s syncStore) Commit(ctx context.Context, c sync.Commit) ([]sync.CommitResult, error) {
	results := make([]sync.CommitResult, len(c.Writes))
	// Concurrent commits share one transaction and one fsync (group.go).
	err := s.db.group(ctx, "commit documents", func(ctx context.Context, tx wtx) error {
		if c.Client != nil {
			if err := claimClient(ctx, tx, *c.Client); err != nil {
				return err
			}
		}
		conflict := false
		for i, w := range c.Writes {
			d := w.Doc
			var stored int64
			err := tx.queryRow(ctx, sqlDocVersion, d.Ref.Collection, d.Ref.Scope, d.Ref.ID).Scan(&stored)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if stored != w.BaseVersion {
				results[i].Conflict, conflict = true, true
				continue
			}
			if err := tx.queryRow(ctx, sqlNextSeq).Scan(&results[i].Seq); err != nil {
				return err
			}
			if err := writeDoc(ctx, tx, d, results[i].Seq, w.BaseVersion == 0); err != nil {
				return err
			}
		}
		if c.Client != nil && !conflict {
			_, err := tx.exec(ctx, sqlRaiseClient, c.Client.High, c.Client.ClientID, c.Client.UserID)
			return err
		}
		return nil
	})
	return results, err
}

// The statements of a commit, prepared once on the writer connection (writeStmts).
const (
	sqlDocVersion  = `SELECT version FROM sync_docs WHERE collection = ? AND scope = ? AND doc_id = ?`
	sqlNextSeq     = `UPDATE sync_sequence SET value = value + 1 WHERE id = 1 RETURNING value`
	sqlRaiseClient = `UPDATE sync_clients SET high = max(high, ?) WHERE client_id = ? AND user_id = ?`
	sqlClaimClient = `INSERT INTO sync_clients (client_id, user_id, high) VALUES (?, ?, 0)
		ON CONFLICT (client_id) DO NOTHING`
	sqlClientOwner = `SELECT user_id FROM sync_clients WHERE client_id = ?`
	sqlPutDoc      = `INSERT INTO sync_docs (` + docColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (collection, scope, doc_id) DO UPDATE SET owner = excluded.owner, version = excluded.version,
			seq = excluded.seq, deleted = excluded.deleted, fields = excluded.fields, meta = excluded.meta,
			buckets = excluded.buckets, evicted = excluded.evicted, evict_seq = excluded.evict_seq, updated_at = excluded.updated_at`
	sqlDeleteDocBuckets = `DELETE FROM sync_doc_buckets WHERE collection = ? AND scope = ? AND doc_id = ?`
	sqlPutDocBucket     = `INSERT INTO sync_doc_buckets (bucket, seq, collection, scope, doc_id, deleted, member) VALUES (?, ?, ?, ?, ?, ?, ?)`
	sqlDeleteDocFiles   = `DELETE FROM sync_doc_files WHERE collection = ? AND scope = ? AND doc_id = ?`
	sqlPutDocFile       = `INSERT INTO sync_doc_files (collection, scope, doc_id, file_id) VALUES (?, ?, ?, ?)`
)

// claimClient makes the client m's user's, at mark 0, unless it is someone's already; a
// client of another user is ErrClientTaken, which rolls the commit back. (In the commit's
// transaction: the claim and the writes are one.)
func claimClient(ctx context.Context, tx wtx, m sync.ClientMark) error {
	if _, err := tx.exec(ctx, sqlClaimClient, m.ClientID, m.UserID); err != nil {
		return err
	}
	var owner string
	if err := tx.queryRow(ctx, sqlClientOwner, m.ClientID).Scan(&owner); err != nil {
		return err
	}
	if owner != m.UserID {
		return sync.ErrClientTaken
	}
	return nil
}

// writeDoc stores a document's new state under seq, moves its bucket entries to seq, and
// records the files its fields refer to (sync_doc_files, for the files sweeper), all in
// the commit's transaction. fresh: the document did not exist, so it has no entries yet.
func writeDoc(ctx context.Context, tx wtx, d sync.Document, seq int64, fresh bool) error {
	fields, err := json.Marshal(orEmpty(d.Fields))
	if err != nil {
		return err
	}
	meta, err := json.Marshal(d.Meta)
	if err != nil {
		return err
	}
	buckets := strings.Join(d.Buckets, " ")
	if d.EvictSeq == 0 && len(d.Evicted) > 0 {
		d.EvictSeq = seq // this write evicts
	}
	_, err = tx.exec(ctx, sqlPutDoc,
		d.Ref.Collection, d.Ref.Scope, d.Ref.ID, d.Owner, d.Version, seq, d.Deleted, string(fields), string(meta), buckets,
		strings.Join(d.Evicted, " "), d.EvictSeq, millis(d.UpdatedAt))
	if err != nil {
		return err
	}
	if _, err := tx.exec(ctx, sqlDeleteDocBuckets, d.Ref.Collection, d.Ref.Scope, d.Ref.ID); err != nil {
		return err
	}
	for i, list := range [][]string{d.Buckets, d.Evicted} {
		for _, b := range list {
			if _, err := tx.exec(ctx, sqlPutDocBucket,
				b, seq, d.Ref.Collection, d.Ref.Scope, d.Ref.ID, d.Deleted, i == 0); err != nil {
				return err
			}
		}
	}
	if !fresh {
		if _, err := tx.exec(ctx, sqlDeleteDocFiles, d.Ref.Collection, d.Ref.Scope, d.Ref.ID); err != nil {
			return err
		}
	}
	if d.Deleted {
		return nil // a tombstone refers to nothing
	}
	for _, id := range files.Refs(d.Fields) {
		if _, err := tx.exec(ctx, sqlPutDocFile, d.Ref.Collection, d.Ref.Scope, d.Ref.ID, id); err != nil {
			return err
		}
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func (s syncStore) Watermark(ctx context.Context) (int64, error) {
	var w int64
	err := s.db.queryRow(ctx, `SELECT value FROM sync_sequence WHERE id = 1`).Scan(&w)
	return w, mapError(err, "read the watermark")
}

// ScanBucket scans each bucket through the (bucket, seq) index, at most Limit rows each,
// and merges: a document in several of the buckets is the same row of sync_docs, at the
// same seq, and is kept once. (One query with bucket IN (...) would sort every matching
// row before its LIMIT: the whole history of the buckets, at an initial sync.)
func (s syncStore) ScanBucket(ctx context.Context, q sync.BucketScan) ([]sync.Document, error) {
	limit := max(1, q.Limit)
	var out []sync.Document
	for _, b := range slices.Compact(slices.Sorted(slices.Values(q.Buckets))) {
		docs, err := s.scanOne(ctx, q, b, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, docs...)
	}
	if len(q.Buckets) > 1 {
		slices.SortStableFunc(out, func(a, b sync.Document) int { return cmp.Compare(a.Seq, b.Seq) })
		out = slices.CompactFunc(out, func(a, b sync.Document) bool { return a.Seq == b.Seq })
	}
	return out[:min(len(out), limit)], nil
}

func (s syncStore) scanOne(ctx context.Context, q sync.BucketScan, bucket string, limit int) ([]sync.Document, error) {
	var sqlq bytes.Buffer
	sqlq.WriteString(`SELECT d.collection, d.scope, d.doc_id, d.version, d.seq, d.deleted, d.fields, d.buckets, d.evicted, d.evict_seq
		FROM sync_doc_buckets b JOIN sync_docs d ON d.collection = b.collection AND d.scope = b.scope AND d.doc_id = b.doc_id
		WHERE b.bucket = ? AND b.seq > ? AND b.seq <= ?`)
	args := []any{bucket, q.After, q.Through}
	if q.SkipDeleted {
		sqlq.WriteString(` AND b.deleted = 0 AND b.member = 1`)
	}
	if len(q.Collections) > 0 {
		sqlq.WriteString(` AND b.collection IN (` + strings.TrimSuffix(strings.Repeat("?, ", len(q.Collections)), ", ") + `)`)
		for _, c := range q.Collections {
			args = append(args, c)
		}
	}
	sqlq.WriteString(` ORDER BY b.seq LIMIT ?`)
	args = append(args, limit)
	rows, err := s.db.query(ctx, sqlq.String(), args...)
	if err != nil {
		return nil, mapError(err, "scan bucket")
	}
	return collect(rows, scanChange, "scan bucket")
}

func (s syncStore) FindClient(ctx context.Context, id string) (sync.ClientMark, error) {
	m := sync.ClientMark{ClientID: id}
	err := s.db.queryRow(ctx, `SELECT user_id, high FROM sync_clients WHERE client_id = ?`, id).Scan(&m.UserID, &m.High)
	return m, mapError(err, "find client")
}

// collectionRecord is a collection's stored configuration.
type collectionRecord struct {
	Policy      sync.Policy     `json:"policy"`
	Read        sync.ReadRule   `json:"read"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	MaxDocBytes int             `json:"maxDocBytes"`
	Notify      bool            `json:"notify"`
}

func (s syncStore) ListCollections(ctx context.Context) ([]sync.Collection, error) {
	rows, err := s.db.query(ctx, `SELECT name, config, updated_at FROM sync_collections ORDER BY name`)
	if err != nil {
		return nil, mapError(err, "list collections")
	}
	return collect(rows, func(row scanner) (sync.Collection, error) {
		var c sync.Collection
		var config string
		var updated int64
		if err := row.Scan(&c.Name, &config, &updated); err != nil {
			return c, err
		}
		var r collectionRecord
		if err := json.Unmarshal([]byte(config), &r); err != nil {
			return c, err
		}
		c.Policy, c.Read, c.Schema, c.MaxDocBytes, c.Notify, c.UpdatedAt = r.Policy, r.Read, r.Schema, r.MaxDocBytes, r.Notify, fromMillis(updated)
		return c, nil
	}, "list collections")
}

func (s syncStore) PutCollection(ctx context.Context, c sync.Collection) error {
	config, err := json.Marshal(collectionRecord{Policy: c.Policy, Read: c.Read, Schema: c.Schema, MaxDocBytes: c.MaxDocBytes, Notify: c.Notify})
	if err != nil {
		return mapError(err, "put collection")
	}
	_, err = s.db.write.ExecContext(ctx, `INSERT INTO sync_collections (name, config, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET config = excluded.config, updated_at = excluded.updated_at`, c.Name, string(config), millis(c.UpdatedAt))
	return mapError(err, "put collection")
}

func (s syncStore) DeleteCollection(ctx context.Context, name string) error {
	res, err := s.db.write.ExecContext(ctx, `DELETE FROM sync_collections WHERE name = ?`, name)
	return rowsOr(res, err, "delete collection")
}
