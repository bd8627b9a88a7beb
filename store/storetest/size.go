package storetest

import (
	"os"
	"testing"
)

// FullSizeEnv, set to 1, runs every test at its full size, which -short, the race detector
// and FerretDB otherwise shrink: before a release, or to hunt a rare interleaving.
const FullSizeEnv = "TIDELINE_TEST_FULL"

// Sized returns full, or small when full would make the run slow for little gain: under
// -short, under the race detector (RaceEnabled), and on FerretDB (engine "mongodb" without
// TIDELINE_TEST_MONGODB_URI), where every query is a full scan and the one connection
// serializes a test's concurrency anyway. A test checks the same things at both sizes;
// the full size only gives rare interleavings more chances. engine may be "" for a test
// on no engine.
func Sized[T any](engine string, full, small T) T {
	if os.Getenv(FullSizeEnv) == "1" {
		return full
	}
	if testing.Short() || RaceEnabled || (engine == "mongodb" && IsFerretDB()) {
		return small
	}
	return full
}

// Engines are the engines a feature's service tests run on: "sqlite" and "mongodb". Under
// the race detector on FerretDB, "sqlite" alone: FerretDB (with pure-Go SQLite beneath it)
// is what the detector would slow down most, and a feature's code, the code that step is
// for, runs the same on both engines. The MongoDB engine's tests run without -race in
// every run, and with TIDELINE_TEST_FULL=1 or a real MongoDB under -race too.
func Engines() []string {
	if RaceEnabled && IsFerretDB() && os.Getenv(FullSizeEnv) != "1" {
		return []string{"sqlite"}
	}
	return []string{"sqlite", "mongodb"}
}
