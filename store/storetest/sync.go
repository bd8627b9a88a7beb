package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	stdsync "sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
)

// runSync checks the engine's sync.Store against the contract documented on the interface.
func runSync(t *testing.T, h Harness) {
	t.Run("CommitAndFind", func(t *testing.T) { runSyncCommit(t, h) })
	t.Run("ConditionalWrites", func(t *testing.T) { runSyncConditional(t, h) })
	t.Run("ScanBucket", func(t *testing.T) { runSyncScan(t, h) })
	t.Run("ClientMarks", func(t *testing.T) { runSyncClients(t, h) })
	t.Run("ClientOwner", func(t *testing.T) { runSyncClientOwner(t, h) })
	t.Run("Collections", func(t *testing.T) { runSyncCollections(t, h) })
	t.Run("Evicted", func(t *testing.T) { runSyncEvicted(t, h) })
	t.Run("TouchedBuckets", func(t *testing.T) { runSyncTouched(t, h) })
	t.Run("Purge", func(t *testing.T) { runSyncPurge(t, h) })
	t.Run("Lease", func(t *testing.T) { runSyncLease(t, h) })
	t.Run("Groups", func(t *testing.T) { runSyncGroups(t, h) })
	t.Run("DeleteGroup", func(t *testing.T) { runSyncDeleteGroup(t, h) })
	t.Run("OwnedDocuments", func(t *testing.T) { runSyncOwnedDocuments(t, h) })
	t.Run("Browse", func(t *testing.T) { runSyncBrowse(t, h) })
	t.Run("ClientHealth", func(t *testing.T) { runSyncClientHealth(t, h) })
	t.Run("Nodes", func(t *testing.T) { runSyncNodes(t, h) })
	t.Run("OrderingUnderConcurrency", func(t *testing.T) {
		RunOrdering(t, syncStore(t, h), Sized(h.Engine, 16, 8), Sized(h.Engine, 4, 2), Sized(h.Engine, 120, 25))
	})
}

func syncStore(t *testing.T, h Harness) sync.Store {
	t.Helper()
	return open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Sync()
}

// newDoc is a document of collection "notes" with fields and its meta, owned by u1.
func newDoc(id string, version int64, fields map[string]any, buckets ...string) sync.Document {
	if buckets == nil {
		buckets = []string{"user:u1"}
	}
	h := sync.MakeHLC(Epoch, int(version), "c1")
	meta := sync.Meta{Touch: h, Fields: map[string]sync.FieldMeta{}, Clients: map[string]int64{"c1": version}}
	for name := range fields {
		meta.Fields[name] = sync.FieldMeta{Clock: h}
	}
	return sync.Document{Ref: sync.DocRef{Collection: "notes", Scope: "u1", ID: id}, Owner: "u1", Version: version,
		Fields: fields, Buckets: buckets, Meta: meta, UpdatedAt: at(int(version))}
}

func commit(t *testing.T, s sync.Store, writes ...sync.Write) []sync.CommitResult {
	t.Helper()
	res, err := s.Commit(t.Context(), sync.Commit{Writes: writes})
	must(t, err, "Commit")
	if len(res) != len(writes) {
		t.Fatalf("Commit returned %d results for %d writes", len(res), len(writes))
	}
	return res
}

func find(t *testing.T, s sync.Store, refs ...sync.DocRef) map[sync.DocRef]sync.Document {
	t.Helper()
	docs, err := s.FindDocuments(t.Context(), refs)
	must(t, err, "FindDocuments")
	out := map[sync.DocRef]sync.Document{}
	for _, d := range docs {
		if err := sync.Normalize(&d); err != nil {
			t.Fatal(err)
		}
		out[d.Ref] = d
	}
	return out
}

