//go:build !unix

package sqlite

import "os"

// LockFileName is the lock file in the data directory; on systems without flock it is not
// used and running two processes on one data directory is the operator's responsibility.
const LockFileName = "tideline.lock"

func lockDir(string) (*os.File, error) { return nil, nil }

func unlockDir(*os.File) error { return nil }

// holdIfIdle cannot tell whether another process serves dir here: it reports not idle.
func holdIfIdle(string) (release func(), idle bool) { return func() {}, false }
