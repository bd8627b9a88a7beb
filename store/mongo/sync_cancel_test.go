package mongo

import (
	"context"
	"testing"

	datasync "github.com/tideline-dev/tideline/sync"
)

// These cases stop a commit's context between its steps and check that no number is left
// for the fence: with the manual clock never moved, the watermark must pass every number
// the commit took, at once.

// cancelAt returns a hook that calls cancel when the writer of document id reaches step.
func cancelAt(step syncStep, id string, cancel func()) func(syncStep, datasync.DocRef, int64) {
	return func(s syncStep, r datasync.DocRef, _ int64) {
		if s == step && r.ID == id {
			cancel()
		}
	}
}

// TestSyncCancelledRequestCompletesItsCommit: the client hangs up (the request's context
// is cancelled) after each step of its commit. The commit goes on to its end, and the
// watermark passes its number without waiting for the fencing timeout, so later writes of
// everyone are served at once.
func TestSyncCancelledRequestCompletesItsCommit(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps {
		t.Run(tt.name, func(t *testing.T) {
			req, cancel := context.WithCancel(t.Context())
			defer cancel()
			db, _ := newSyncDB(t, cancelAt(tt.step, "a", cancel))
			s := db.Sync()
			f := newFeed(s)
			res, err := s.Commit(req, datasync.Commit{Writes: []datasync.Write{{Doc: note("a", 1, "A")}}})
			if err != nil || res[0].Seq == 0 {
				t.Fatalf("a commit whose request was cancelled %s: %+v, %v; want it written", tt.name, res, err)
			}
			rb := put(t, s, note("b", 1, "B"), 0)
			if w := f.mustPull(t); w < rb.Seq || f.served("a") != 1 || f.served("b") != 1 {
				t.Fatalf("watermark %d (B at %d), served %v: a cancelled request held the watermark back", w, rb.Seq, f.versions)
			}
			f.matchesStore(t, "a", "b")
		})
	}
}

// TestSyncCancelledRequestTakesNothing: a request cancelled before Commit is called
// writes nothing and leaves no number behind.
func TestSyncCancelledRequestTakesNothing(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	s := db.Sync()
	req, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Commit(req, datasync.Commit{Writes: []datasync.Write{{Doc: note("a", 1, "A")}}}); err == nil {
		t.Fatal("a commit with a cancelled request wrote")
	}
	f := newFeed(s)
	if rb := put(t, s, note("b", 1, "B"), 0); rb.Seq != 1 || f.mustPull(t) != 1 || f.served("a") != 0 {
		t.Fatalf("after a cancelled request: B at %d, served %v", rb.Seq, f.versions)
	}
}

// TestSyncFailedCommitSettlesItsNumbers: the commit's own context fails after each step
// (its timeout, or a lost connection). The commit settles the numbers it took on a fresh
// context before it returns (void, or done for a document written; a document write of
// unknown outcome fenced by the writer itself), so the watermark passes them at once.
func TestSyncFailedCommitSettlesItsNumbers(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps {
		for _, base := range []int64{0, 1} {
			t.Run(tt.name+map[int64]string{0: "/Create", 1: "/Update"}[base], func(t *testing.T) {
				var cancel context.CancelFunc
				db, _ := newSyncDB(t, nil)
				db.syncer.detach = func(ctx context.Context) (context.Context, context.CancelFunc) {
					var c context.Context
					c, cancel = context.WithCancel(context.WithoutCancel(ctx))
					return c, cancel
				}
				s := db.Sync()
				f := newFeed(s)
				if base > 0 {
					put(t, s, note("a", 1, "first"), 0)
				}
				db.syncer.hook = cancelAt(tt.step, "a", func() { cancel() })
				_, err := s.Commit(t.Context(), datasync.Commit{Writes: []datasync.Write{{Doc: note("a", base+1, "A"), BaseVersion: base},
					{Doc: note("c", 1, "C")}}})
				t.Logf("the commit failed %s: %v", tt.name, err)
				rb := put(t, s, note("b", 1, "B"), 0)
				if w := f.mustPull(t); w < rb.Seq {
					t.Fatalf("watermark %d below B at %d: the failed commit left a number for the fence", w, rb.Seq)
				}
				f.matchesStore(t, "a", "b", "c")
			})
		}
	}
}
