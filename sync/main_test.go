package sync

import (
	"flag"
	"os"
	"testing"
)

// TestMain keeps rapid from writing fail files into testdata/rapid when a property fails:
// they are easy to commit by accident, and once rapid is upgraded it ignores them (a
// version mismatch) while still running them first. A failure prints the seed that
// replays it (-rapid.seed); -rapid.nofailfile=false writes the file after all.
func TestMain(m *testing.M) {
	if err := flag.Set("rapid.nofailfile", "true"); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}