func runSyncCommit(t *testing.T, h Harness) {
	s := syncStore(t, h)
	rich := newDoc("a", 1, map[string]any{
		"title": "Buy milk", "n": int64(3), "ratio": 0.5, "done": false, "tags": []any{"x", int64(2)},
		"nested": map[string]any{"deep": map[string]any{"list": []any{true, "é✓"}}},
	})
	rich.Meta.Replace = sync.MakeHLC(Epoch, 0, "c1")
	rich.Meta.Fields["n"] = sync.FieldMeta{Clock: sync.MakeHLC(Epoch, 0, "c1"), Base: int64(1),
		Ops: []sync.NumOp{{Clock: sync.MakeHLC(Epoch, 5, "c2"), Kind: "inc", N: int64(2)}}}
	rich.Meta.Fields["tags"] = sync.FieldMeta{Clock: sync.MakeHLC(Epoch, 0, "c1"), Base: []any{"x"},
		Elems: map[string]sync.ElemOp{`2`: {Clock: sync.MakeHLC(Epoch, 6, "c2"), Add: true, Value: int64(2)}}}
	other := newDoc("b", 1, map[string]any{"title": "Call mum"})
	other.Ref.Collection = "tasks"
	res := commit(t, s, sync.Write{Doc: rich}, sync.Write{Doc: other})
	if res[0].Conflict || res[1].Conflict || res[0].Seq < 1 || res[1].Seq <= res[0].Seq {
		t.Fatalf("Commit results %+v: want two writes with increasing sequence numbers", res)
	}
	got := find(t, s, rich.Ref, other.Ref, sync.DocRef{Collection: "notes", Scope: "u1", ID: "missing"})
	if len(got) != 2 {
		t.Fatalf("FindDocuments found %d documents, want 2", len(got))
	}
	want := rich
	want.Seq = res[0].Seq
	if diff := cmp.Diff(want, got[rich.Ref], equate...); diff != "" {
		t.Fatalf("stored document (-want +got):\n%s", diff)
	}
	if d := got[other.Ref]; d.Seq != res[1].Seq || d.Fields["title"] != "Call mum" {
		t.Fatalf("second document %+v", d)
	}
	// Scopes separate documents with the same id.
	elsewhere := newDoc("a", 1, map[string]any{"title": "someone else's"})
	elsewhere.Ref.Scope, elsewhere.Owner = "u2", "u2"
	if r := commit(t, s, sync.Write{Doc: elsewhere}); r[0].Conflict {
		t.Fatal("a document of another scope with the same id conflicted")
	}
	if d := find(t, s, rich.Ref)[rich.Ref]; d.Fields["title"] != "Buy milk" {
		t.Fatal("another scope's write changed the document")
	}
	// An empty document and a tombstone are stored as such.
	empty := newDoc("e", 1, map[string]any{})
	tomb := newDoc("t", 1, nil)
	tomb.Deleted, tomb.Fields = true, nil
	commit(t, s, sync.Write{Doc: empty}, sync.Write{Doc: tomb})
	docs := find(t, s, empty.Ref, tomb.Ref)
	if d := docs[empty.Ref]; len(d.Fields) != 0 || d.Deleted {
		t.Fatalf("empty document came back as %+v", d)
	}
	if d := docs[tomb.Ref]; !d.Deleted || len(d.Fields) != 0 {
		t.Fatalf("tombstone came back as %+v", d)
	}
}

func runSyncConditional(t *testing.T, h Harness) {
	s := syncStore(t, h)
	v1 := newDoc("a", 1, map[string]any{"n": int64(1)})
	r1 := commit(t, s, sync.Write{Doc: v1})
	if again := commit(t, s, sync.Write{Doc: v1}); !again[0].Conflict || again[0].Seq != 0 {
		t.Fatalf("creating an existing document: %+v, want a conflict", again[0])
	}
	v2 := newDoc("a", 2, map[string]any{"n": int64(2)})
	stale := newDoc("a", 2, map[string]any{"n": int64(99)})
	res := commit(t, s, sync.Write{Doc: v2, BaseVersion: 1}, sync.Write{Doc: stale, BaseVersion: 1})
	if res[0].Conflict || !res[1].Conflict || res[0].Seq <= r1[0].Seq {
		t.Fatalf("results %+v: want the first write and a conflict for the stale one", res)
	}
	if d := find(t, s, v1.Ref)[v1.Ref]; d.Version != 2 || d.Fields["n"] != int64(2) || d.Seq != res[0].Seq {
		t.Fatalf("stored %+v", d)
	}
	w, err := s.Watermark(t.Context())
	must(t, err, "Watermark")
	if w < res[0].Seq {
		t.Fatalf("watermark %d below the last committed write %d", w, res[0].Seq)
	}

	t.Run("ConcurrentWritersOneWins", func(t *testing.T) {
		var wins atomic.Int32
		var wg stdsync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				d := newDoc("a", 3, map[string]any{"n": int64(100 + i)})
				res, err := s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: d, BaseVersion: 2}}})
				if err != nil {
					t.Errorf("Commit: %v", err)
					return
				}
				if !res[0].Conflict {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("%d writers of version 3 won", wins.Load())
		}
	})
}

