package mongo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// These cases stop writers between their steps (W1-W5 of sync_sequence.go) with the test
// hook, deterministically, and check with a reader that follows the feed (feed, in
// sync_test.go) that the watermark never passes a write still to come: nothing appears at
// or below a watermark once read, and the reader ends with the store's final state.

var writerSteps = []struct {
	name string
	step syncStep
}{
	{"AfterAllocating", stepAllocated},
	{"AfterLedger", stepLedger},
	{"AfterCheck", stepChecked},
	{"AfterDocumentWrite", stepWritten},
}

// TestSyncLaterNumberCommittedFirst: writer A takes n and stops; B commits n+1. The
// watermark stays below n, so B's write is not served, until A finishes; then both are.
func TestSyncLaterNumberCommittedFirst(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps {
		t.Run(tt.name, func(t *testing.T) {
			p := &pauser{}
			db, _ := newSyncDB(t, p.hook)
			s := db.Sync()
			f := newFeed(s)
			put(t, s, note("b", 1, "B"), 0)
			g := p.at(t, tt.step, "a")
			a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", 1, "A")})
			n := g.wait(t)
			rb := put(t, s, note("b", 2, "B"), 1)
			if rb.Seq != n+1 {
				t.Fatalf("B got %d, want %d", rb.Seq, n+1)
			}
			for range 3 {
				if w := f.mustPull(t); w >= n {
					t.Fatalf("watermark %d passed number %d of a writer paused %s", w, n, tt.name)
				}
			}
			if f.served("b") == 2 || f.served("a") != 0 {
				t.Fatalf("served %v before the paused writer finished", f.versions)
			}
			g.open()
			if res := a.result(t); res[0].Seq != n {
				t.Fatalf("A: %+v, want seq %d", res[0], n)
			}
			if w := f.mustPull(t); w < rb.Seq || f.served("a") != 1 || f.served("b") != 2 {
				t.Fatalf("after A finished: watermark %d, served %v", w, f.versions)
			}
			f.matchesStore(t, "a", "b")
		})
	}
}

// TestSyncStalledWriterIsFenced: writer A stops after a step and stays stopped. After the
// fencing timeout the watermark moves past its number and later writes are served; A's
// write never shows up below a watermark. When A resumes, it retries with a new number
// above the watermark, or (stopped after its document write) its write stands at its
// number, served since the fence. Both for a creation (base 0) and an update.
func TestSyncStalledWriterIsFenced(t *testing.T) {
	t.Parallel()
	for _, tt := range writerSteps {
		for _, base := range []int64{0, 1} {
			t.Run(fmt.Sprintf("%s/Base%d", tt.name, base), func(t *testing.T) {
				p := &pauser{}
				db, clock := newSyncDB(t, p.hook)
				s := db.Sync()
				f := newFeed(s)
				if base > 0 {
					put(t, s, note("a", 1, "first"), 0)
				}
				put(t, s, note("b", 1, "B"), 0)
				g := p.at(t, tt.step, "a")
				a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", base+1, "A"), BaseVersion: base})
				n := g.wait(t)
				rb := put(t, s, note("b", 2, "B"), 1)
				if w := f.mustPull(t); w >= n {
					t.Fatalf("watermark %d passed %d before the fencing timeout", w, n)
				}
				clock.Advance(testFenceAfter)
				w := f.mustPull(t)
				if w < rb.Seq || f.served("b") != 2 {
					t.Fatalf("after the timeout: watermark %d (B at %d), served %v", w, rb.Seq, f.versions)
				}
				wantA := base // A's write is not served: it has not happened
				if tt.step == stepWritten {
					wantA = base + 1 // it happened before the fence, so it is served
				}
				if f.served("a") != wantA {
					t.Fatalf("served version %d of A's document, want %d", f.served("a"), wantA)
				}
				put(t, s, note("b", 3, "B"), 2)
				f.mustPull(t)
				fencedAt := f.mustPull(t)

				g.open()
				res := a.result(t)[0]
				switch {
				case res.Conflict:
					t.Fatalf("A conflicted: %+v", res)
				case tt.step == stepWritten && res.Seq != n:
					t.Fatalf("A's write, done before the fence, reports %d, want %d", res.Seq, n)
				case tt.step != stepWritten && res.Seq <= fencedAt:
					t.Fatalf("A retried with %d, not above the watermark %d", res.Seq, fencedAt)
				}
				f.mustPull(t)
				f.matchesStore(t, "a", "b")
				if f.served("a") != base+1 {
					t.Fatalf("A's write is not served: %v", f.versions)
				}
			})
		}
	}
}

