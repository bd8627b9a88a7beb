package mongo

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// gatherFirstGroup makes the node's first group wait until n commits are queued, so that
// they share it (the leader would otherwise take whoever had come). It reports the sizes
// of the groups taken.
func gatherFirstGroup(db *DB, n int) (sizes func() []int) {
	var mu sync.Mutex
	full := make(chan struct{})
	var taken []int
	first := true
	db.syncer.batch.hook = func(stage string, k int) {
		switch stage {
		case "queued":
			if k == n {
				close(full)
			}
		case "take":
			mu.Lock()
			wait := first
			first = false
			mu.Unlock()
			if wait {
				<-full
			}
		case "taken":
			mu.Lock()
			taken = append(taken, k)
			mu.Unlock()
		}
	}
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return append([]int(nil), taken...)
	}
}

// TestSyncGroupCommitCommands: concurrent one-mutation pushes of many clients on one node
// share their commits' commands (sync_batch.go), so the commands per mutation drop well
// below a lone push's, and every push gets its receipt and its client's mark.
func TestSyncGroupCommitCommands(t *testing.T) {
	t.Parallel()
	clock := tideline.NewManualClock(storetest.Epoch)
	db, log := openMonitored(t, clock)
	svc, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Clock: clock, Secrets: db.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	push := func(user, client string, id int64, doc string) {
		t.Helper()
		h := datasync.MakeHLC(clock.Now(), int(id), client)
		rs, err := svc.Push(t.Context(), datasync.Caller{UserID: user}, client, []datasync.Mutation{{ID: id, Collection: "notes", DocID: doc, Op: "put",
			Fields: map[string]any{"n": id}, HLC: string(h)}})
		if err != nil || len(rs) != 1 || rs[0].Status != datasync.Applied {
			t.Errorf("push %s/%s: %+v %v", client, doc, rs, err)
		}
	}
	// Warm up: the collection prepared, every client known, as on a node that has run a while.
	const n = 16
	for i := range n {
		push(fmt.Sprint("u", i%4), fmt.Sprint("c", i), 1, fmt.Sprint("warm", i))
	}
	lone := log.during(func() { push("u0", "c0", 2, "lone") })
	sizes := gatherFirstGroup(db, n)
	together := log.during(func() {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { push(fmt.Sprint("u", i%4), fmt.Sprint("c", i), 3, fmt.Sprint("d", i)) })
		}
		wg.Wait()
	})
	if t.Failed() {
		t.FailNow()
	}
	per := float64(len(together)) / n
	t.Logf("a lone one-mutation push: %d commands; %d concurrent ones: %d commands, %.2f per mutation; groups %v",
		len(lone), n, len(together), per, sizes())
	if got := sizes(); len(got) == 0 || got[0] != n {
		t.Fatalf("groups taken %v, want a first one of %d", got, n)
	}
	if per > float64(len(lone))/2 {
		t.Errorf("%d concurrent pushes cost %.2f commands per mutation, a lone one %d: want at most half\n%s", n, per, len(lone), strings.Join(together, ", "))
	}
	for i := range n {
		m, err := db.Sync().FindClient(t.Context(), fmt.Sprint("c", i))
		if err != nil || m.High != 3 {
			t.Fatalf("client c%d: mark %d, %v; want 3", i, m.High, err)
		}
	}
	docs, err := db.Sync().FindDocuments(t.Context(), refsOf(n))
	if err != nil || len(docs) != n {
		t.Fatalf("%d documents, %v", len(docs), err)
	}
	seqs := map[int64]bool{}
	for _, d := range docs {
		if seqs[d.Seq] {
			t.Fatalf("two documents at %d", d.Seq)
		}
		seqs[d.Seq] = true
	}
	w, err := db.Sync().Watermark(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for s := range seqs {
		if s > w {
			t.Fatalf("the watermark %d is below a grouped write at %d without a fence timeout", w, s)
		}
	}
}

func refsOf(n int) []datasync.DocRef {
	refs := make([]datasync.DocRef, n)
	for i := range refs {
		refs[i] = datasync.DocRef{Collection: "notes", Scope: fmt.Sprint("u", i%4), ID: fmt.Sprint("d", i)}
	}
	return refs
}

