package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/tideline-dev/tideline"
)

// BackupInfo describes a backup file: the data it holds and its size.
type BackupInfo struct {
	File          string
	Bytes         int64
	InstanceID    string
	SchemaVersion int
	// Files is how many distinct contents (files/blobs) the backup holds or the restore
	// wrote; FilesLeftOut how many files a backup left out, deleted between its snapshot
	// and the reading of their content.
	Files, FilesLeftOut int
}

// Backup writes a consistent copy of the database to the file out while writes go on: the
// copy holds exactly what was committed when it began. It fails with CodeConflict when out
// exists (a backup never overwrites a file).
func (db *DB) Backup(ctx context.Context, out string) (BackupInfo, error) {
	return backupFile(ctx, db.path, out)
}

// BackupDir backs up the database in the data directory dir to out, also while another
// process serves dir. It does not need the directory's lock: that lock keeps a second
// writer away (the sync sequence is taken inside one process's write transaction), and a
// backup never writes. It reads through a read-only connection of its own, and SQLite's own
// file locks let it read a snapshot beside the serving process's writer (WAL). It fails
// with CodeNotFound when dir holds no database and CodeConflict when out exists.
//
// When no server runs on dir, opening the database creates its -wal and -shm files; they
// are removed again (under the directory's lock, so no server starts meanwhile), so that a
// backup run by another user (root) leaves no file the server could not open.
func BackupDir(ctx context.Context, dir, out string) (BackupInfo, error) {
	path := filepath.Join(dir, FileName)
	if st, err := os.Stat(path); err != nil || !st.Mode().IsRegular() {
		return BackupInfo{}, tideline.Errorf(tideline.CodeNotFound, "There is no Tideline database in %s (no %s): check --data-dir.", dir, FileName)
	}
	release, idle := holdIfIdle(dir)
	defer release()
	var made []string
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			made = append(made, p)
		}
	}
	info, err := backupFile(ctx, path, out)
	if idle {
		for _, p := range made {
			os.Remove(p)
		}
	}
	return info, err
}

// backupFile copies the database at src to out with VACUUM INTO, which reads one snapshot
// (a read transaction: the writer goes on meanwhile) and writes a compact database file,
// then adds the files' content to the copy (backup_files.go).
// The copy is written to a temporary name beside out with mode 0600 (it holds password
// hashes and signing keys), flushed to disk, and only then renamed to out, so a crash
// never leaves a partial file under the backup's name.
func backupFile(ctx context.Context, src, out string) (_ BackupInfo, err error) {
	out, err = filepath.Abs(out)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("backup file %q: %w", out, err)
	}
	if _, err := os.Lstat(out); err == nil {
		return BackupInfo{}, tideline.Errorf(tideline.CodeConflict, "The backup file %s exists already; a backup never overwrites a file: choose another name.", out)
	}
	conn, err := sql.Open("sqlite", readOnlyDSN(src))
	if err != nil {
		return BackupInfo{}, fmt.Errorf("open %s: %w", src, err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	info := BackupInfo{File: out}
	if info.InstanceID, info.SchemaVersion, err = readIdentity(ctx, conn); err != nil {
		return BackupInfo{}, fmt.Errorf("read %s: %w", src, err)
	}

	tmp := out + ".partial-" + tideline.NewID()
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return BackupInfo{}, tideline.Wrap(err, tideline.CodeUnavailable, fmt.Sprintf("Cannot create the backup file in %s: %v.", filepath.Dir(out), errors.Unwrap(err)))
	}
	f.Close()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	// VACUUM INTO accepts an existing empty file, so the file keeps the mode made above.
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return BackupInfo{}, mapError(err, "back up "+src)
	}
	if info.Files, info.FilesLeftOut, err = backupFiles(ctx, tmp, filepath.Join(filepath.Dir(src), "files")); err != nil {
		return BackupInfo{}, fmt.Errorf("back up the files of %s: %w", src, err)
	}
	if info.Bytes, err = syncFile(tmp); err != nil {
		return BackupInfo{}, err
	}
	if _, err := os.Lstat(out); err == nil {
		return BackupInfo{}, tideline.Errorf(tideline.CodeConflict, "The backup file %s was created by someone else meanwhile.", out)
	}
	if err := os.Rename(tmp, out); err != nil {
		return BackupInfo{}, fmt.Errorf("rename the backup to %s: %w", out, err)
	}
	return info, syncDir(filepath.Dir(out))
}

