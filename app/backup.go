package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tideline-dev/tideline/store/sqlite"
)

// Scheduled backups are files named tideline-20060102T150405Z.db in backup.dir, so their
// names sort by time and say when the data was read.
const (
	backupPrefix     = "tideline-"
	backupSuffix     = ".db"
	backupTimeFormat = "20060102T150405Z"
)

// backupRetry is how soon a failed scheduled backup is tried again (or backup.every when
// that is shorter).
const backupRetry = 5 * time.Minute

// backupper is the engine that scheduled backups copy: the embedded one.
type backupper interface {
	Backup(ctx context.Context, out string) (sqlite.BackupInfo, error)
}

// backupSchedule takes a backup into dir every interval and keeps the newest keep. The
// first one is due one interval after the newest backup in dir (at once when there is
// none), so restarts do not postpone backups.
type backupSchedule struct {
	db       backupper
	dir      string
	every    time.Duration
	keep     int
	log      *slog.Logger
	lastOK   prometheus.Gauge
	lastSize prometheus.Gauge
	failures prometheus.Counter
}

func newBackupSchedule(db backupper, cfg *Config, log *slog.Logger, reg prometheus.Registerer) (*backupSchedule, error) {
	s := &backupSchedule{
		db: db, dir: cfg.BackupDir, every: cfg.BackupEvery, keep: cfg.BackupKeep, log: log,
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tideline_backup_last_success_timestamp_seconds",
			Help: "When the newest scheduled backup of the embedded engine was read (Unix time); 0 before the first."}),
		lastSize: prometheus.NewGauge(prometheus.GaugeOpts{Name: "tideline_backup_last_size_bytes",
			Help: "Size of the newest scheduled backup."}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "tideline_backup_failures_total",
			Help: "Scheduled backups that failed."}),
	}
	for _, c := range []prometheus.Collector{s.lastOK, s.lastSize, s.failures} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register backup metrics: %w", err)
		}
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("create backup.dir: %w", err)
	}
	return s, nil
}

// run takes backups until ctx is canceled. A backup under way when ctx ends is abandoned
// (its partial file removed).
func (s *backupSchedule) run(ctx context.Context) {
	existing, err := s.list()
	if err != nil {
		s.log.Error("cannot list backup.dir", "dir", s.dir, "cause", err.Error())
	}
	next := time.Now()
	if len(existing) > 0 {
		newest := existing[len(existing)-1]
		s.lastOK.Set(float64(newest.at.Unix()))
		next = newest.at.Add(s.every)
	}
	s.log.Info("scheduled backups", "dir", s.dir, "every", s.every.String(), "keep", s.keep, "next", next.UTC().Format(time.RFC3339))
	timer := time.NewTimer(time.Until(next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		wait := s.every
		if err := s.backup(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.failures.Inc()
			msg, cause := Explain(err)
			s.log.Error("scheduled backup failed: "+msg, append([]any{"dir", s.dir}, cause...)...)
			wait = min(s.every, backupRetry)
		}
		timer.Reset(wait)
	}
}

// backup takes one backup and removes the oldest beyond keep.
func (s *backupSchedule) backup(ctx context.Context) error {
	at := time.Now().UTC()
	start := time.Now()
	info, err := s.db.Backup(ctx, filepath.Join(s.dir, backupPrefix+at.Format(backupTimeFormat)+backupSuffix))
	if err != nil {
		return err
	}
	s.lastOK.Set(float64(at.Unix()))
	s.lastSize.Set(float64(info.Bytes))
	s.log.Info("backup written", "file", info.File, "bytes", info.Bytes, "schema", info.SchemaVersion,
		"duration_ms", time.Since(start).Milliseconds())
	files, err := s.list()
	if err != nil {
		return err
	}
	for len(files) > s.keep {
		if err := os.Remove(files[0].path); err != nil {
			return fmt.Errorf("remove an old backup: %w", err)
		}
		s.log.Info("old backup removed", "file", files[0].path)
		files = files[1:]
	}
	return nil
}

type backupFile struct {
	path string
	at   time.Time
}

// list returns the scheduled backups in the directory, oldest first. Other files are left
// out (and alone).
func (s *backupSchedule) list() ([]backupFile, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	var out []backupFile
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), backupPrefix)
		stamp, ok2 := strings.CutSuffix(stamp, backupSuffix)
		if !ok || !ok2 || !e.Type().IsRegular() {
			continue
		}
		if at, err := time.Parse(backupTimeFormat, stamp); err == nil {
			out = append(out, backupFile{filepath.Join(s.dir, e.Name()), at})
		}
	}
	slices.SortFunc(out, func(a, b backupFile) int { return a.at.Compare(b.at) })
	return out, nil
}