// TestSyncGroupCommitFailsAlone: in one group, a commit whose client is another user's
// fails with forbidden and takes no number, a commit whose document write fails (its
// context ends at its W4) fails alone with its number settled, a creation of a document
// that exists (its insert in the group's insertMany refused) conflicts, and the others
// are written; the watermark passes every number of the group at once.
func TestSyncGroupCommitFailsAlone(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	s := db.Sync()
	f := newFeed(s)
	if _, err := s.Commit(t.Context(), datasync.Commit{Client: &datasync.ClientMark{ClientID: "taken", UserID: "u2", High: 1}}); err != nil {
		t.Fatal(err)
	}
	put(t, s, note("bad", 1, "first"), 0)
	put(t, s, note("exists", 1, "first"), 0)
	const n = 5
	gatherFirstGroup(db, n)
	// The commit of "bad" runs on a context that ends at its document write (its timeout,
	// say); the others' do not.
	type failKey struct{}
	var mu sync.Mutex
	var fail context.CancelFunc
	db.syncer.detach = func(ctx context.Context) (context.Context, context.CancelFunc) {
		c, cancel := context.WithCancel(context.WithoutCancel(ctx))
		if ctx.Value(failKey{}) != nil {
			mu.Lock()
			fail = cancel
			mu.Unlock()
		}
		return c, cancel
	}
	db.syncer.hook = func(step syncStep, r datasync.DocRef, _ int64) {
		if step == stepChecked && r.ID == "bad" {
			mu.Lock()
			fail()
			mu.Unlock()
		}
	}
	failing := context.WithValue(t.Context(), failKey{}, true)
	type out struct {
		res []datasync.CommitResult
		err error
	}
	outs := make([]out, n)
	var wg sync.WaitGroup
	commits := []struct {
		ctxFail bool
		c       datasync.Commit
	}{
		{false, datasync.Commit{Writes: []datasync.Write{{Doc: note("a", 1, "A")}}, Client: &datasync.ClientMark{ClientID: "ca", UserID: "u1", High: 1}}},
		{false, datasync.Commit{Writes: []datasync.Write{{Doc: note("x", 1, "X")}}, Client: &datasync.ClientMark{ClientID: "taken", UserID: "u1", High: 1}}},
		{true, datasync.Commit{Writes: []datasync.Write{{Doc: note("bad", 2, "B"), BaseVersion: 1}}}},
		{false, datasync.Commit{Writes: []datasync.Write{{Doc: note("c", 1, "C")}, {Doc: note("d", 1, "D")}}}},
		{false, datasync.Commit{Writes: []datasync.Write{{Doc: note("exists", 1, "again")}}}}, // a creation that conflicts
	}
	for i, c := range commits {
		wg.Go(func() {
			ctx := t.Context()
			if c.ctxFail {
				ctx = failing
			}
			res, err := s.Commit(ctx, c.c)
			outs[i] = out{res, err}
		})
	}
	wg.Wait()
	if outs[0].err != nil || outs[0].res[0].Seq == 0 {
		t.Fatalf("a commit beside failing ones: %+v %v", outs[0].res, outs[0].err)
	}
	if tideline.ErrorCode(outs[1].err) != tideline.CodeForbidden {
		t.Fatalf("a commit of another user's client: %v, want forbidden", outs[1].err)
	}
	t.Logf("the commit whose context ended at its document write: %+v %v", outs[2].res, outs[2].err)
	if outs[3].err != nil || outs[3].res[0].Seq == 0 || outs[3].res[1].Seq != outs[3].res[0].Seq+1 {
		t.Fatalf("a commit of two writes in the group: %+v %v", outs[3].res, outs[3].err)
	}
	if outs[4].err != nil || !outs[4].res[0].Conflict {
		t.Fatalf("a creation of a document that exists, in a group: %+v %v; want a conflict", outs[4].res, outs[4].err)
	}
	if m, err := s.FindClient(t.Context(), "ca"); err != nil || m.High != 1 {
		t.Fatalf("the client of a grouped commit: %+v %v", m, err)
	}
	if m, err := s.FindClient(t.Context(), "taken"); err != nil || m.UserID != "u2" || m.High != 1 {
		t.Fatalf("another user's client after a grouped claim: %+v %v", m, err)
	}
	rb := put(t, s, note("b", 1, "after"), 0)
	if w := f.mustPull(t); w < rb.Seq {
		t.Fatalf("watermark %d below a later write at %d: the group left a number to the fence", w, rb.Seq)
	}
	f.matchesStore(t, "a", "bad", "c", "d", "b", "x", "exists")
}
