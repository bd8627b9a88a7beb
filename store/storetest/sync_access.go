package storetest

import (
	"slices"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
)

// write commits d on top of base and returns its seq.
func write(t *testing.T, s sync.Store, d sync.Document, base int64) int64 {
	t.Helper()
	r := commit(t, s, sync.Write{Doc: d, BaseVersion: base})
	if r[0].Conflict {
		t.Fatalf("conflict writing %s version %d", d.Ref.ID, d.Version)
	}
	return r[0].Seq
}

func watermark(t *testing.T, s sync.Store) int64 {
	t.Helper()
	w, err := s.Watermark(t.Context())
	must(t, err, "Watermark")
	return w
}

func runSyncEvicted(t *testing.T, h Harness) {
	s := syncStore(t, h)
	d := newDoc("shared", 1, map[string]any{"x": int64(1)}, "user:u1", "group:g1")
	write(t, s, d, 0)
	left := newDoc("shared", 2, map[string]any{"x": int64(2)}, "user:u1")
	left.Evicted = []string{"group:g1"}
	seq := write(t, s, left, 1)
	w := watermark(t, s)
	docs, err := s.ScanBucket(t.Context(), sync.BucketScan{Buckets: []string{"group:g1"}, Through: w, Limit: 10})
	must(t, err, "ScanBucket")
	if len(docs) != 1 || docs[0].Seq != seq || !slices.Equal(docs[0].Buckets, []string{"user:u1"}) || !slices.Equal(docs[0].Evicted, []string{"group:g1"}) || docs[0].EvictSeq != seq {
		t.Fatalf("the bucket the document left returns %+v (EvictSeq is the evicting write's seq, %d)", docs, seq)
	}
	// A later write carries the eviction and its number.
	again := newDoc("shared", 3, map[string]any{"x": int64(3)}, "user:u1")
	again.Evicted, again.EvictSeq = []string{"group:g1"}, seq
	seq2 := write(t, s, again, 2)
	docs, _ = s.ScanBucket(t.Context(), sync.BucketScan{Buckets: []string{"group:g1"}, Through: watermark(t, s), Limit: 10})
	if len(docs) != 1 || docs[0].Seq != seq2 || docs[0].EvictSeq != seq {
		t.Fatalf("after a later write: %+v", docs)
	}
	if got, err := s.FindDocuments(t.Context(), []sync.DocRef{again.Ref}); err != nil || len(got) != 1 || got[0].EvictSeq != seq {
		t.Fatalf("FindDocuments: %+v %v", got, err)
	}
	w = watermark(t, s)
	if got := scan(t, s, sync.BucketScan{Buckets: []string{"group:g1"}, Through: w, Limit: 10, SkipDeleted: true}); got != nil {
		t.Fatalf("an initial sync of the left bucket returns %v", got)
	}
	if got := scan(t, s, sync.BucketScan{Buckets: []string{"user:u1"}, Through: w, Limit: 10}); !slices.Equal(got, []string{"notes/shared"}) {
		t.Fatalf("its own bucket: %v", got)
	}
	back := newDoc("shared", 4, map[string]any{"x": int64(4)}, "user:u1", "group:g1")
	write(t, s, back, 3)
	docs, _ = s.ScanBucket(t.Context(), sync.BucketScan{Buckets: []string{"group:g1"}, Through: watermark(t, s), Limit: 10, SkipDeleted: true})
	if len(docs) != 1 || len(docs[0].Evicted) != 0 {
		t.Fatalf("after rejoining: %+v", docs)
	}
}

