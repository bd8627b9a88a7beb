package mongo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The conformance suite (TestConformance) covers sync.Store; these cases cover what only
// this engine has: its document layout, its migration, and the gaps between the steps of
// a write (sync_order_test.go).

const testFenceAfter = time.Minute

// newSyncDB opens the engine on a new database with a manual clock (fencing happens only
// when a test moves it) and hook between a writer's steps.
func newSyncDB(t *testing.T, hook func(syncStep, datasync.DocRef, int64)) (*DB, *tideline.ManualClock) {
	t.Helper()
	uri := storetest.MongoURI(t)
	clock := tideline.NewManualClock(storetest.Epoch)
	db, err := Open(t.Context(), Options{URI: uri, Database: newDatabaseName(t, uri), Clock: clock, SyncFenceAfter: testFenceAfter})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.syncer.hook = hook
	return db, clock
}

// sibling is another node on db's database: its own per-process state (advancing lock,
// caches, hook), the same connection (FerretDB is atomic only through one).
func sibling(db *DB, hook func(syncStep, datasync.DocRef, int64)) *DB {
	s := *db
	s.syncer = newSyncer(db.syncer.fenceAfter, 0)
	s.syncer.hook = hook
	return &s
}

// sight has s's node read the watermark, so that its advancer sees the numbers unsettled
// now: it fences a number one timeout after it first saw it unsettled, so a test moves
// the clock by the timeout after this to have them fenced at the next read.
func sight(t *testing.T, s datasync.Store) {
	t.Helper()
	if _, err := s.Watermark(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// note is version v of document id in collection "notes", scope u1, readable by user:u1.
func note(id string, v int64, by string) datasync.Document {
	h := datasync.MakeHLC(storetest.Epoch, int(v), "c1")
	return datasync.Document{Ref: datasync.DocRef{Collection: "notes", Scope: "u1", ID: id}, Owner: "u1", Version: v,
		Fields: map[string]any{"by": by}, Buckets: []string{"user:u1"}, UpdatedAt: storetest.Epoch,
		Meta: datasync.Meta{Touch: h, Fields: map[string]datasync.FieldMeta{"by": {Clock: h}}}}
}

func ref(id string) datasync.DocRef { return datasync.DocRef{Collection: "notes", Scope: "u1", ID: id} }

// put commits one write and fails the test on an error.
func put(t *testing.T, s datasync.Store, d datasync.Document, base int64) datasync.CommitResult {
	t.Helper()
	res, err := s.Commit(t.Context(), datasync.Commit{Writes: []datasync.Write{{Doc: d, BaseVersion: base}}})
	if err != nil {
		t.Fatalf("Commit %s v%d: %v", d.Ref.ID, d.Version, err)
	}
	return res[0]
}

// feed reads the change feed of bucket user:u1 as a client does (watermark, then scan up
// to it, then continue from it), and checks on every pull that nothing appeared at or
// below a watermark it read before: every document it now finds at seq <= the previous
// watermark must have been there, with that seq and version, at the previous pull.
type feed struct {
	s        datasync.Store
	pos      int64
	versions map[string]int64
	w        int64
	below    map[string][2]int64 // id -> {seq, version} of the documents at or below w
}

func newFeed(s datasync.Store) *feed {
	return &feed{s: s, versions: map[string]int64{}, below: map[string][2]int64{}}
}

func (f *feed) pull(ctx context.Context) (int64, error) {
	w, err := f.s.Watermark(ctx)
	if err != nil {
		return 0, err
	}
	if w < f.w {
		return 0, fmt.Errorf("the watermark went back from %d to %d", f.w, w)
	}
	all, err := f.scan(ctx, 0, w)
	if err != nil {
		return 0, err
	}
	below := map[string][2]int64{}
	for _, d := range all {
		got := [2]int64{d.Seq, d.Version}
		if d.Seq <= f.w && f.below[d.Ref.ID] != got {
			return 0, fmt.Errorf("%s appeared at seq %d (version %d) below watermark %d read before; then it was %v",
				d.Ref.ID, d.Seq, d.Version, f.w, f.below[d.Ref.ID])
		}
		below[d.Ref.ID] = got
	}
	f.w, f.below = w, below
	docs, err := f.scan(ctx, f.pos, w)
	if err != nil {
		return 0, err
	}
	for _, d := range docs {
		if d.Version < f.versions[d.Ref.ID] {
			return 0, fmt.Errorf("%s went back from version %d to %d", d.Ref.ID, f.versions[d.Ref.ID], d.Version)
		}
		f.versions[d.Ref.ID] = d.Version
	}
	f.pos = w
	return w, nil
}

// scan returns the bucket's documents in (after, through], page by page.
func (f *feed) scan(ctx context.Context, after, through int64) ([]datasync.Document, error) {
	var out []datasync.Document
	for after < through {
		docs, err := f.s.ScanBucket(ctx, datasync.BucketScan{Buckets: []string{"user:u1"}, After: after, Through: through, Limit: 50})
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if d.Seq <= after || d.Seq > through {
				return nil, fmt.Errorf("scan (%d, %d] returned %s at seq %d", after, through, d.Ref.ID, d.Seq)
			}
		}
		out = append(out, docs...)
		if len(docs) < 50 {
			break
		}
		after = docs[len(docs)-1].Seq
	}
	return out, nil
}

// mustPull pulls and fails the test on an error; it returns the watermark.
func (f *feed) mustPull(t *testing.T) int64 {
	t.Helper()
	w, err := f.pull(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// served reports the version of id the feed has (0: none).
func (f *feed) served(id string) int64 { return f.versions[id] }

// matchesStore fails the test unless the feed holds the current version of every
// document it has seen and of ids.
func (f *feed) matchesStore(t *testing.T, ids ...string) {
	t.Helper()
	var refs []datasync.DocRef
	for _, id := range append(ids, slices.Collect(maps.Keys(f.versions))...) {
		refs = append(refs, ref(id))
	}
	docs, err := f.s.FindDocuments(t.Context(), refs)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{}
	for _, d := range docs {
		want[d.Ref.ID] = d.Version
	}
	if diff := cmp.Diff(want, f.versions); diff != "" {
		t.Fatalf("the feed ends with other versions than the store (-store +feed):\n%s", diff)
	}
}

func TestSyncMigration(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	mustOpen(t, uri, name, migrations[:2]).Close() // a database from before sync
	db := mustOpen(t, uri, name, migrations)
	s := db.Sync()
	put(t, s, note("a", 1, "x"), 0)
	for range 2 { // a rerun (a node that crashed before recording it) keeps the sequence
		if err := migrateSync(t.Context(), db); err != nil {
			t.Fatal(err)
		}
	}
	if r := put(t, s, note("b", 1, "x"), 0); r.Seq != 2 {
		t.Fatalf("after rerunning the migration the next number is %d, want 2", r.Seq)
	}
}

// TestSyncDocumentLayout: a synced document is what a MongoDB user would store, plus _sync.
func TestSyncDocumentLayout(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	d := note("a", 1, "ada")
	d.Fields["tags"] = []any{"x.y", int64(2)}
	d.Fields["nested"] = map[string]any{"deep": []any{true}}
	d.Meta.Fields["tags"] = datasync.FieldMeta{Clock: d.Meta.Touch, Base: []any{}, Elems: map[string]datasync.ElemOp{
		`"x.y"`: {Clock: d.Meta.Touch, Add: true, Value: "x.y"}, `2`: {Clock: d.Meta.Touch, Add: true, Value: int64(2)}}}
	d.Meta.Fields["zero"] = datasync.FieldMeta{Clock: d.Meta.Touch, Base: false, Ops: []datasync.NumOp{{Clock: d.Meta.Touch, Kind: "inc", N: 1.5}}}
	unscoped := note("b", 1, "bob")
	unscoped.Ref.Scope = ""
	r := put(t, db.Sync(), d, 0)
	put(t, db.Sync(), unscoped, 0)

	var raw struct {
		ID   string `bson:"_id"`
		By   string `bson:"by"`
		Sync bson.M `bson:"_sync"`
	}
	if err := db.db.Collection("notes").FindOne(t.Context(), bson.M{"_id": "u1:a"}).Decode(&raw); err != nil {
		t.Fatalf("no document u1:a in collection notes: %v", err)
	}
	meta := raw.Sync
	if raw.By != "ada" || meta["seq"] != r.Seq || meta["version"] != int64(1) || meta["scope"] != "u1" || meta["docId"] != "a" {
		t.Fatalf("stored layout %+v", raw)
	}
	if n, _ := db.db.Collection("notes").CountDocuments(t.Context(), bson.M{"_id": "b", "_sync.scope": ""}); n != 1 {
		t.Fatal("an unscoped document is not stored under its id")
	}
	got, err := db.Sync().FindDocuments(t.Context(), []datasync.DocRef{d.Ref})
	if err != nil || len(got) != 1 {
		t.Fatalf("FindDocuments: %v %v", got, err)
	}
	if err := datasync.Normalize(&got[0]); err != nil {
		t.Fatal(err)
	}
	d.Seq = r.Seq
	if diff := cmp.Diff(d, got[0], cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("read back (-want +got):\n%s", diff)
	}
}

// TestSyncPlaceholderIsNoDocument: fencing a creation leaves a placeholder, which neither
// FindDocuments nor a scan shows, and which the next creation replaces.
func TestSyncPlaceholderIsNoDocument(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	s := db.Sync()
	e := ledgerEntry{Seq: 1, State: statePending, Ref: &refRecord{Collection: "notes", Scope: "u1", ID: "a"}}
	if _, err := db.ledger().InsertOne(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if _, err := db.seqColl().UpdateOne(t.Context(), bson.M{"_id": counterID}, bson.M{"$set": bson.M{"value": int64(1)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.fencePending(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.db.Collection("notes").CountDocuments(t.Context(), bson.M{"_id": "u1:a", "_sync.fence": int64(1)}); n != 1 {
		t.Fatal("fencing a creation left no placeholder")
	}
	if docs, err := s.FindDocuments(t.Context(), []datasync.DocRef{ref("a")}); err != nil || len(docs) != 0 {
		t.Fatalf("FindDocuments shows the placeholder: %v %v", docs, err)
	}
	if r := put(t, s, note("a", 1, "x"), 0); r.Conflict || r.Seq != 2 {
		t.Fatalf("creating over the placeholder: %+v", r)
	}
	f := newFeed(s)
	if f.mustPull(t); f.served("a") != 1 {
		t.Fatal("the document that replaced the placeholder is not served")
	}
}

// pauser pauses writers at chosen steps: a gate stops the first writer of a document that
// reaches its step, tells the test the number, and holds it until released.
type pauser struct {
	mu    sync.Mutex
	gates []*gate
}

type gate struct {
	step    syncStep
	id      string
	reached chan int64
	release chan struct{}
	once    sync.Once
}

func (p *pauser) hook(step syncStep, r datasync.DocRef, seq int64) {
	p.mu.Lock()
	i := slices.IndexFunc(p.gates, func(g *gate) bool { return g.step == step && g.id == r.ID })
	var g *gate
	if i >= 0 {
		g = p.gates[i]
		p.gates = slices.Delete(p.gates, i, i+1)
	}
	p.mu.Unlock()
	if g != nil {
		g.reached <- seq
		<-g.release
	}
}

// at arms a gate for document id at step; it is released when the test ends at the latest.
func (p *pauser) at(t *testing.T, step syncStep, id string) *gate {
	g := &gate{step: step, id: id, reached: make(chan int64, 1), release: make(chan struct{})}
	p.mu.Lock()
	p.gates = append(p.gates, g)
	p.mu.Unlock()
	t.Cleanup(g.open)
	return g
}

func (g *gate) open() { g.once.Do(func() { close(g.release) }) }

// wait returns the number of the writer that reached the gate.
func (g *gate) wait(t *testing.T) int64 {
	t.Helper()
	select {
	case n := <-g.reached:
		return n
	case <-time.After(10 * time.Second):
		t.Fatalf("no writer reached step %d of %s", g.step, g.id)
		return 0
	}
}

// async runs a Commit in the background.
type async struct {
	res []datasync.CommitResult
	err error
	end chan struct{}
}

func commitAsync(ctx context.Context, s datasync.Store, writes ...datasync.Write) *async {
	a := &async{end: make(chan struct{})}
	go func() {
		defer close(a.end)
		a.res, a.err = s.Commit(ctx, datasync.Commit{Writes: writes})
	}()
	return a
}

func (a *async) result(t *testing.T) []datasync.CommitResult {
	t.Helper()
	select {
	case <-a.end:
	case <-time.After(10 * time.Second):
		t.Fatal("the paused commit did not finish after its release")
	}
	if a.err != nil {
		t.Fatalf("the paused commit: %v", a.err)
	}
	return a.res
}
