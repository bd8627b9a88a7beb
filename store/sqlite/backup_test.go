package sqlite

import (
	"bytes"
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
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/storetest"
)

// putMeta writes a row through the engine's writer, as a feature's commit would.
func putMeta(t *testing.T, db *DB, key string) {
	t.Helper()
	if _, err := db.write.Exec(`INSERT INTO tideline_meta (key, value) VALUES (?, 'v')`, key); err != nil {
		t.Fatal(err)
	}
}

func countMeta(t *testing.T, raw *sql.DB, prefix string) int {
	t.Helper()
	var n int
	if err := raw.QueryRow(`SELECT COUNT(*) FROM tideline_meta WHERE key LIKE ?`, prefix+"%").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupRestore(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		db := mustOpen(t, t.TempDir(), migrations)
		for i := range 100 {
			putMeta(t, db, fmt.Sprintf("before-%03d", i))
		}
		// Writes go on during the backup; every one acknowledged before it began is in it.
		var wg sync.WaitGroup
		var stop atomic.Bool
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				if _, err := db.write.Exec(`INSERT INTO tideline_meta (key, value) VALUES (?, 'v')`, fmt.Sprintf("during-%06d", i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
		out := filepath.Join(t.TempDir(), "backup.db")
		info, err := db.Backup(t.Context(), out)
		stop.Store(true)
		wg.Wait()
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(out)
		if err != nil || st.Mode().Perm() != 0o600 || st.Size() != info.Bytes || info.SchemaVersion != LatestSchemaVersion() {
			t.Fatalf("backup %+v, file %v %v", info, st, err)
		}
		orig, _ := db.Info(t.Context())

		dir := filepath.Join(t.TempDir(), "restored")
		got, err := Restore(t.Context(), out, dir, false)
		if err != nil || got.InstanceID != orig.InstanceID {
			t.Fatalf("restore: %+v %v", got, err)
		}
		restored := mustOpen(t, dir, migrations)
		if n := countMeta(t, restored.read, "before-"); n != 100 {
			t.Fatalf("%d of the 100 writes made before the backup were restored", n)
		}
		if info, _ := restored.Info(t.Context()); info.InstanceID != orig.InstanceID {
			t.Fatalf("restored instance %q, want %q", info.InstanceID, orig.InstanceID)
		}
		putMeta(t, restored, "after")
	})

	t.Run("WhileAnotherHolderServes", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpen(t, dir, migrations)
		putMeta(t, db, "x")
		out := filepath.Join(t.TempDir(), "b.db")
		if _, err := BackupDir(t.Context(), dir, out); err != nil {
			t.Fatal(err)
		}
		putMeta(t, db, "y") // the server still writes
		if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
			t.Fatalf("the backup left %v", entries)
		}
	})

	t.Run("WhileStopped", func(t *testing.T) {
		dir := t.TempDir()
		db := mustOpen(t, dir, migrations)
		putMeta(t, db, "x")
		db.Close()
		before, _ := os.ReadDir(dir)
		if _, err := BackupDir(t.Context(), dir, filepath.Join(t.TempDir(), "b.db")); err != nil {
			t.Fatal(err)
		}
		if after, _ := os.ReadDir(dir); len(after) != len(before) {
			t.Fatalf("the data directory held %v and holds %v after the backup", before, after)
		}
		mustOpen(t, dir, migrations)
	})

	t.Run("ErrBackupExists", func(t *testing.T) {
		db := mustOpen(t, t.TempDir(), migrations)
		out := filepath.Join(t.TempDir(), "b.db")
		os.WriteFile(out, []byte("mine"), 0o600)
		_, err := db.Backup(t.Context(), out)
		if tideline.ErrorCode(err) != tideline.CodeConflict || !strings.Contains(tideline.ErrorMessage(err), "exists already") {
			t.Fatalf("err %v", err)
		}
		if b, _ := os.ReadFile(out); string(b) != "mine" {
			t.Fatal("the existing file was changed")
		}
	})

	t.Run("ErrNoDatabase", func(t *testing.T) {
		_, err := BackupDir(t.Context(), t.TempDir(), filepath.Join(t.TempDir(), "b.db"))
		if tideline.ErrorCode(err) != tideline.CodeNotFound {
			t.Fatalf("err %v", err)
		}
	})

	backup := func(t *testing.T, edit func(raw *sql.DB)) string {
		t.Helper()
		dir := t.TempDir()
		db := mustOpen(t, dir, migrations)
		putMeta(t, db, "old")
		if edit != nil {
			edit(db.write)
		}
		out := filepath.Join(t.TempDir(), "b.db")
		if _, err := db.Backup(t.Context(), out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	plainSQLite := filepath.Join(t.TempDir(), "other.db")
	if raw, err := sql.Open("sqlite", "file:"+plainSQLite); err != nil {
		t.Fatal(err)
	} else if _, err := raw.Exec(`CREATE TABLE notes (body TEXT)`); err != nil {
		t.Fatal(err)
	} else {
		raw.Close()
	}
	textFile := filepath.Join(t.TempDir(), "notes.txt")
	os.WriteFile(textFile, []byte("SQLite format 2 is not a thing\n"), 0o600)
	corrupt := backup(t, nil)
	if b, err := os.ReadFile(corrupt); err != nil {
		t.Fatal(err)
	} else {
		clear(b[len(b)/2 : len(b)/2+4096]) // a page in the middle
		os.WriteFile(corrupt, b, 0o600)
	}

	for _, tt := range []struct {
		name string
		from string
		want tideline.Code
		msg  string
	}{
		{"ErrNotSQLite", textFile, tideline.CodeInvalid, "not a SQLite database"},
		{"ErrNotTideline", plainSQLite, tideline.CodeInvalid, "not a Tideline one"},
		{"ErrCorrupt", corrupt, tideline.CodeInvalid, "damaged"},
		{"ErrNewerSchema", backup(t, func(raw *sql.DB) {
			raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from the future', 0)`)
		}), tideline.CodeUnavailable, "newer Tideline (schema version 9999"},
		{"ErrMissing", filepath.Join(t.TempDir(), "nope.db"), tideline.CodeNotFound, "Cannot read the backup file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := Restore(t.Context(), tt.from, dir, false)
			if tideline.ErrorCode(err) != tt.want || !strings.Contains(tideline.ErrorMessage(err), tt.msg) {
				t.Fatalf("err %v, want %s with %q", err, tt.want, tt.msg)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 1 {
				t.Fatalf("the failed restore left %v", entries)
			}
		})
	}

	t.Run("ErrNotEmptyThenForce", func(t *testing.T) {
		from := backup(t, nil)
		dir := t.TempDir()
		current := mustOpen(t, dir, migrations)
		putMeta(t, current, "current")
		current.Close()
		_, err := Restore(t.Context(), from, dir, false)
		if tideline.ErrorCode(err) != tideline.CodeConflict || !strings.Contains(tideline.ErrorMessage(err), "--force") {
			t.Fatalf("err %v", err)
		}
		if _, err := Restore(t.Context(), from, dir, true); err != nil {
			t.Fatal(err)
		}
		db := mustOpen(t, dir, migrations)
		if countMeta(t, db.read, "old") != 1 || countMeta(t, db.read, "current") != 0 {
			t.Fatal("the forced restore did not replace the database")
		}
	})

	t.Run("ErrForceKeepsDataOnBadBackup", func(t *testing.T) {
		dir := t.TempDir()
		current := mustOpen(t, dir, migrations)
		putMeta(t, current, "current")
		current.Close()
		if _, err := Restore(t.Context(), plainSQLite, dir, true); tideline.ErrorCode(err) != tideline.CodeInvalid {
			t.Fatalf("err %v", err)
		}
		db := mustOpen(t, dir, migrations)
		if countMeta(t, db.read, "current") != 1 {
			t.Fatal("a refused restore changed the data")
		}
	})

	t.Run("ErrDirectoryInUse", func(t *testing.T) {
		from := backup(t, nil)
		dir := t.TempDir()
		mustOpen(t, dir, migrations)
		_, err := Restore(context.Background(), from, dir, true)
		if tideline.ErrorCode(err) != tideline.CodeConflict || !strings.Contains(tideline.ErrorMessage(err), "in use") {
			t.Fatalf("err %v", err)
		}
	})
}

// TestBackupRestoreFiles: a backup holds the files' content, and a restore writes it back:
// the restored engine serves every file with its hash. Uploads in progress are left out,
// and so is a file whose content is gone by the time the backup reads it. A backup whose
// content was tampered with, or names a path instead of a hash, is refused.
func TestBackupRestoreFiles(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, t.TempDir(), migrations)
	s := db.Files().(fileStore)
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB: several chunks
	a := storetest.CommitFile(t, s, "u1", big)
	b := storetest.CommitFile(t, s, "u2", big) // shares a's content
	c := storetest.CommitFile(t, s, "u1", []byte("small"))
	gone := storetest.CommitFile(t, s, "u1", []byte("deleted meanwhile"))
	if err := os.Remove(s.blobPath(gone.SHA256)); err != nil {
		t.Fatal(err)
	}
	up := files.Upload{ID: tideline.NewID(), Owner: "u1", Size: 100, SHA256: a.SHA256, CreatedAt: storetest.Epoch}
	if err := s.CreateUpload(t.Context(), up); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteUpload(t.Context(), up.ID, 0, bytes.NewReader([]byte("part"))); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "b.db")
	info, err := db.Backup(t.Context(), out)
	if err != nil || info.Files != 2 || info.FilesLeftOut != 1 {
		t.Fatalf("backup %+v, %v; want 2 contents, 1 file left out", info, err)
	}

	dir := filepath.Join(t.TempDir(), "restored")
	got, err := Restore(t.Context(), out, dir, false)
	if err != nil || got.Files != 2 {
		t.Fatalf("restore %+v, %v", got, err)
	}
	restored := mustOpen(t, dir, migrations)
	rs := restored.Files()
	for _, f := range []files.File{a, b, c} {
		ff, err := rs.FindFile(t.Context(), f.ID)
		if err != nil {
			t.Fatalf("FindFile after restore: %v", err)
		}
		r, err := rs.OpenFile(t.Context(), ff)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != f.SHA256 {
			t.Fatalf("restored file %s: %v, hash %x, want %s", f.ID, err, h.Sum(nil), f.SHA256)
		}
	}
	_, err = rs.FindFile(t.Context(), gone.ID)
	wantNotFound(t, err, "the file whose content was gone")
	_, err = rs.FindUpload(t.Context(), up.ID)
	wantNotFound(t, err, "the upload in progress")
	var left int
	if err := restored.read.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'backup_blobs'`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("backup_blobs left in the restored database: %d %v", left, err)
	}
	if used, _ := rs.Usage(t.Context(), "u1"); used != a.Size+c.Size {
		t.Fatalf("u1's usage after restore %d, want %d", used, a.Size+c.Size)
	}

	for name, edit := range map[string]string{
		"Tampered":    `UPDATE backup_blobs SET data = zeroblob(length(data)) WHERE n = 0`,
		"PathNotHash": `UPDATE backup_blobs SET sha256 = '../../../../etc/x' WHERE sha256 = (SELECT min(sha256) FROM backup_blobs)`,
	} {
		t.Run(name, func(t *testing.T) {
			bad := filepath.Join(t.TempDir(), "bad.db")
			if err := copyFile(out, bad); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("sqlite", "file:"+bad)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(edit); err != nil {
				t.Fatal(err)
			}
			raw.Close()
			dir := filepath.Join(t.TempDir(), "d")
			_, err = Restore(t.Context(), bad, dir, false)
			if tideline.ErrorCode(err) != tideline.CodeInvalid || !strings.Contains(tideline.ErrorMessage(err), "damaged") {
				t.Fatalf("restore of a %s backup: %v, want invalid (damaged)", name, err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the restore left its data directory: %v", err)
			}
		})
	}
}

func wantNotFound(t *testing.T, err error, what string) {
	t.Helper()
	if tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("%s: %v, want not_found", what, err)
	}
}