func scan(t *testing.T, s sync.Store, q sync.BucketScan) []string {
	t.Helper()
	docs, err := s.ScanBucket(t.Context(), q)
	must(t, err, "ScanBucket")
	var ids []string
	for i, d := range docs {
		if i > 0 && d.Seq <= docs[i-1].Seq {
			t.Fatalf("ScanBucket out of order: %d after %d", d.Seq, docs[i-1].Seq)
		}
		if d.Seq <= q.After || d.Seq > q.Through || !slices.Contains(d.Buckets, q.Bucket) {
			t.Fatalf("ScanBucket(%+v) returned %s at seq %d with buckets %v", q, d.Ref.ID, d.Seq, d.Buckets)
		}
		ids = append(ids, d.Ref.Collection+"/"+d.Ref.ID)
	}
	return ids
}

func runSyncScan(t *testing.T, h Harness) {
	s := syncStore(t, h)
	var seqs []int64
	put := func(d sync.Document, base int64) {
		r := commit(t, s, sync.Write{Doc: d, BaseVersion: base})
		if r[0].Conflict {
			t.Fatalf("conflict writing %s", d.Ref.ID)
		}
		seqs = append(seqs, r[0].Seq)
	}
	put(newDoc("a", 1, map[string]any{"x": int64(1)}), 0)                      // seqs[0]
	put(newDoc("b", 1, map[string]any{"x": int64(1)}, "user:u1", "public"), 0) // seqs[1]
	c := newDoc("c", 1, map[string]any{"x": int64(1)})
	c.Ref.Collection = "tasks"
	put(c, 0)                                             // seqs[2]
	put(newDoc("a", 2, map[string]any{"x": int64(2)}), 1) // seqs[3]: a moves to the end
	gone := newDoc("b", 2, nil, "user:u1", "public")
	gone.Deleted, gone.Fields = true, nil
	put(gone, 1) // seqs[4]: b is a tombstone
	moved := newDoc("d", 1, map[string]any{"x": int64(1)}, "group:g1")
	put(moved, 0) // seqs[5]
	w, err := s.Watermark(t.Context())
	must(t, err, "Watermark")
	if w < seqs[5] {
		t.Fatalf("watermark %d below %d", w, seqs[5])
	}
	for _, tt := range []struct {
		name string
		q    sync.BucketScan
		want []string
	}{
		{"All", sync.BucketScan{Bucket: "user:u1", Through: w, Limit: 10}, []string{"tasks/c", "notes/a", "notes/b"}},
		{"Limit", sync.BucketScan{Bucket: "user:u1", Through: w, Limit: 2}, []string{"tasks/c", "notes/a"}},
		{"After", sync.BucketScan{Bucket: "user:u1", After: seqs[2], Through: w, Limit: 10}, []string{"notes/a", "notes/b"}},
		{"Through", sync.BucketScan{Bucket: "user:u1", Through: seqs[3], Limit: 10}, []string{"tasks/c", "notes/a"}},
		{"SkipDeleted", sync.BucketScan{Bucket: "user:u1", Through: w, Limit: 10, SkipDeleted: true}, []string{"tasks/c", "notes/a"}},
		{"Collections", sync.BucketScan{Bucket: "user:u1", Through: w, Limit: 10, Collections: []string{"notes"}}, []string{"notes/a", "notes/b"}},
		{"OtherBucket", sync.BucketScan{Bucket: "public", Through: w, Limit: 10}, []string{"notes/b"}},
		{"Group", sync.BucketScan{Bucket: "group:g1", Through: w, Limit: 10}, []string{"notes/d"}},
		{"Empty", sync.BucketScan{Bucket: "user:nobody", Through: w, Limit: 10}, nil},
	} {
		if got := scan(t, s, tt.q); !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func runSyncClients(t *testing.T, h Harness) {
	s := syncStore(t, h)
	_, err := s.FindClient(t.Context(), "phone")
	wantCode(t, err, tideline.CodeNotFound, "FindClient unknown")
	mark := func(high int64, writes ...sync.Write) []sync.CommitResult {
		t.Helper()
		res, err := s.Commit(t.Context(), sync.Commit{Writes: writes, Client: &sync.ClientMark{ClientID: "phone", UserID: "u1", High: high}})
		must(t, err, "Commit")
		return res
	}
	mark(5) // a commit with no writes still records the mark
	got, err := s.FindClient(t.Context(), "phone")
	must(t, err, "FindClient")
	if got != (sync.ClientMark{ClientID: "phone", UserID: "u1", High: 5}) {
		t.Fatalf("mark %+v", got)
	}
	mark(3)
	if got, _ := s.FindClient(t.Context(), "phone"); got.High != 5 {
		t.Fatalf("a lower mark lowered it to %d", got.High)
	}
	d := newDoc("a", 1, map[string]any{"x": int64(1)})
	mark(7, sync.Write{Doc: d})
	if res := mark(9, sync.Write{Doc: d}); !res[0].Conflict {
		t.Fatal("expected a conflict")
	}
	if got, _ := s.FindClient(t.Context(), "phone"); got.High != 7 {
		t.Fatalf("a commit with a conflict moved the mark to %d, want 7", got.High)
	}
}

// runSyncClientOwner: a client id belongs to the first user whose commit names it, claimed
// atomically with that commit, whatever its writes' outcome; a commit that names another
// user's client writes nothing and never raises the mark.
func runSyncClientOwner(t *testing.T, h Harness) {
	s := syncStore(t, h)
	doc := func(owner, id string) sync.Document {
		d := newDoc(id, 1, map[string]any{"x": int64(1)}, "user:"+owner)
		d.Owner, d.Ref.Scope = owner, owner
		return d
	}
	stored := func(d sync.Document) bool {
		t.Helper()
		found, err := s.FindDocuments(t.Context(), []sync.DocRef{d.Ref})
		must(t, err, "FindDocuments")
		return len(found) == 1
	}
	commit := func(user string, high int64, writes ...sync.Write) ([]sync.CommitResult, error) {
		return s.Commit(t.Context(), sync.Commit{Writes: writes, Client: &sync.ClientMark{ClientID: "install", UserID: user, High: high}})
	}
	_, err := commit("u1", 5, sync.Write{Doc: doc("u1", "a")})
	must(t, err, "Commit by the first user")

	theirs := doc("u2", "b")
	_, err = commit("u2", 10, sync.Write{Doc: theirs})
	wantCode(t, err, tideline.CodeForbidden, "Commit naming another user's client")
	_, err = commit("u2", 11)
	wantCode(t, err, tideline.CodeForbidden, "Commit without writes naming another user's client")
	if stored(theirs) {
		t.Fatal("a refused commit wrote its document")
	}
	if got, err := s.FindClient(t.Context(), "install"); err != nil || got != (sync.ClientMark{ClientID: "install", UserID: "u1", High: 5}) {
		t.Fatalf("the mark after another user's commits: %+v, %v; want u1's, at 5", got, err)
	}

	// A commit whose write conflicts raises no mark but claims the client all the same.
	conflicting := doc("u3", "c")
	_, err = s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: conflicting, BaseVersion: 4}},
		Client: &sync.ClientMark{ClientID: "tablet", UserID: "u3", High: 2}})
	must(t, err, "Commit with a conflict")
	_, err = s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: doc("u4", "d")}}, Client: &sync.ClientMark{ClientID: "tablet", UserID: "u4", High: 3}})
	wantCode(t, err, tideline.CodeForbidden, "Commit naming a client claimed by a conflicting commit")
	if got, err := s.FindClient(t.Context(), "tablet"); err != nil || got.UserID != "u3" || got.High != 0 {
		t.Fatalf("the mark claimed by a conflicting commit: %+v, %v; want u3's, at 0", got, err)
	}

	t.Run("ConcurrentFirstCommits", func(t *testing.T) {
		const n = 8
		var wg stdsync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				user := fmt.Sprint("racer", i)
				_, errs[i] = s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: doc(user, "r")}},
					Client: &sync.ClientMark{ClientID: "shared-install", UserID: user, High: 1}})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("racers %d and %d both committed with one client id", winner, i)
			case err == nil:
				winner = i
			case tideline.ErrorCode(err) != tideline.CodeForbidden:
				t.Fatalf("racer %d: %v", i, err)
			}
		}
		if winner < 0 {
			t.Fatal("no racer committed")
		}
		for i := range n {
			if got := stored(doc(fmt.Sprint("racer", i), "r")); got != (i == winner) {
				t.Fatalf("racer %d's document stored: %v (winner %d)", i, got, winner)
			}
		}
		if got, _ := s.FindClient(t.Context(), "shared-install"); got.UserID != fmt.Sprint("racer", winner) || got.High != 1 {
			t.Fatalf("the mark %+v, want the winner's, racer%d, at 1", got, winner)
		}
	})
}

