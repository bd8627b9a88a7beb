package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/store/sqlite"
)

// The embedded engine's backups. `api backup` reads the database file through a read-only
// connection of its own and never takes the data directory's lock, so it works while a
// server runs on the directory (and when none does): the lock keeps a second writer away,
// and a backup only reads, from one SQLite snapshot (VACUUM INTO), beside the server's
// writer. Asking the running server instead would need an admin credential and the server
// to be up; this way a backup needs only read access to the files. `api restore` does take
// the lock: it refuses while a server runs on the directory.

// runBackup runs `api backup --out FILE`.
func runBackup(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	var out string
	cfg, err := loadConfig(args, lookupEnv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "the backup file to write (must not exist)")
	})
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err == nil {
		err = embeddedOnly(cfg, "backup")
	}
	if err == nil && out == "" {
		err = errors.New("backup needs --out FILE, the file to write (it must not exist)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "api: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	start := time.Now()
	info, err := sqlite.BackupDir(ctx, cfg.DataDir, out)
	if err != nil {
		msg, cause := app.Explain(err)
		log.Error("backup failed: "+msg, cause...)
		return exitFailed
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%s, %d file contents, schema version %d, instance %s) in %s\n",
		cfg.DataDir, info.File, humanBytes(info.Bytes), info.Files, info.SchemaVersion, info.InstanceID, time.Since(start).Round(time.Millisecond))
	if info.FilesLeftOut > 0 {
		fmt.Fprintf(stdout, "left out %d files deleted while the backup ran\n", info.FilesLeftOut)
	}
	return exitOK
}

// runRestore runs `api restore --from FILE [--force]` into the configured data directory.
func runRestore(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) int {
	var from string
	var force bool
	cfg, err := loadConfig(args, lookupEnv, stdout, func(fs *flag.FlagSet) {
		fs.StringVar(&from, "from", "", "the backup file to restore")
		fs.BoolVar(&force, "force", false, "replace the database of a data directory that is not empty")
	})
	if errors.Is(err, errHelp) {
		return exitOK
	}
	if err == nil {
		err = embeddedOnly(cfg, "restore")
	}
	if err == nil && from == "" {
		err = errors.New("restore needs --from FILE, the backup to restore (and --data-dir, where to)")
	}
	if err != nil {
		fmt.Fprintf(stderr, "api: %v\n", err)
		return exitUsage
	}
	log := newLogger(cfg, stderr)
	info, err := sqlite.Restore(ctx, from, cfg.DataDir, force)
	if err != nil {
		msg, cause := app.Explain(err)
		log.Error("restore failed: "+msg, cause...)
		return exitFailed
	}
	fmt.Fprintf(stdout, "restored %s into %s (%d file contents, schema version %d, instance %s); start the server with --data-dir %s\n",
		from, info.File, info.Files, info.SchemaVersion, info.InstanceID, cfg.DataDir)
	return exitOK
}

func embeddedOnly(cfg *app.Config, cmd string) error {
	if cfg.MongoDBURI != "" {
		return fmt.Errorf("%s works on the embedded engine; back up MongoDB with mongodump or your provider's snapshots (docs/operations.md)", cmd)
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