// readOnlyDSN opens a database file read-only, with the busy timeout of the engine's own
// connections. It sets no journal mode: a read-only connection cannot change it.
func readOnlyDSN(path string) string {
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", "busy_timeout(10000)")
	return "file:" + path + "?" + q.Encode()
}

// readIdentity reads a Tideline database's instance id and schema version. A database
// without Tideline's bookkeeping tables fails with CodeInvalid.
func readIdentity(ctx context.Context, conn *sql.DB) (instance string, version int, err error) {
	err = conn.QueryRowContext(ctx,
		`SELECT (SELECT value FROM tideline_meta WHERE key = 'instance_id'),
		        (SELECT COALESCE(MAX(version), 0) FROM schema_migrations)`).Scan(&instance, &version)
	if err != nil && strings.Contains(err.Error(), "no such table") {
		return "", 0, tideline.Wrap(err, tideline.CodeInvalid, "It is a SQLite database, but not a Tideline one.")
	}
	return instance, version, err
}

// syncFile flushes path to disk and returns its size.
func syncFile(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("flush %s: %w", path, err)
	}
	return st.Size(), nil
}

// syncDir flushes a directory, so that a file renamed into it survives a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("flush directory %s: %w", dir, err)
	}
	return nil
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// Restore makes the backup file from the database of the data directory dir, and writes
// the files' content it holds under dir/files. dir must be
// empty or missing (or hold only the lock file), unless force is set: then its database is
// replaced and any other file in it is left alone. The backup is copied in and checked
// before anything in dir changes: it must be a SQLite database that passes
// integrity_check, hold Tideline's tables, and have a schema version this binary knows.
// The next start migrates it forward when it is older.
//
// Restore takes dir's lock, so it fails with CodeConflict while a server serves dir, and
// when dir is not empty without force. A file that is not a Tideline database, or is
// damaged, is CodeInvalid; one written by a newer Tideline is CodeUnavailable.
func Restore(ctx context.Context, from, dir string, force bool) (_ BackupInfo, err error) {
	st, err := os.Stat(from)
	if err != nil {
		return BackupInfo{}, tideline.Wrap(err, tideline.CodeNotFound, fmt.Sprintf("Cannot read the backup file: %v.", err))
	}
	if !st.Mode().IsRegular() {
		return BackupInfo{}, tideline.Errorf(tideline.CodeInvalid, "The backup %s is not a file.", from)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return BackupInfo{}, fmt.Errorf("data directory %q: %w", dir, err)
	}
	if _, err := os.Stat(abs); errors.Is(err, fs.ErrNotExist) {
		// A directory made for a restore that fails is removed again (with its lock file).
		defer func() {
			if err != nil {
				os.Remove(filepath.Join(abs, LockFileName))
				os.Remove(abs)
			}
		}()
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return BackupInfo{}, fmt.Errorf("create data directory %s: %w", abs, err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return BackupInfo{}, err
	}
	defer unlockDir(lock)
	if err := checkEmpty(abs, force); err != nil {
		return BackupInfo{}, err
	}

	dst := filepath.Join(abs, FileName)
	tmp := dst + ".restoring"
	defer func() {
		if err != nil {
			for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
				os.Remove(p)
			}
		}
	}()
	if err := copyFile(from, tmp); err != nil {
		return BackupInfo{}, err
	}
	info, err := checkBackup(ctx, tmp)
	if err != nil {
		e, ok := errors.AsType[*tideline.Error](err)
		if !ok {
			e = &tideline.Error{Code: tideline.CodeInvalid, Message: "It is damaged, or not a database SQLite can read.", Err: err}
		}
		return BackupInfo{}, &tideline.Error{Code: e.Code, Message: from + " cannot be restored: " + e.Message, Err: e.Err}
	}
	if info.Files, err = restoreFiles(ctx, tmp, filepath.Join(abs, "files")); err != nil {
		if _, ok := errors.AsType[*tideline.Error](err); ok {
			return BackupInfo{}, err
		}
		return BackupInfo{}, fmt.Errorf("restore the files: %w", err)
	}
	info.File = dst
	// The old database's WAL must go first: left beside the restored file, SQLite would
	// replay it into it.
	for _, p := range []string{dst + "-wal", dst + "-shm", dst} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return BackupInfo{}, fmt.Errorf("remove the replaced database: %w", err)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		return BackupInfo{}, fmt.Errorf("move the restored database into place: %w", err)
	}
	return info, syncDir(abs)
}