func runSyncTouched(t *testing.T, h Harness) {
	s := syncStore(t, h)
	start := watermark(t, s)
	a := newDoc("a", 1, map[string]any{"x": int64(1)}, "user:u1", "public")
	write(t, s, a, 0)
	b := newDoc("b", 1, map[string]any{"x": int64(1)}, "group:g1")
	b.Ref.Collection = "tasks"
	b.Evicted = []string{"group:g0"}
	last := write(t, s, b, 0)
	got, more, err := s.TouchedBuckets(t.Context(), start, last, 10)
	must(t, err, "TouchedBuckets")
	slices.SortFunc(got, func(x, y sync.Touched) int { return strings.Compare(x.Bucket, y.Bucket) })
	want := []sync.Touched{{Bucket: "group:g0", Collection: "tasks"}, {Bucket: "group:g1", Collection: "tasks"},
		{Bucket: "public", Collection: "notes"}, {Bucket: "user:u1", Collection: "notes"}}
	if diff := cmp.Diff(want, got); diff != "" || more {
		t.Fatalf("TouchedBuckets (-want +got):\n%s (more %v)", diff, more)
	}
	if got, _, _ := s.TouchedBuckets(t.Context(), last, last, 10); len(got) != 0 {
		t.Fatalf("an empty range touched %v", got)
	}
	if got, more, _ := s.TouchedBuckets(t.Context(), start, last, 2); len(got) != 2 || !more {
		t.Fatalf("limit 2: %v more=%v", got, more)
	}
	// A later write to b touches its buckets, not the bucket it was evicted from before.
	b2 := newDoc("b", 2, map[string]any{"x": int64(2)}, "group:g1")
	b2.Ref.Collection = "tasks"
	b2.Evicted, b2.EvictSeq = []string{"group:g0"}, last
	later := write(t, s, b2, 1)
	if got, _, _ := s.TouchedBuckets(t.Context(), last, later, 10); !cmp.Equal(got, []sync.Touched{{Bucket: "group:g1", Collection: "tasks"}}) {
		t.Fatalf("a later write touched %v", got)
	}
}

func runSyncPurge(t *testing.T, h Harness) {
	s := syncStore(t, h)
	old := func(id string, n int) sync.Document {
		d := newDoc(id, 1, map[string]any{"x": int64(1)}, "user:u1", "group:g1")
		d.UpdatedAt = at(n)
		return d
	}
	write(t, s, old("keep", 1), 0)
	gone := old("gone", 2)
	gone.Deleted, gone.Fields = true, nil
	goneSeq := write(t, s, gone, 0)
	left := old("left", 3)
	left.Buckets, left.Evicted = []string{"user:u1"}, []string{"group:g1"}
	leftSeq := write(t, s, left, 0)
	recent := old("recent", 100)
	recent.Deleted, recent.Fields = true, nil
	write(t, s, recent, 0)
	h0, err := s.PurgeHorizon(t.Context())
	must(t, err, "PurgeHorizon")
	if h0 != 0 {
		t.Fatalf("horizon %d before any purge", h0)
	}
	n, err := s.PurgeDocuments(t.Context(), at(50), 1)
	must(t, err, "PurgeDocuments")
	if n != 1 {
		t.Fatalf("purged %d with limit 1", n)
	}
	n, err = s.PurgeDocuments(t.Context(), at(50), 10)
	must(t, err, "PurgeDocuments again")
	if n != 1 {
		t.Fatalf("the second purge changed %d, want the one left", n)
	}
	if n, _ := s.PurgeDocuments(t.Context(), at(50), 10); n != 0 {
		t.Fatalf("a third purge changed %d", n)
	}
	hz, _ := s.PurgeHorizon(t.Context())
	if hz != max(goneSeq, leftSeq) {
		t.Fatalf("horizon %d, want %d", hz, max(goneSeq, leftSeq))
	}
	docs := find(t, s, refs([]string{"keep", "gone", "left", "recent"})...)
	if _, ok := docs[gone.Ref]; ok || len(docs) != 3 {
		t.Fatalf("after the purge: %v", docs)
	}
	if d := docs[left.Ref]; len(d.Evicted) != 0 || !slices.Equal(d.Buckets, []string{"user:u1"}) {
		t.Fatalf("the evicted document after the purge: %+v", d)
	}
	if got := scan(t, s, sync.BucketScan{Buckets: []string{"group:g1"}, Through: watermark(t, s), Limit: 10}); !slices.Equal(got, []string{"notes/keep", "notes/recent"}) { // "left" left it for good; "recent" is a young tombstone
		t.Fatalf("group:g1 after the purge: %v", got)
	}
}

