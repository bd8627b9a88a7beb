package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"

	"github.com/tideline-dev/tideline"
)

// A backup is one SQLite file, files included: after VACUUM INTO has copied the database,
// the content of every file the copy records is added to it, in the table backup_blobs
// (in 1 MiB chunks, each file's hash checked as it is read), and uploads in progress are
// left out (their bytes are not copied: a client starts such an upload again). Restore
// writes the content back under files/blobs (each hash checked again), then drops the
// table. A backup of a database without files, or made before files were backed up, has no
// such table and restores as it always did.
//
// The copy is a snapshot, and the content is read after it: a file deleted between the two
// (by the sweeper) has no content left to read, and is left out of the backup with its
// record, as if deleted just before the snapshot.

// blobChunk is how much content one row of backup_blobs holds.
const blobChunk = 1 << 20

var hexSum = regexp.MustCompile(`^[0-9a-f]{64}$`)

// backupFiles adds to the backup copy at path the content of its files, read from
// filesDir, and returns how many files' content it holds and how many files it left out.
func backupFiles(ctx context.Context, path, filesDir string) (kept, dropped int, err error) {
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	var hasFiles bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'files')`).Scan(&hasFiles); err != nil || !hasFiles {
		return 0, 0, err
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM file_uploads`); err != nil {
		return 0, 0, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE backup_blobs (sha256 TEXT NOT NULL, n INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (sha256, n)) STRICT`); err != nil {
		return 0, 0, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT sha256 FROM files ORDER BY sha256`)
	if err != nil {
		return 0, 0, err
	}
	var sums []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return 0, 0, err
		}
		sums = append(sums, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	buf := make([]byte, blobChunk)
	for _, sum := range sums {
		if !hexSum.MatchString(sum) {
			return 0, 0, fmt.Errorf("a file's hash %q is malformed", sum)
		}
		f, err := os.Open(filepath.Join(filesDir, "blobs", sum[:2], sum))
		if errors.Is(err, fs.ErrNotExist) { // deleted since the snapshot
			res, err := tx.ExecContext(ctx, `DELETE FROM files WHERE sha256 = ?`, sum)
			if err != nil {
				return 0, 0, err
			}
			n, _ := res.RowsAffected()
			dropped += int(n)
			continue
		} else if err != nil {
			return 0, 0, err
		}
		h := sha256.New()
		for n := 0; ; n++ {
			k, rerr := io.ReadFull(f, buf)
			if k > 0 || n == 0 {
				h.Write(buf[:k])
				if _, err := tx.ExecContext(ctx, `INSERT INTO backup_blobs (sha256, n, data) VALUES (?, ?, ?)`, sum, n, buf[:k]); err != nil {
					f.Close()
					return 0, 0, err
				}
			}
			if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
				break
			} else if rerr != nil {
				f.Close()
				return 0, 0, rerr
			}
		}
		f.Close()
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return 0, 0, fmt.Errorf("the content stored as %s is damaged (its SHA-256 is %s)", sum, got)
		}
		kept++
	}
	return kept, dropped, tx.Commit()
}

// restoreFiles writes the content a backup copy at path holds (backup_blobs) under
// filesDir/blobs, checking each hash, then drops the table and compacts the copy. Content
// already there under its hash is kept (it is the same bytes). A copy without the table is
// left as it is.
func restoreFiles(ctx context.Context, path, filesDir string) (_ int, err error) {
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	var has bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'backup_blobs')`).Scan(&has); err != nil || !has {
		return 0, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT sha256, n, data FROM backup_blobs ORDER BY sha256, n`)
	if err != nil {
		return 0, err
	}
	restored := 0
	// What this restore wrote is removed again when it fails: the whole directory when it
	// made it, else the content it added.
	_, serr := os.Stat(filesDir)
	fresh := errors.Is(serr, fs.ErrNotExist)
	var made []string
	defer func() {
		if err == nil {
			return
		}
		if fresh {
			os.RemoveAll(filesDir)
			return
		}
		for _, p := range made {
			os.Remove(p)
		}
	}()
	var cur string
	var out *os.File
	var h hashWriter
	finish := func() error {
		if out == nil {
			return nil
		}
		tmp := out.Name()
		defer os.Remove(tmp)
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		out = nil
		if got := h.sum(); got != cur {
			return tideline.Errorf(tideline.CodeInvalid, "The backup is damaged: the content of %s has the SHA-256 %s.", cur, got)
		}
		final := filepath.Join(filesDir, "blobs", cur[:2], cur)
		if err := os.Link(tmp, final); errors.Is(err, fs.ErrExist) {
			return nil // the same content was there
		} else if err != nil {
			return err
		}
		made = append(made, final)
		restored++
		return syncDir(filepath.Dir(final))
	}
	defer func() {
		if out != nil {
			out.Close()
			os.Remove(out.Name())
			os.Remove(filepath.Dir(out.Name()))
		}
	}()
	for rows.Next() {
		var sum string
		var n int
		var data []byte
		if err := rows.Scan(&sum, &n, &data); err != nil {
			rows.Close()
			return restored, err
		}
		if sum != cur {
			if err := finish(); err != nil {
				rows.Close()
				return restored, err
			}
			if !hexSum.MatchString(sum) {
				rows.Close()
				return restored, tideline.Errorf(tideline.CodeInvalid, "The backup is damaged: it holds content under the malformed hash %q.", sum)
			}
			cur = sum
			dir := filepath.Join(filesDir, "blobs", sum[:2])
			if err := os.MkdirAll(dir, 0o700); err != nil {
				rows.Close()
				return restored, err
			}
			if out, err = os.CreateTemp(dir, ".restoring-*"); err != nil {
				rows.Close()
				return restored, err
			}
			h = hashWriter{w: out, h: sha256.New()}
		}
		if _, err := h.Write(data); err != nil {
			rows.Close()
			return restored, err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return restored, err
	}
	if err := finish(); err != nil {
		return restored, err
	}
	if _, err := conn.ExecContext(ctx, `DROP TABLE backup_blobs`); err != nil {
		return restored, err
	}
	_, err = conn.ExecContext(ctx, `VACUUM`)
	return restored, err
}

// hashWriter writes to w and hashes what it writes.
type hashWriter struct {
	w io.Writer
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (h hashWriter) Write(b []byte) (int, error) {
	h.h.Write(b)
	return h.w.Write(b)
}

func (h hashWriter) sum() string { return hex.EncodeToString(h.h.Sum(nil)) }
