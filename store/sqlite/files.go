package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
)

// The file store keeps bytes in the data directory, beside the database: an upload in
// progress in files/uploads/<id> (its length is the upload's offset), a file's content in
// files/blobs/<first two hex digits>/<sha256>, written once per hash. The database holds
// what describes them. A commit links the upload's file to its hash's name (a duplicate
// hash keeps the content already there) inside the transaction that records the file, so
// a failed transaction takes the link back; what a crash between the two steps leaves is an
// unreferenced blob or upload file, for the sweeper (files_sweep.go).

// filesSchema is migration 9.
var filesSchema = []string{
	`CREATE TABLE file_uploads (
		id           TEXT    PRIMARY KEY,
		owner        TEXT    NOT NULL,
		size         INTEGER NOT NULL,
		name         TEXT    NOT NULL,
		content_type TEXT    NOT NULL,
		sha256       TEXT    NOT NULL,
		created_at   INTEGER NOT NULL
	) STRICT`,
	`CREATE TABLE files (
		id           TEXT    PRIMARY KEY,
		owner        TEXT    NOT NULL,
		name         TEXT    NOT NULL,
		content_type TEXT    NOT NULL,
		size         INTEGER NOT NULL,
		sha256       TEXT    NOT NULL,
		created_at   INTEGER NOT NULL
	) STRICT`,
	`CREATE INDEX files_owner ON files (owner)`,
	`CREATE INDEX files_sha256 ON files (sha256)`,
}

// fileState is what the file store keeps in the process: which uploads a call is writing,
// and one lock for commits (a commit's quota check and its link are one step).
type fileState struct {
	mu      sync.Mutex
	writing map[string]bool
	// claims are the uploads being finished (ClaimUpload), until when. This engine runs
	// in one process (the data directory's lock), so they need not be stored: a crash
	// ends them with the process.
	claims map[string]time.Time
	commit sync.Mutex
}

// Files returns the engine's file store.
func (db *DB) Files() files.Store { return fileStore{db} }

type fileStore struct{ db *DB }

func (s fileStore) dir(parts ...string) string {
	return filepath.Join(append([]string{filepath.Dir(s.db.path), "files"}, parts...)...)
}

func (s fileStore) uploadPath(id string) string { return s.dir("uploads", id) }

func (s fileStore) blobPath(sum string) string { return s.dir("blobs", sum[:2], sum) }

func (s fileStore) CreateUpload(ctx context.Context, u files.Upload) error {
	return s.db.inTx(ctx, "create upload", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO file_uploads (id, owner, size, name, content_type, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Owner, u.Size, u.Name, u.ContentType, u.SHA256, millis(u.CreatedAt))
		return err
	})
}

func (s fileStore) FindUpload(ctx context.Context, id string) (files.Upload, error) {
	var u files.Upload
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, owner, size, name, content_type, sha256, created_at FROM file_uploads WHERE id = ?`, id).
		Scan(&u.ID, &u.Owner, &u.Size, &u.Name, &u.ContentType, &u.SHA256, &created)
	if err != nil {
		return files.Upload{}, mapError(err, "find upload")
	}
	u.CreatedAt = fromMillis(created)
	if u.Offset, err = s.offset(id); err != nil {
		return files.Upload{}, err
	}
	return u, nil
}

// offset is the length of an upload's file (none yet: 0).
func (s fileStore) offset(id string) (int64, error) {
	fi, err := os.Stat(s.uploadPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	return fi.Size(), nil
}

func (s fileStore) WriteUpload(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	st := &s.db.files
	st.mu.Lock()
	if st.writing[id] {
		st.mu.Unlock()
		return 0, tideline.Errorf(tideline.CodeConflict, "Another request is writing this upload.")
	}
	if st.writing == nil {
		st.writing = map[string]bool{}
	}
	st.writing[id] = true
	st.mu.Unlock()
	defer func() {
		st.mu.Lock()
		delete(st.writing, id)
		st.mu.Unlock()
	}()
	if _, err := s.FindUpload(ctx, id); err != nil {
		return 0, err
	}
	if err := os.MkdirAll(s.dir("uploads"), 0o700); err != nil {
		return 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	f, err := os.OpenFile(s.uploadPath(id), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	if fi.Size() != offset {
		return 0, tideline.Errorf(tideline.CodeConflict, "The upload is at offset %d, not %d.", fi.Size(), offset)
	}
	n, rerr := io.Copy(f, r)
	if err := f.Sync(); err != nil {
		return 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	if offset == 0 {
		if err := syncDir(s.dir("uploads")); err != nil {
			return 0, tideline.Wrap(err, tideline.CodeInternal, "")
		}
	}
	return n, rerr
}

func (s fileStore) OpenUpload(ctx context.Context, id string) (io.ReadCloser, error) {
	if _, err := s.FindUpload(ctx, id); err != nil {
		return nil, err
	}
	f, err := os.Open(s.uploadPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return io.NopCloser(strings.NewReader("")), nil
	} else if err != nil {
		return nil, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	return f, nil
}

func (s fileStore) HashUpload(ctx context.Context, id string) (string, int64, error) {
	r, err := s.OpenUpload(ctx, id)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ClaimUpload also refuses an upload that a call is writing: its file may hold bytes not
// yet synced.
func (s fileStore) ClaimUpload(ctx context.Context, id string, now, until time.Time) (bool, error) {
	if _, err := s.FindUpload(ctx, id); err != nil {
		return false, err
	}
	st := &s.db.files
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.writing[id] {
		return false, nil
	}
	if held, ok := st.claims[id]; ok && held.After(now) {
		return false, nil
	}
	if st.claims == nil {
		st.claims = map[string]time.Time{}
	}
	st.claims[id] = until
	return true, nil
}

func (s fileStore) ReleaseUpload(_ context.Context, id string, until time.Time) error {
	st := &s.db.files
	st.mu.Lock()
	defer st.mu.Unlock()
	if held, ok := st.claims[id]; ok && held.Equal(until) {
		delete(st.claims, id)
	}
	return nil
}

func (s fileStore) DeleteUpload(ctx context.Context, id string) error {
	err := s.db.inTx(ctx, "delete upload", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM file_uploads WHERE id = ?`, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return sql.ErrNoRows
		}
		return nil
	})
	if err != nil {
		return err
	}
	return removeFile(s.uploadPath(id))
}