func runSyncCollections(t *testing.T, h Harness) {
	s := syncStore(t, h)
	a := sync.Collection{Name: "notes", Policy: sync.LWW, Read: sync.OwnerOnly, MaxDocBytes: 1024, Notify: true, UpdatedAt: at(1),
		Schema: []byte(`{"type":"object","properties":{"title":{"type":"string"}}}`)}
	b := sync.Collection{Name: "feed", Policy: sync.Optimistic, Read: sync.PublicRead, MaxDocBytes: 2048, UpdatedAt: at(2)}
	must(t, s.PutCollection(t.Context(), a), "PutCollection a")
	must(t, s.PutCollection(t.Context(), b), "PutCollection b")
	a.Policy, a.UpdatedAt = sync.ServerWins, at(3)
	must(t, s.PutCollection(t.Context(), a), "PutCollection a again")
	list, err := s.ListCollections(t.Context())
	must(t, err, "ListCollections")
	if diff := cmp.Diff([]sync.Collection{b, a}, list, equate...); diff != "" {
		t.Fatalf("ListCollections, by name (-want +got):\n%s", diff)
	}
	must(t, s.DeleteCollection(t.Context(), "feed"), "DeleteCollection")
	wantCode(t, s.DeleteCollection(t.Context(), "feed"), tideline.CodeNotFound, "DeleteCollection twice")
}