// checkEmpty fails with CodeConflict when dir holds anything but the lock file, unless
// force is set.
func checkEmpty(dir string, force bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read data directory: %w", err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != LockFileName {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 || force {
		return nil
	}
	if len(names) > 3 {
		names = append(names[:3], "...")
	}
	return tideline.Errorf(tideline.CodeConflict,
		"The data directory %s is not empty (it holds %s). Restore into an empty directory, or pass --force to replace the database in it.",
		dir, strings.Join(names, ", "))
}

// copyFile copies src to a new file dst (mode 0600) and flushes it to disk.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy the backup: %w", err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("flush the restored copy: %w", err)
	}
	return out.Close()
}

// checkBackup checks that the file at path is a sound Tideline database that this binary
// can serve, and reads what it holds.
func checkBackup(ctx context.Context, path string) (BackupInfo, error) {
	head := make([]byte, len(sqliteHeader))
	f, err := os.Open(path)
	if err != nil {
		return BackupInfo{}, err
	}
	_, err = io.ReadFull(f, head)
	f.Close()
	if err != nil || !bytes.Equal(head, sqliteHeader) {
		return BackupInfo{}, tideline.Errorf(tideline.CodeInvalid, "It is not a SQLite database, so not a Tideline backup.")
	}
	conn, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		return BackupInfo{}, err
	}
	defer conn.Close()
	var problems []string
	rows, err := conn.QueryContext(ctx, `PRAGMA integrity_check(5)`)
	if err != nil {
		return BackupInfo{}, err
	}
	for rows.Next() {
		var p string
		if err = rows.Scan(&p); err != nil {
			break
		}
		problems = append(problems, p)
	}
	if err = errors.Join(err, rows.Err(), rows.Close()); err != nil {
		return BackupInfo{}, err
	}
	if len(problems) != 1 || problems[0] != "ok" {
		return BackupInfo{}, tideline.Errorf(tideline.CodeInvalid, "It is damaged: it fails SQLite's integrity check: %s.", strings.Join(problems, "; "))
	}
	info := BackupInfo{}
	if info.InstanceID, info.SchemaVersion, err = readIdentity(ctx, conn); err != nil {
		return BackupInfo{}, err
	}
	if known := LatestSchemaVersion(); info.SchemaVersion > known {
		return BackupInfo{}, tideline.Errorf(tideline.CodeUnavailable,
			"It was written by a newer Tideline (schema version %d; this binary knows versions up to %d). Restore it with that version or a later one.",
			info.SchemaVersion, known)
	}
	st, err := os.Stat(path)
	if err != nil {
		return BackupInfo{}, err
	}
	info.Bytes = st.Size()
	return info, nil
}

// LatestSchemaVersion is the schema version this binary migrates the embedded engine to.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }
