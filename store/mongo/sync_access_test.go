package mongo

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// These cases cover what the conformance suite cannot reach in PurgeDocuments and
// AcquireLease: a purge racing a write, a fencer or another purger on the same document
// (the purger stopped with the hook at stepPurge), the order of the horizon and the purge,
// the fence a purged tombstone must keep, and nodes racing for an expired lease.

// purgeBefore is after every document these cases write at storetest.Epoch.
var purgeBefore = storetest.Epoch.Add(time.Hour)

// tombstone is version v of note id, deleted.
func tombstone(id string, v int64) datasync.Document {
	d := note(id, v, "")
	d.Deleted, d.Fields = true, nil
	return d
}

// purgeAsync runs PurgeDocuments on s in the background; the channel yields its count.
func purgeAsync(t *testing.T, s datasync.Store) <-chan int {
	out := make(chan int, 1)
	go func() {
		n, err := s.PurgeDocuments(t.Context(), purgeBefore, 10)
		if err != nil {
			t.Errorf("PurgeDocuments: %v", err)
		}
		out <- n
	}()
	return out
}

func receive(t *testing.T, c <-chan int) int {
	t.Helper()
	select {
	case n := <-c:
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("the paused purge did not finish after its release")
		return 0
	}
}

// rawSync reads the _sync subdocument of note id as stored.
func rawSync(t *testing.T, db *DB, id string) bson.M {
	t.Helper()
	var raw struct {
		Sync bson.M `bson:"_sync"`
	}
	if err := db.db.Collection("notes").FindOne(t.Context(), bson.M{"_id": "u1:" + id}).Decode(&raw); err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return raw.Sync
}

// TestSyncPurgeKeepsTheFence: a creation stalls after its watermark check; its number is
// fenced on the document, a tombstone, which is then purged. Had the purge deleted the
// document, the creation would insert at its fenced number, below a watermark a reader
// has passed; the placeholder the purge leaves keeps the fence, so it retries above.
func TestSyncPurgeKeepsTheFence(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, clock := newSyncDB(t, p.hook)
	s := db.Sync()
	put(t, s, note("a", 1, "x"), 0)
	put(t, s, tombstone("a", 2), 1)
	g := p.at(t, stepChecked, "a")
	a := commitAsync(t.Context(), s, datasync.Write{Doc: note("a", 1, "again")}) // read as absent long ago
	n := g.wait(t)
	clock.Advance(testFenceAfter)
	if w, err := s.Watermark(t.Context()); err != nil || w < n {
		t.Fatalf("watermark %d (%v): number %d was not fenced", w, err, n)
	}
	if purged, err := s.PurgeDocuments(t.Context(), purgeBefore, 10); err != nil || purged != 1 {
		t.Fatalf("purged %d (%v), want the tombstone", purged, err)
	}
	if f := rawSync(t, db, "a"); f["fence"] != n || f["version"] != int64(0) || f["seq"] != nil {
		t.Fatalf("the purged tombstone is stored as %v, want a placeholder with fence %d", f, n)
	}
	f := newFeed(s) // a reader that never saw the tombstone, past the fenced number
	if w := f.mustPull(t); w < n {
		t.Fatalf("watermark %d below %d", w, n)
	}
	g.open()
	if res := a.result(t); res[0].Conflict || res[0].Seq <= n {
		t.Fatalf("the stalled creation: %+v, want a new number above %d", res[0], n)
	}
	if f.mustPull(t); f.served("a") != 1 {
		t.Fatalf("the creation after the purge is not served: %v", f.versions)
	}
	f.matchesStore(t, "a")
}