// RunOrdering is the ordering invariant, against a store: writers commit documents
// concurrently (conflicts and retries included) while readers follow the change feed the
// way clients do (read the watermark, scan up to it, continue from it). Two checks:
//   - on every pull, each reader rescans everything up to the position it has reached:
//     every document there must carry a (document, seq) it received. A write that became
//     visible behind a reader's position, which the reader would never fetch, fails here
//     at once, even if a later write would have hidden the loss;
//   - when the writers are done, every reader's copy equals the store's final state.
//
// writers x rounds commits are made over a dozen documents, so they contend.
func RunOrdering(t *testing.T, s sync.Store, writers, readers, rounds int) {
	t.Helper()
	ids := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	stop := make(chan struct{})
	var wr, rd stdsync.WaitGroup
	copies := make([]map[string]int64, readers)
	pokes := make([]chan struct{}, readers) // as the hub pokes a client: something changed
	for r := range readers {
		copies[r], pokes[r] = map[string]int64{}, make(chan struct{}, 1)
		rd.Go(func() { follow(t, s, copies[r], pokes[r], stop) })
	}
	poke := func() {
		for _, p := range pokes {
			select {
			case p <- struct{}{}:
			default: // a poke is pending: the reader will see this write too
			}
		}
	}
	var commits atomic.Int64
	for w := range writers {
		wr.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range rounds {
				id := ids[rng.IntN(len(ids))]
				for {
					cur := find(t, s, sync.DocRef{Collection: "notes", Scope: "u1", ID: id})
					base := cur[sync.DocRef{Collection: "notes", Scope: "u1", ID: id}].Version
					d := newDoc(id, base+1, map[string]any{"by": fmt.Sprint(w)})
					res, err := s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: d, BaseVersion: base}}})
					if err != nil {
						t.Errorf("writer %d: %v", w, err)
						return
					}
					if !res[0].Conflict {
						commits.Add(1)
						poke()
						break
					}
				}
			}
		})
	}
	wr.Wait()
	close(stop)
	rd.Wait()
	want := map[string]int64{}
	for _, d := range find(t, s, refs(ids)...) {
		want[d.Ref.ID] = d.Version
	}
	var total int64
	for _, v := range want {
		total += v
	}
	if total != commits.Load() {
		t.Fatalf("the documents' versions add up to %d, but %d commits succeeded", total, commits.Load())
	}
	for r, c := range copies {
		if diff := cmp.Diff(want, c); diff != "" {
			t.Fatalf("reader %d ends with other versions than the store (-store +reader):\n%s", r, diff)
		}
	}
}