// TestSyncFencedWriterFindsNewVersion: A stops before its document write and is fenced;
// meanwhile B updates the same document. A, resumed, conflicts: B's version stands.
func TestSyncFencedWriterFindsNewVersion(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, clock := newSyncDB(t, p.hook)
	s := db.Sync()
	f := newFeed(s)
	put(t, s, note("a", 1, "first"), 0)
	g := p.at(t, stepChecked, "a")
	a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", 2, "A"), BaseVersion: 1})
	g.wait(t)
	clock.Advance(testFenceAfter)
	f.mustPull(t)
	if r := put(t, s, note("a", 2, "B"), 1); r.Conflict {
		t.Fatal("B conflicted with a fenced writer")
	}
	g.open()
	if res := a.result(t)[0]; !res.Conflict || res.Seq != 0 {
		t.Fatalf("A after B's update: %+v, want a conflict", res)
	}
	f.mustPull(t)
	f.matchesStore(t, "a")
	docs, _ := s.FindDocuments(t.Context(), []datasync.DocRef{ref("a")})
	if len(docs) != 1 || docs[0].Fields["by"] != "B" {
		t.Fatalf("stored %+v, want B's write", docs)
	}
}

// TestSyncFencedBatchKeepsOrder: a commit of three writes is fenced at its second; the
// first stands, the other two get new numbers, in order, above the watermark.
func TestSyncFencedBatchKeepsOrder(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, clock := newSyncDB(t, p.hook)
	s := db.Sync()
	f := newFeed(s)
	g := p.at(t, stepChecked, "y")
	a := commitAsync(t.Context(), s, datasync.Write{Doc: note("x", 1, "A")}, datasync.Write{Doc: note("y", 1, "A")},
		datasync.Write{Doc: note("z", 1, "A")})
	n := g.wait(t)
	clock.Advance(testFenceAfter)
	w := f.mustPull(t)
	if w < n+1 || f.served("x") != 1 || f.served("y") != 0 {
		t.Fatalf("after the fence: watermark %d, served %v", w, f.versions)
	}
	g.open()
	res := a.result(t)
	if res[0].Seq != n-1 || res[1].Seq <= w || res[2].Seq <= res[1].Seq {
		t.Fatalf("results %+v: want x at %d, then y and z above %d in order", res, n-1, w)
	}
	f.mustPull(t)
	f.matchesStore(t, "x", "y", "z")
}

// TestSyncFenceRacesLateLedgerInsert: the advancer decides that a writer's number is
// missing and fences it, and stops before publishing; the writer then records the number
// (it must fail: the void entry is there) and stops before its document write; then the
// advancer publishes. The write must not land below the published watermark.
func TestSyncFenceRacesLateLedgerInsert(t *testing.T) {
	t.Parallel()
	writer, advancer := &pauser{}, &pauser{}
	db, clock := newSyncDB(t, writer.hook)
	other := sibling(db, advancer.hook)
	reader := newFeed(sibling(db, nil).Sync())
	s := db.Sync()
	put(t, s, note("b", 1, "B"), 0)
	reader.mustPull(t)
	g1 := writer.at(t, stepAllocated, "a")
	a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", 1, "A")})
	n := g1.wait(t)
	clock.Advance(testFenceAfter)
	publish := advancer.at(t, stepPublish, "")
	advanced := make(chan error, 1)
	go func() { _, err := other.advance(context.Background(), false); advanced <- err }()
	if p := publish.wait(t); p < n {
		t.Fatalf("the advancer is about to publish %d, not past %d", p, n)
	}
	g2 := writer.at(t, stepChecked, "a")
	g1.open()
	if m := g2.wait(t); m == n {
		t.Errorf("the writer kept number %d after it was fenced", n)
	}
	publish.open()
	if err := <-advanced; err != nil {
		t.Fatal(err)
	}
	w := reader.mustPull(t)
	g2.open()
	if res := a.result(t)[0]; res.Seq <= w {
		t.Fatalf("A landed at %d, at or below the published watermark %d", res.Seq, w)
	}
	reader.mustPull(t)
	reader.matchesStore(t, "a", "b")
}