func runSyncLease(t *testing.T, h Harness) {
	s := syncStore(t, h)
	take := func(holder string, now int) bool {
		t.Helper()
		ok, err := s.AcquireLease(t.Context(), "sweep", holder, at(now), at(now+60))
		must(t, err, "AcquireLease")
		return ok
	}
	if !take("n1", 0) || take("n2", 10) || !take("n1", 30) || take("n2", 89) || !take("n2", 90) || take("n1", 100) {
		t.Fatal("the lease did not go: n1 takes, n2 waits, n1 renews until 90, n2 takes it at 90")
	}
	var wins atomic.Int32
	var wg stdsync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			ok, err := s.AcquireLease(t.Context(), "race", string(rune('a'+i)), at(0), at(60))
			if err != nil {
				t.Errorf("AcquireLease: %v", err)
			}
			if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d holders of one lease", wins.Load())
	}
}

func runSyncGroups(t *testing.T, h Harness) {
	s := syncStore(t, h)
	g := sync.Group{ID: tideline.NewID(), Name: "Family", OwnerID: "u1", CreatedAt: at(1)}
	must(t, s.CreateGroup(t.Context(), g), "CreateGroup")
	wantCode(t, s.CreateGroup(t.Context(), g), tideline.CodeConflict, "CreateGroup twice")
	got, err := s.FindGroup(t.Context(), g.ID)
	must(t, err, "FindGroup")
	if diff := cmp.Diff(g, got, equate...); diff != "" {
		t.Fatalf("FindGroup (-want +got):\n%s", diff)
	}
	_, err = s.FindGroup(t.Context(), tideline.NewID())
	wantCode(t, err, tideline.CodeNotFound, "FindGroup unknown")
	must(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u2", Role: "member", AddedAt: at(2)}), "AddMember")
	must(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u2", Role: "member", AddedAt: at(3)}), "AddMember again")
	// Added "before" the group was made (clocks differ between nodes): the owner still
	// comes first.
	must(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u0", Role: "member", AddedAt: at(0)}), "AddMember early")
	wantCode(t, s.AddMember(t.Context(), sync.Member{GroupID: tideline.NewID(), UserID: "u2", Role: "member", AddedAt: at(2)}), tideline.CodeNotFound, "AddMember to no group")
	other := sync.Group{ID: tideline.NewID(), Name: "Book club", OwnerID: "u2", CreatedAt: at(4)}
	must(t, s.CreateGroup(t.Context(), other), "CreateGroup other")
	members, err := s.ListMembers(t.Context(), g.ID)
	must(t, err, "ListMembers")
	if len(members) != 3 || members[0].UserID != "u1" || members[0].Role != "owner" || members[1].UserID != "u0" || members[2].UserID != "u2" || members[2].Role != "member" || !members[2].AddedAt.Equal(at(2)) {
		t.Fatalf("members %+v", members)
	}
	mine, err := s.ListGroups(t.Context(), "u2")
	must(t, err, "ListGroups")
	if len(mine) != 2 || mine[0].Group.Name != "Book club" || mine[0].Role != "owner" || mine[1].Group.ID != g.ID || mine[1].Role != "member" {
		t.Fatalf("u2's groups %+v", mine)
	}
	must(t, s.RemoveMember(t.Context(), g.ID, "u2"), "RemoveMember")
	wantCode(t, s.RemoveMember(t.Context(), g.ID, "u2"), tideline.CodeNotFound, "RemoveMember twice")
	if mine, _ := s.ListGroups(t.Context(), "u2"); len(mine) != 1 {
		t.Fatalf("after leaving: %+v", mine)
	}
	must(t, s.AddMember(t.Context(), sync.Member{GroupID: g.ID, UserID: "u3", Role: "member", AddedAt: at(5)}), "AddMember u3")
	must(t, s.DeleteMemberships(t.Context(), "u3"), "DeleteMemberships")
	if mine, _ := s.ListGroups(t.Context(), "u3"); len(mine) != 0 {
		t.Fatalf("after DeleteMemberships: %+v", mine)
	}
	if mine, err := s.ListGroups(t.Context(), "nobody"); err != nil || len(mine) != 0 {
		t.Fatalf("a user in no group: %v %v", mine, err)
	}
}