func refs(ids []string) []sync.DocRef {
	out := make([]sync.DocRef, len(ids))
	for i, id := range ids {
		out[i] = sync.DocRef{Collection: "notes", Scope: "u1", ID: id}
	}
	return out
}

// follow reads the change feed of bucket user:u1 into copy (id -> version) at every poke
// (a commit's, while others may be in flight) until stop is closed, then catches up one
// last time. After every catch-up it checks that nothing has appeared behind its position.
func follow(t *testing.T, s sync.Store, copy map[string]int64, pokes <-chan struct{}, stop <-chan struct{}) {
	var pos int64
	received := map[string]bool{} // "<id>@<seq>"
	behind := func() bool {
		docs, err := s.ScanBucket(t.Context(), sync.BucketScan{Bucket: "user:u1", Through: pos, Limit: 1000})
		if err != nil {
			t.Errorf("ScanBucket: %v", err)
			return false
		}
		for _, d := range docs {
			if !received[fmt.Sprint(d.Ref.ID, "@", d.Seq)] {
				t.Errorf("%s version %d appeared at seq %d, behind a reader already at %d: the reader would never fetch it", d.Ref.ID, d.Version, d.Seq, pos)
				return false
			}
		}
		return true
	}
	pull := func() bool {
		w, err := s.Watermark(t.Context())
		if err != nil {
			t.Errorf("Watermark: %v", err)
			return false
		}
		for pos < w {
			docs, err := s.ScanBucket(t.Context(), sync.BucketScan{Bucket: "user:u1", After: pos, Through: w, Limit: 50})
			if err != nil {
				t.Errorf("ScanBucket: %v", err)
				return false
			}
			for _, d := range docs {
				if d.Version < copy[d.Ref.ID] {
					t.Errorf("reader went back: %s version %d after %d", d.Ref.ID, d.Version, copy[d.Ref.ID])
				}
				copy[d.Ref.ID] = d.Version
				received[fmt.Sprint(d.Ref.ID, "@", d.Seq)] = true
			}
			if len(docs) < 50 {
				pos = w
			} else {
				pos = docs[len(docs)-1].Seq
			}
		}
		return behind()
	}
	for {
		select {
		case <-stop:
			pull()
			return
		case <-pokes:
			if !pull() {
				return
			}
		}
	}
}
