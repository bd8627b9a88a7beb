package mongo

import (
	"context"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// These cases give each node its own manual clock, set apart by more than the fencing
// timeout, and check that the advancer judges how long a number has been unsettled by its
// own clock alone.

// onClock is another node on db's database with its own clock.
func onClock(db *DB, clock tideline.Clock, hook func(syncStep, datasync.DocRef, int64)) *DB {
	n := sibling(db, hook)
	n.clock = clock
	return n
}

// TestSyncSkewedWriterAheadDies: a writer whose clock is an hour ahead stops for good
// after a step. The advancer, on time, fences its number one timeout after it first saw it
// unsettled, not an hour later.
func TestSyncSkewedWriterAheadDies(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps[:2] { // a number missing from the ledger, and a pending one
		t.Run(tt.name, func(t *testing.T) {
			p := &pauser{}
			db, clock := newSyncDB(t, nil)
			writer := onClock(db, tideline.NewManualClock(storetest.Epoch.Add(time.Hour)), p.hook)
			f := newFeed(db.Sync())
			g := p.at(t, tt.step, "a")
			commitAsync(t.Context(), writer.Sync(), datasync.Write{Doc: note("a", 1, "A")})
			n := g.wait(t) // and it never goes on
			rb := put(t, db.Sync(), note("b", 1, "B"), 0)
			if w := f.mustPull(t); w >= n {
				t.Fatalf("watermark %d passed %d before the fencing timeout", w, n)
			}
			clock.Advance(testFenceAfter)
			if w := f.mustPull(t); w < rb.Seq {
				t.Fatalf("one timeout after it saw number %d unsettled, the advancer is at %d (B at %d): the writer's clock, an hour ahead, holds it back", n, w, rb.Seq)
			}
		})
	}
}

// TestSyncSkewedWriterBehindCommits: a writer whose clock is two timeouts behind commits
// while another node reads the watermark between each of its steps. Its numbers are
// younger than the timeout, whatever its clock says: nothing is fenced, and the commit
// goes through with its first number.
func TestSyncSkewedWriterBehindCommits(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := newSyncDB(t, nil)
			advancer := sibling(db, nil)
			var advanced error
			writer := onClock(db, tideline.NewManualClock(storetest.Epoch.Add(-2*testFenceAfter)), func(s syncStep, r datasync.DocRef, _ int64) {
				if s == tt.step && advanced == nil {
					_, advanced = advancer.Sync().Watermark(context.Background())
				}
			})
			res, err := writer.Sync().Commit(t.Context(), datasync.Commit{Writes: []datasync.Write{{Doc: note("a", 1, "A")}}})
			if err != nil || advanced != nil {
				t.Fatalf("a writer two timeouts behind: %v (the advancer: %v)", err, advanced)
			}
			if res[0].Seq != 1 || advancer.syncer.fenced.Load() != 0 {
				t.Fatalf("the writer got number %d, %d numbers fenced; want 1 and none", res[0].Seq, advancer.syncer.fenced.Load())
			}
		})
	}
}