// TestSyncPurgeRacesAWrite: the purger reads a tombstone and a document with evictions,
// raises the horizon and stops; both are written again, with recent times, before it goes
// on. It must change neither (their seq is no longer the one it read), and the horizon
// must have covered what it was about to purge before it purged anything.
func TestSyncPurgeRacesAWrite(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, _ := newSyncDB(t, p.hook)
	s := db.Sync()
	put(t, s, note("a", 1, "x"), 0)
	put(t, s, tombstone("a", 2), 1)
	b := note("b", 1, "x")
	b.Evicted = []string{"group:g1"}
	bSeq := put(t, s, b, 0).Seq
	g := p.at(t, stepPurge, "a")
	done := purgeAsync(t, s)
	g.wait(t)
	if h, err := s.PurgeHorizon(t.Context()); err != nil || h < bSeq {
		t.Fatalf("horizon %d (%v) before the purge changes anything, want >= %d", h, err, bSeq)
	}
	recent := storetest.Epoch.Add(2 * time.Hour)
	a3 := note("a", 3, "back")
	a4 := tombstone("a", 4)
	b2 := note("b", 2, "y")
	b2.Evicted = []string{"group:g1"}
	for _, w := range []struct {
		d    *datasync.Document
		base int64
	}{{&a3, 2}, {&a4, 3}, {&b2, 1}} {
		w.d.UpdatedAt = recent
		put(t, s, *w.d, w.base)
	}
	g.open()
	if n := receive(t, done); n != 0 {
		t.Fatalf("the purge changed %d documents written again since it read them", n)
	}
	docs, err := s.FindDocuments(t.Context(), []datasync.DocRef{ref("a"), ref("b")})
	if err != nil || len(docs) != 2 {
		t.Fatalf("FindDocuments: %v %v", docs, err)
	}
	for _, d := range docs {
		if (d.Ref.ID == "a" && (d.Version != 4 || !d.Deleted)) || (d.Ref.ID == "b" && (d.Version != 2 || !slices.Equal(d.Evicted, []string{"group:g1"}))) {
			t.Fatalf("after the racing purge: %+v", d)
		}
	}
}

// TestSyncPurgeRacesAFence: a fencer raises the fence of a tombstone between the purger's
// read and its change. The purge must not turn it into a placeholder with the fence it
// read (that would lower the fence); the next purge does, with the raised fence.
func TestSyncPurgeRacesAFence(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, _ := newSyncDB(t, p.hook)
	s := db.Sync()
	put(t, s, note("a", 1, "x"), 0)
	put(t, s, tombstone("a", 2), 1)
	g := p.at(t, stepPurge, "a")
	done := purgeAsync(t, s)
	g.wait(t)
	const raised = int64(7)
	if _, err := db.docs("notes").UpdateOne(t.Context(), bson.M{"_id": "u1:a"}, bson.M{"$max": bson.M{"_sync.fence": raised}}); err != nil {
		t.Fatal(err)
	}
	g.open()
	if n := receive(t, done); n != 0 {
		t.Fatalf("the purge changed %d documents fenced since it read them", n)
	}
	if f := rawSync(t, db, "a"); f["fence"] != raised || f["deleted"] != true {
		t.Fatalf("after the racing purge: %v", f)
	}
	if n, err := s.PurgeDocuments(t.Context(), purgeBefore, 10); err != nil || n != 1 {
		t.Fatalf("the next purge: %d %v", n, err)
	}
	if f := rawSync(t, db, "a"); f["fence"] != raised || f["version"] != int64(0) {
		t.Fatalf("the placeholder %v lost the raised fence %d", f, raised)
	}
}

// TestSyncPurgersCountOnce: two nodes purge the same documents at once; each document is
// changed, and counted, by one of them.
func TestSyncPurgersCountOnce(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, _ := newSyncDB(t, p.hook)
	other := sibling(db, nil)
	for _, id := range []string{"a", "b", "c"} {
		d := note(id, 1, "x")
		if id == "a" {
			d = tombstone(id, 1)
		} else {
			d.Evicted = []string{"group:" + id}
		}
		put(t, db.Sync(), d, 0)
	}
	g := p.at(t, stepPurge, "a")
	first := purgeAsync(t, db.Sync())
	g.wait(t)
	n, err := other.Sync().PurgeDocuments(t.Context(), purgeBefore, 10)
	if err != nil {
		t.Fatal(err)
	}
	g.open()
	if m := receive(t, first); n+m != 3 {
		t.Fatalf("the purgers counted %d and %d, want 3 in all", m, n)
	}
	if docs, _ := db.Sync().ScanBucket(t.Context(), datasync.BucketScan{Bucket: "group:b", Through: 10, Limit: 10}); len(docs) != 0 {
		t.Fatalf("group:b after the purges: %+v", docs)
	}
}