// TestSyncPurgedNumberIsNotReused: a fenced number's void entry is purged once the
// watermark is past it; the writer that held the number then records it again, and must
// find it below the watermark (W3) rather than write with it.
func TestSyncPurgedNumberIsNotReused(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, clock := newSyncDB(t, p.hook)
	s := db.Sync()
	f := newFeed(s)
	g := p.at(t, stepAllocated, "a")
	a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", 1, "A")})
	n := g.wait(t)
	clock.Advance(testFenceAfter)
	f.mustPull(t)
	for i := range purgeEvery + 1 {
		put(t, s, note(fmt.Sprint("b", i), 1, "B"), 0)
		f.mustPull(t)
	}
	if c, err := db.ledger().CountDocuments(t.Context(), bson.M{"_id": n}); err != nil || c != 0 {
		t.Fatalf("the void entry of %d was not purged (%d, %v)", n, c, err)
	}
	g.open()
	w := f.w
	if res := a.result(t)[0]; res.Seq <= w {
		t.Fatalf("A landed at %d, at or below the watermark %d", res.Seq, w)
	}
	f.mustPull(t)
	f.matchesStore(t, "a")
}

// TestSyncWatermarkNeverGoesBack: a node that computed a lower watermark publishes it
// after another node published a higher one; the stored watermark stays the higher, and
// the slow node reports that one.
func TestSyncWatermarkNeverGoesBack(t *testing.T) {
	t.Parallel()
	slow := &pauser{}
	db, _ := newSyncDB(t, nil)
	x, y := sibling(db, slow.hook), sibling(db, nil)
	put(t, db.Sync(), note("a", 1, "A"), 0)
	publish := slow.at(t, stepPublish, "")
	type result struct {
		w   int64
		err error
	}
	done := make(chan result, 1)
	go func() { w, err := x.Sync().Watermark(context.Background()); done <- result{w, err} }()
	low := publish.wait(t)
	put(t, db.Sync(), note("b", 1, "B"), 0)
	high, err := y.Sync().Watermark(t.Context())
	if err != nil || high <= low {
		t.Fatalf("the other node's watermark: %d, %v; want above %d", high, err, low)
	}
	publish.open()
	if r := <-done; r.err != nil || r.w < high {
		t.Fatalf("the slow node reports %d (%v) after %d was published", r.w, r.err, high)
	}
	if w, err := y.Sync().Watermark(t.Context()); err != nil || w < high {
		t.Fatalf("the watermark went back from %d to %d (%v)", high, w, err)
	}
}

// roundRobin spreads calls over several nodes of one database.
type roundRobin struct {
	nodes []datasync.Store
	next  atomic.Uint64
	// committed, when set, is poked after every commit (monitors pull then).
	committed chan struct{}
}

func (r *roundRobin) pick() datasync.Store { return r.nodes[r.next.Add(1)%uint64(len(r.nodes))] }

func (r *roundRobin) FindDocuments(ctx context.Context, refs []datasync.DocRef) ([]datasync.Document, error) {
	return r.pick().FindDocuments(ctx, refs)
}
func (r *roundRobin) Commit(ctx context.Context, c datasync.Commit) ([]datasync.CommitResult, error) {
	res, err := r.pick().Commit(ctx, c)
	if r.committed != nil {
		select {
		case r.committed <- struct{}{}:
		default:
		}
	}
	return res, err
}
func (r *roundRobin) Watermark(ctx context.Context) (int64, error) { return r.pick().Watermark(ctx) }
func (r *roundRobin) ScanBucket(ctx context.Context, q datasync.BucketScan) ([]datasync.Document, error) {
	return r.pick().ScanBucket(ctx, q)
}
func (r *roundRobin) FindClient(ctx context.Context, id string) (datasync.ClientMark, error) {
	return r.pick().FindClient(ctx, id)
}
func (r *roundRobin) ListCollections(ctx context.Context) ([]datasync.Collection, error) {
	return r.pick().ListCollections(ctx)
}
func (r *roundRobin) PutCollection(ctx context.Context, c datasync.Collection) error {
	return r.pick().PutCollection(ctx, c)
}
func (r *roundRobin) DeleteCollection(ctx context.Context, name string) error {
	return r.pick().DeleteCollection(ctx, name)
}
func (r *roundRobin) TouchedBuckets(ctx context.Context, after, through int64, limit int) ([]datasync.Touched, bool, error) {
	return r.pick().TouchedBuckets(ctx, after, through, limit)
}
func (r *roundRobin) PurgeDocuments(ctx context.Context, before time.Time, limit int) (int, error) {
	return r.pick().PurgeDocuments(ctx, before, limit)
}
func (r *roundRobin) PurgeHorizon(ctx context.Context) (int64, error) {
	return r.pick().PurgeHorizon(ctx)
}
func (r *roundRobin) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	return r.pick().AcquireLease(ctx, name, holder, now, until)
}
func (r *roundRobin) CreateGroup(ctx context.Context, g datasync.Group) error {
	return r.pick().CreateGroup(ctx, g)
}
func (r *roundRobin) FindGroup(ctx context.Context, id string) (datasync.Group, error) {
	return r.pick().FindGroup(ctx, id)
}
func (r *roundRobin) ListGroups(ctx context.Context, userID string) ([]datasync.Membership, error) {
	return r.pick().ListGroups(ctx, userID)
}
func (r *roundRobin) ListMembers(ctx context.Context, groupID string) ([]datasync.Member, error) {
	return r.pick().ListMembers(ctx, groupID)
}
func (r *roundRobin) AddMember(ctx context.Context, m datasync.Member) error {
	return r.pick().AddMember(ctx, m)
}
func (r *roundRobin) RemoveMember(ctx context.Context, groupID, userID string) error {
	return r.pick().RemoveMember(ctx, groupID, userID)
}
func (r *roundRobin) DeleteMemberships(ctx context.Context, userID string) error {
	return r.pick().DeleteMemberships(ctx, userID)
}
func (r *roundRobin) DeleteGroup(ctx context.Context, id string) error {
	return r.pick().DeleteGroup(ctx, id)
}
func (r *roundRobin) ListOwnedDocuments(ctx context.Context, owner string, limit int) ([]datasync.Document, error) {
	return r.pick().ListOwnedDocuments(ctx, owner, limit)
}

