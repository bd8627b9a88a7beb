//go:build unix

package sqlite

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/tideline-dev/tideline"
)

// LockFileName is the lock file in the data directory. The embedded engine serves one data
// directory from one process: the sequence of changes is taken inside the one write
// transaction of that process. The operating system releases the lock when the process
// exits, however it exits, so a stale file never blocks a restart.
const LockFileName = "tideline.lock"

// lockDir takes an exclusive, non-blocking lock on dir's lock file and writes our pid in it.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		pid, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, tideline.Errorf(tideline.CodeConflict,
				"The data directory %s is in use by another Tideline process (pid %s). The embedded engine serves one data directory from one process; stop the other one, or use another --data-dir.",
				dir, strings.TrimSpace(string(pid)))
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

func unlockDir(f *os.File) error {
	return f.Close() // closing the descriptor releases the flock
}

// holdIfIdle takes dir's lock when no process holds it, without creating or writing the
// lock file (a tool run by another user must not leave files the server cannot open), and
// reports whether it did. release gives it back.
func holdIfIdle(dir string) (release func(), idle bool) {
	f, err := os.Open(filepath.Join(dir, LockFileName))
	if err != nil {
		return func() {}, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return func() {}, false
	}
	return func() { f.Close() }, true
}