func (s fileStore) CommitUpload(ctx context.Context, f files.File, quota int64) error {
	st := &s.db.files
	st.commit.Lock()
	defer st.commit.Unlock()
	if _, err := s.FindUpload(ctx, f.ID); err != nil {
		return err
	}
	blob := s.blobPath(f.SHA256)
	var linked bool
	err := s.db.inTx(ctx, "commit upload", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		if quota > 0 {
			var used int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ?`, f.Owner).Scan(&used); err != nil {
				return err
			}
			if used+f.Size > quota {
				return tideline.Errorf(tideline.CodeTooLarge, "The file does not fit in the owner's quota.")
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO files (id, owner, name, content_type, size, sha256, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			f.ID, f.Owner, f.Name, f.ContentType, f.Size, f.SHA256, millis(f.CreatedAt)); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM file_uploads WHERE id = ?`, f.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 { // canceled meanwhile
			return sql.ErrNoRows
		}
		linked, err = s.link(f.ID, blob)
		return err
	})
	if err != nil {
		if linked {
			_ = removeFile(blob)
		}
		return err
	}
	return removeFile(s.uploadPath(f.ID))
}

// link gives an upload's bytes the name of their hash, durably; false when content with
// that hash is there already (then it stays, and the upload's bytes go).
func (s fileStore) link(id, blob string) (bool, error) {
	if err := os.MkdirAll(filepath.Dir(blob), 0o700); err != nil {
		return false, err
	}
	src := s.uploadPath(id)
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) { // an empty upload never wrote
		if err := os.MkdirAll(filepath.Dir(src), 0o700); err != nil {
			return false, err
		}
		if err := os.WriteFile(src, nil, 0o600); err != nil {
			return false, err
		}
	}
	err := os.Link(src, blob)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, syncDir(filepath.Dir(blob))
}

func (s fileStore) FindFile(ctx context.Context, id string) (files.File, error) {
	var f files.File
	var created int64
	err := s.db.read.QueryRowContext(ctx, `SELECT id, owner, name, content_type, size, sha256, created_at FROM files WHERE id = ?`, id).
		Scan(&f.ID, &f.Owner, &f.Name, &f.ContentType, &f.Size, &f.SHA256, &created)
	if err != nil {
		return files.File{}, mapError(err, "find file")
	}
	f.CreatedAt = fromMillis(created)
	return f, nil
}

func (s fileStore) OpenFile(_ context.Context, f files.File) (io.ReadSeekCloser, error) {
	r, err := os.Open(s.blobPath(f.SHA256))
	if err != nil {
		return nil, tideline.Wrap(err, tideline.CodeInternal, "")
	}
	return r, nil
}

func (s fileStore) Usage(ctx context.Context, owner string) (int64, error) {
	var used int64
	err := s.db.read.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM files WHERE owner = ?`, owner).Scan(&used)
	return used, mapError(err, "file usage")
}

// removeFile removes a file that may already be gone.
func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return tideline.Wrap(err, tideline.CodeInternal, "")
	}
	return nil
}

// DeleteOwner deletes the owner's rows, then their upload files and the blobs no file
// refers to any more. It holds the commit lock, so no commit links a blob it is about to
// remove.
func (s fileStore) DeleteOwner(ctx context.Context, owner string) error {
	st := &s.db.files
	st.commit.Lock()
	defer st.commit.Unlock()
	var uploads, orphans []string
	err := s.db.inTx(ctx, "delete owner's files", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		var err error
		if uploads, err = column(ctx, tx, `DELETE FROM file_uploads WHERE owner = ? RETURNING id`, owner); err != nil {
			return err
		}
		sums, err := column(ctx, tx, `DELETE FROM files WHERE owner = ? RETURNING sha256`, owner)
		if err != nil {
			return err
		}
		for _, sum := range sums {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM files WHERE sha256 = ?`, sum).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				orphans = append(orphans, sum)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range uploads {
		errs = append(errs, removeFile(s.uploadPath(id)))
	}
	for _, sum := range orphans {
		errs = append(errs, removeFile(s.blobPath(sum)))
	}
	return errors.Join(errs...)
}

// column runs a statement that returns one text column and collects it.
func column(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