// TestSyncOrderingWithStalls runs the shared ordering case on three nodes with a short
// fencing timeout and a manual clock, the hook stalling writers at random between their
// steps (and yielding often): a long stall moves the clock past the timeout and has
// another node read the watermark meanwhile, so that writers are fenced at every step and
// retry, while readers follow. Nothing waits for real time to pass.
func TestSyncOrderingWithStalls(t *testing.T) {
	t.Parallel()
	const fenceAfter = 40 * time.Millisecond
	uri := storetest.MongoURI(t)
	clock := tideline.NewManualClock(storetest.Epoch)
	db, err := Open(t.Context(), Options{URI: uri, Database: newDatabaseName(t, uri), Clock: clock, SyncFenceAfter: fenceAfter})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	var nodes []*DB
	var stalling atomic.Bool // one long stall at a time: its watermark read runs hooks too
	hook := func(node int) func(syncStep, datasync.DocRef, int64) {
		return func(step syncStep, _ datasync.DocRef, _ int64) {
			mu.Lock()
			x, d := rng.IntN(100), time.Duration(rng.IntN(4000))*time.Microsecond
			mu.Unlock()
			switch {
			case x < 4 && stalling.CompareAndSwap(false, true):
				clock.Advance(3 * fenceAfter)
				if _, err := nodes[(node+1)%len(nodes)].Sync().Watermark(t.Context()); err != nil {
					t.Errorf("watermark during a stall: %v", err)
				}
				stalling.Store(false)
			case x < 25:
				clock.Advance(d) // a short stall, within the timeout
				runtime.Gosched()
			case x < 60:
				runtime.Gosched()
			}
		}
	}
	db.syncer.hook = hook(0)
	nodes = []*DB{db, sibling(db, hook(1)), sibling(db, hook(2))}
	rr := &roundRobin{committed: make(chan struct{}, 1)}
	for _, n := range nodes {
		rr.nodes = append(rr.nodes, n.Sync())
	}
	// Besides RunOrdering's readers, which compare final states only, two monitors check
	// on every pull that nothing appears below a watermark they read before.
	stop := make(chan struct{})
	var monitors sync.WaitGroup
	for range 2 {
		monitors.Go(func() { monitor(t, newFeed(rr), rr.committed, stop) })
	}
	start := time.Now()
	storetest.RunOrdering(t, rr, 6, 3, storetest.Sized("mongodb", 25, 15))
	close(stop)
	monitors.Wait()
	var fenced int64
	for _, n := range nodes {
		fenced += n.syncer.fenced.Load()
	}
	t.Logf("%d numbers fenced in %v", fenced, time.Since(start))
	if fenced == 0 {
		t.Fatal("no number was fenced: the case did not exercise fencing")
	}
}

// monitor pulls f after every commit until stop is closed, reporting what a pull finds
// wrong.
func monitor(t *testing.T, f *feed, committed <-chan struct{}, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-committed:
		}
		if _, err := f.pull(context.Background()); err != nil {
			t.Errorf("monitor: %v", err)
			return
		}
	}
}