// TestSyncLeaseTakeover: nodes race for an expired lease; exactly one takes it, and the
// stored holder is that one.
func TestSyncLeaseTakeover(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	nodes := []*DB{db, sibling(db, nil), sibling(db, nil)}
	at := func(s int) time.Time { return storetest.Epoch.Add(time.Duration(s) * time.Second) }
	if ok, err := db.Sync().AcquireLease(t.Context(), "sweep", "old", at(0), at(60)); err != nil || !ok {
		t.Fatalf("first acquire: %v %v", ok, err)
	}
	for round, now := range []int{60, 200, 400} { // until == now counts as expired
		var wins atomic.Int32
		var winner atomic.Value
		var wg sync.WaitGroup
		for i := range 9 {
			wg.Go(func() {
				holder := string(rune('a'+round)) + string(rune('0'+i))
				ok, err := nodes[i%len(nodes)].Sync().AcquireLease(t.Context(), "sweep", holder, at(now), at(now+100))
				if err != nil {
					t.Errorf("AcquireLease: %v", err)
				}
				if ok {
					wins.Add(1)
					winner.Store(holder)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d holders", round, wins.Load())
		}
		var stored struct {
			Holder string `bson:"holder"`
		}
		if err := db.docs(leasesCollection).FindOne(t.Context(), bson.M{"_id": "sweep"}).Decode(&stored); err != nil || stored.Holder != winner.Load() {
			t.Fatalf("round %d: stored holder %q (%v), winner %v", round, stored.Holder, err, winner.Load())
		}
	}
}

// TestSyncEvictionLayout: evicted is stored beside buckets, reach is their union, purgeAt
// is on tombstones and documents with evictions only, and the indexes exist.
func TestSyncEvictionLayout(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	s := db.Sync()
	d := note("a", 1, "x")
	d.Buckets, d.Evicted = []string{"user:u1", "group:g1"}, []string{"group:g0", "group:g1"}
	put(t, s, d, 0)
	put(t, s, note("b", 1, "x"), 0)
	put(t, s, tombstone("c", 1), 0)
	a := rawSync(t, db, "a")
	if !slices.Equal(stringsOf(a["reach"]), []string{"user:u1", "group:g1", "group:g0"}) || !slices.Equal(stringsOf(a["evicted"]), d.Evicted) || a["purgeAt"] == nil {
		t.Fatalf("a document with evictions is stored as %v", a)
	}
	if b := rawSync(t, db, "b"); b["purgeAt"] != nil || len(stringsOf(b["evicted"])) != 0 || b["evicted"] == nil {
		t.Fatalf("a document without evictions is stored as %v", b)
	}
	if c := rawSync(t, db, "c"); c["purgeAt"] == nil {
		t.Fatalf("a tombstone is stored as %v", c)
	}
	for coll, want := range map[string][]string{
		"notes":           {"_sync.reach_1__sync.seq_1", "_sync.seq_1", "_sync.purgeAt_1", "_sync.owner_1"},
		membersCollection: {"userId_1", "groupId_1"},
	} {
		specs, err := db.db.Collection(coll).Indexes().ListSpecifications(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range want {
			if !slices.ContainsFunc(specs, func(s mongo.IndexSpecification) bool { return s.Name == name }) {
				t.Errorf("collection %s lacks index %s", coll, name)
			}
		}
	}
}

func stringsOf(v any) []string {
	var out []string
	if a, ok := v.(bson.A); ok {
		for _, x := range a {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}

// TestSyncPurgeLimitAcrossCollections: the limit holds for all collections together, and
// the oldest documents go first, whatever their seq.
func TestSyncPurgeLimitAcrossCollections(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	s := db.Sync()
	younger := tombstone("a", 1)
	younger.UpdatedAt = storetest.Epoch.Add(time.Minute)
	put(t, s, younger, 0)
	older := tombstone("b", 1)
	older.Ref.Collection = "tasks"
	olderSeq := put(t, s, older, 0).Seq
	if n, err := s.PurgeDocuments(t.Context(), purgeBefore, 1); err != nil || n != 1 {
		t.Fatalf("purged %d (%v) with limit 1", n, err)
	}
	if h, _ := s.PurgeHorizon(t.Context()); h != olderSeq {
		t.Fatalf("horizon %d, want %d: the older tombstone goes first", h, olderSeq)
	}
	if docs, _ := s.FindDocuments(t.Context(), []datasync.DocRef{younger.Ref, older.Ref}); len(docs) != 1 || docs[0].Ref != younger.Ref {
		t.Fatalf("left after the purge: %+v", docs)
	}
}
