package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/tideline-dev/tideline/files"
)

// The files sweeper's steps on the embedded engine. References are rows of
// sync_doc_files, written by a document's commit in its own transaction (writeDoc), so
// they are exactly the committed documents' references; the sweeper checks them and
// deletes a file in one write transaction, which the writer connection orders with every
// commit. Blobs are removed after that transaction, under the commit lock (as DeleteOwner
// does), so no commit links a blob that is being removed; a crash in between leaves a
// blob no file names, which SweepContent removes.

// fileRefsSchema is migration 12: the references of documents to files, and the mark of
// files found unreferenced. Documents committed before it are indexed from their fields
// (json_tree finds every object member "_file" at any depth, as files.Refs does), when
// there are files at all.
var fileRefsSchema = []string{
	`CREATE TABLE sync_doc_files (
		collection TEXT NOT NULL,
		scope      TEXT NOT NULL,
		doc_id     TEXT NOT NULL,
		file_id    TEXT NOT NULL,
		PRIMARY KEY (collection, scope, doc_id, file_id)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX sync_doc_files_file ON sync_doc_files (file_id)`,
	`ALTER TABLE files ADD COLUMN unreferenced_at INTEGER`,
	`INSERT OR IGNORE INTO sync_doc_files (collection, scope, doc_id, file_id)
		SELECT d.collection, d.scope, d.doc_id, t.value FROM sync_docs d, json_tree(d.fields) t
		WHERE EXISTS (SELECT 1 FROM files) AND d.deleted = 0 AND t.key = '_file' AND t.type = 'text'`,
}

func (s fileStore) ListUploads(ctx context.Context, before time.Time, after string, limit int) ([]files.Upload, error) {
	rows, err := s.db.read.QueryContext(ctx, `SELECT id, owner, size, name, content_type, sha256, created_at FROM file_uploads
		WHERE created_at < ? AND id > ? ORDER BY id LIMIT ?`, millis(before), after, max(1, limit))
	if err != nil {
		return nil, mapError(err, "list uploads")
	}
	defer rows.Close()
	var out []files.Upload
	for rows.Next() {
		var u files.Upload
		var created int64
		if err := rows.Scan(&u.ID, &u.Owner, &u.Size, &u.Name, &u.ContentType, &u.SHA256, &created); err != nil {
			return nil, mapError(err, "list uploads")
		}
		u.CreatedAt = fromMillis(created)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, mapError(err, "list uploads")
	}
	for i := range out {
		if out[i].Offset, err = s.offset(out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s fileStore) ExpireUploads(ctx context.Context, before time.Time, limit int) (int, error) {
	st := &s.db.files
	st.commit.Lock() // a commit checks that its upload exists, then consumes it
	defer st.commit.Unlock()
	var ids []string
	err := s.db.inTx(ctx, "expire uploads", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var err error
		ids, err = column(ctx, tx, `DELETE FROM file_uploads WHERE id IN
			(SELECT id FROM file_uploads WHERE created_at < ? ORDER BY created_at LIMIT ?) RETURNING id`, millis(before), max(1, limit))
		return err
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, id := range ids {
		errs = append(errs, removeFile(s.uploadPath(id)))
	}
	return len(ids), errors.Join(errs...)
}

func (s fileStore) SweepFiles(ctx context.Context, after string, limit int, now, deleteBefore time.Time) (string, files.SweepResult, error) {
	st := &s.db.files
	st.commit.Lock()
	defer st.commit.Unlock()
	var res files.SweepResult
	var last string
	var orphans []string
	err := s.db.inTx(ctx, "sweep files", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		type row struct {
			id, sum    string
			marked     sql.NullInt64
			referenced bool
		}
		rows, err := tx.QueryContext(ctx, `SELECT f.id, f.sha256, f.unreferenced_at,
				EXISTS (SELECT 1 FROM sync_doc_files r WHERE r.file_id = f.id)
			FROM files f WHERE f.id > ? ORDER BY f.id LIMIT ?`, after, max(1, limit))
		if err != nil {
			return err
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.sum, &r.marked, &r.referenced); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range batch {
			last = r.id
			switch {
			case r.referenced && r.marked.Valid:
				_, err = tx.ExecContext(ctx, `UPDATE files SET unreferenced_at = NULL WHERE id = ?`, r.id)
				res.Unmarked++
			case r.referenced:
			case !r.marked.Valid:
				_, err = tx.ExecContext(ctx, `UPDATE files SET unreferenced_at = ? WHERE id = ?`, millis(now), r.id)
				res.Marked++
			case r.marked.Int64 <= millis(deleteBefore):
				if _, err = tx.ExecContext(ctx, `DELETE FROM files WHERE id = ?`, r.id); err != nil {
					return err
				}
				res.Deleted++
				var shared bool
				if err = tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?)`, r.sum).Scan(&shared); err == nil && !shared {
					orphans = append(orphans, r.sum)
				}
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return "", files.SweepResult{}, err
	}
	var errs []error
	for _, sum := range orphans {
		errs = append(errs, removeFile(s.blobPath(sum)))
	}
	res.Content += len(orphans)
	return last, res, errors.Join(errs...)
}

// SweepContent removes blobs that no file names and upload bytes that no upload owns. It
// holds the commit lock, so no commit is between linking a blob and recording its file;
// an upload's bytes are written only after its row exists, so bytes without a row are an
// upload's that was deleted. Neither needs to settle here.
func (s fileStore) SweepContent(ctx context.Context, _, _ time.Time) (files.SweepResult, error) {
	st := &s.db.files
	st.commit.Lock()
	defer st.commit.Unlock()
	var res files.SweepResult
	exists := func(query, arg string) (bool, error) {
		var ok bool
		err := s.db.read.QueryRowContext(ctx, query, arg).Scan(&ok)
		return ok, err
	}
	shards, err := os.ReadDir(s.dir("blobs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	for _, shard := range shards {
		blobs, err := os.ReadDir(s.dir("blobs", shard.Name()))
		if err != nil {
			return res, err
		}
		for _, b := range blobs {
			ok, err := exists(`SELECT EXISTS (SELECT 1 FROM files WHERE sha256 = ?)`, b.Name())
			if err != nil {
				return res, mapError(err, "sweep content")
			}
			if !ok {
				if err := removeFile(s.dir("blobs", shard.Name(), b.Name())); err != nil {
					return res, err
				}
				res.Content++
			}
		}
	}
	ups, err := os.ReadDir(s.dir("uploads"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	for _, u := range ups {
		ok, err := exists(`SELECT EXISTS (SELECT 1 FROM file_uploads WHERE id = ?)`, u.Name())
		if err != nil {
			return res, mapError(err, "sweep upload bytes")
		}
		if !ok {
			if err := removeFile(s.uploadPath(u.Name())); err != nil {
				return res, err
			}
			res.Content++
		}
	}
	return res, nil
}
