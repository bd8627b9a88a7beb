package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestPushAndPull(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPushAndPull)
}

func testPushAndPull(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	r := e.push("alice", "phone", put(1, "todos", "t1", map[string]any{"title": "Buy milk", "done": false}),
		put(2, "todos", "t2", map[string]any{"title": "Call mum"}))
	wantStatus(t, r[0], datasync.Applied)
	if r[0].Version != 1 || r[0].Seq < 1 || r[1].Seq <= r[0].Seq {
		t.Fatalf("receipts %+v", r)
	}
	changes, cursor := e.pullAll("alice", "", 0)
	if len(changes) != 2 || changes[0].DocID != "t1" || changes[0].Fields["title"] != "Buy milk" || changes[0].Buckets[0] != "user:alice" {
		t.Fatalf("initial sync %+v", changes)
	}
	again, cursor := e.pullAll("alice", cursor, 0)
	if len(again) != 0 {
		t.Fatalf("nothing changed, yet %d changes", len(again))
	}
	e.push("alice", "phone", patch(3, "todos", "t1", map[string]any{"done": true}), datasync.Mutation{ID: 4, Collection: "todos", DocID: "t2", Op: "delete"})
	delta, _ := e.pullAll("alice", cursor, 0)
	if len(delta) != 2 || delta[0].Fields["done"] != true || delta[0].Fields["title"] != "Buy milk" || delta[1].Op != datasync.OpDelete || delta[1].Version != 2 {
		t.Fatalf("delta %+v", delta)
	}
	// An initial sync sends no tombstones.
	fresh, _ := e.pullAll("alice", "", 0)
	if len(fresh) != 1 || fresh[0].DocID != "t1" {
		t.Fatalf("initial sync after a delete %+v", fresh)
	}
}

func TestPatchCreatesMissingDocument(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPatchCreatesMissingDocument)
}

func testPatchCreatesMissingDocument(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	wantStatus(t, e.push("alice", "phone", inc(1, "counters", "visits", "n", 3))[0], datasync.Applied)
	wantStatus(t, e.push("alice", "phone", inc(2, "counters", "visits", "n", 4))[0], datasync.Applied)
	changes, _ := e.pullAll("alice", "", 0)
	if f, _, _ := docOf(changes, "counters", "visits"); f["n"] != int64(7) {
		t.Fatalf("counter %v", f)
	}
}

func TestPushIsIdempotent(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPushIsIdempotent)
}

func testPushIsIdempotent(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	batch := []datasync.Mutation{inc(1, "c", "x", "n", 1), inc(2, "c", "x", "n", 10), inc(3, "c", "y", "n", 100)}
	first := e.push("alice", "phone", batch...)
	for _, tt := range []struct {
		name string
		muts []datasync.Mutation
	}{{"Whole", batch}, {"Prefix", batch[:1]}, {"Suffix", batch[1:]}} {
		again := e.push("alice", "phone", tt.muts...)
		for i, r := range again {
			if r.Status != datasync.Applied || !r.Duplicate {
				t.Fatalf("%s: receipt %d %+v, want a duplicate", tt.name, i, r)
			}
		}
	}
	changes, _ := e.pullAll("alice", "", 0)
	x, _, _ := docOf(changes, "c", "x")
	y, _, _ := docOf(changes, "c", "y")
	if x["n"] != int64(11) || y["n"] != int64(100) {
		t.Fatalf("after retries x=%v y=%v", x, y)
	}
	if first[1].Version != 1 {
		t.Fatalf("two mutations of one document in a batch made version %d, want 1", first[1].Version)
	}
}

// lostMark is a real store whose commits lose the client's mark, as when the server
// crashes after writing the documents and before recording the mark.
type lostMark struct{ datasync.Store }

func (s lostMark) Commit(ctx context.Context, c datasync.Commit) ([]datasync.CommitResult, error) {
	c.Client = nil
	return s.Store.Commit(ctx, c)
}

func TestCrashBeforeClientMark(t *testing.T) {
	t.Parallel()
	eachEngine(t, testCrashBeforeClientMark)
}

func testCrashBeforeClientMark(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	crashing, err := datasync.New(t.Context(), lostMark{e.store}, datasync.Config{Clock: e.clock, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	batch := []datasync.Mutation{inc(1, "c", "x", "n", 5), put(2, "c", "y", map[string]any{"v": "a"}), inc(3, "c", "x", "n", 7)}
	if _, err := crashing.Push(t.Context(), datasync.Caller{UserID: "alice"}, "phone", batch); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.FindClient(t.Context(), "phone"); tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("the mark was recorded after all: %v", err)
	}
	retry := e.push("alice", "phone", batch...)
	for _, r := range retry {
		if !r.Duplicate {
			t.Fatalf("retry receipt %+v: the documents' own marks should recognise it", r)
		}
	}
	changes, _ := e.pullAll("alice", "", 0)
	if x, _, _ := docOf(changes, "c", "x"); x["n"] != int64(12) {
		t.Fatalf("x.n = %v after a crash and a retry, want 12", x["n"])
	}
}

func TestReusedIDRejected(t *testing.T) {
	t.Parallel()
	eachEngine(t, testReusedIDRejected)
}

// A resent id is a retry only when the mutation is the same: the same id with other
// content is a client bug, answered id_reused, and changes nothing. Also when the
// client's own mark was lost (the documents' marks recognise it).
func testReusedIDRejected(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	first := put(1, "notes", "a", map[string]any{"title": "Buy milk"})
	wantStatus(t, e.push("alice", "phone", first)[0], datasync.Applied)
	if r := e.push("alice", "phone", put(1, "notes", "a", map[string]any{"title": "Buy milk"}))[0]; r.Status != datasync.Applied || !r.Duplicate {
		t.Fatalf("the same mutation resent: %+v, want a duplicate", r)
	}
	r := e.push("alice", "phone", put(1, "notes", "a", map[string]any{"title": "Buy oat milk"}))[0]
	if r.Status != datasync.Rejected || r.Code != datasync.RejectIDReused || r.Field != "id" || r.Message == "" {
		t.Fatalf("a reused id with a new title: %+v, want rejected id_reused", r)
	}
	changes, _ := e.pullAll("alice", "", 0)
	if f, _, _ := docOf(changes, "notes", "a"); f["title"] != "Buy milk" {
		t.Fatalf("the document is %v after a rejected reuse", f)
	}

	crashing, err := datasync.New(t.Context(), lostMark{e.store}, datasync.Config{Clock: e.clock, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crashing.Push(t.Context(), datasync.Caller{UserID: "alice"}, "tablet", []datasync.Mutation{inc(1, "c", "x", "n", 5)}); err != nil {
		t.Fatal(err)
	}
	if r := e.push("alice", "tablet", inc(1, "c", "x", "n", 6))[0]; r.Code != datasync.RejectIDReused {
		t.Fatalf("a reused id after a lost client mark: %+v, want rejected id_reused", r)
	}
	if r := e.push("alice", "tablet", inc(1, "c", "x", "n", 5))[0]; !r.Duplicate {
		t.Fatalf("the same increment resent after a lost client mark: %+v, want a duplicate", r)
	}
	changes, _ = e.pullAll("alice", "", 0)
	if x, _, _ := docOf(changes, "c", "x"); x["n"] != int64(5) {
		t.Fatalf("x.n = %v, want 5", x["n"])
	}
}

func TestConcurrentIncrementsSumExactly(t *testing.T) {
	t.Parallel()
	eachEngine(t, testConcurrentIncrementsSumExactly)
}

func testConcurrentIncrementsSumExactly(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	clients, each := 6, storetest.Sized(engine, 15, 5)
	var wg stdsync.WaitGroup
	var resends atomic.Int32
	for c := range clients {
		wg.Go(func() {
			for i := range each {
				// As a client does: resend on 503 (the document changed too fast to commit);
				// a resend applies nothing twice, so the sum below stays exact.
				for attempt := 0; ; attempt++ {
					_, err := e.svc.Push(t.Context(), datasync.Caller{UserID: "alice"}, fmt.Sprint("client", c), []datasync.Mutation{inc(int64(i+1), "c", "shared", "n", int64(c+1))})
					if tideline.ErrorCode(err) == tideline.CodeUnavailable && attempt < 10 {
						resends.Add(1)
						continue
					}
					if err != nil {
						t.Errorf("client %d: %v", c, err)
					}
					break
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d pushes were resent after 503", resends.Load())
	want := int64(0)
	for c := range clients {
		want += int64((c + 1) * each)
	}
	changes, _ := e.pullAll("alice", "", 0)
	if f, _, _ := docOf(changes, "c", "shared"); f["n"] != want {
		t.Fatalf("n = %v, want %d", f["n"], want)
	}
}

func TestLastWriterWins(t *testing.T) {
	t.Parallel()
	eachEngine(t, testLastWriterWins)
}

func testLastWriterWins(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	m := put(1, "notes", "n1", map[string]any{"title": "phone's", "body": "b"})
	m.HLC = hlc(200, "phone")
	wantStatus(t, e.push("alice", "phone", m)[0], datasync.Applied)
	late := patch(1, "notes", "n1", map[string]any{"title": "laptop's", "color": "red"})
	late.HLC = hlc(100, "laptop") // made before the put, arrives after it
	r := e.push("alice", "laptop", late)[0]
	wantStatus(t, r, datasync.Merged)
	// The put at 200 replaced the whole document after the patch at 100: none of the
	// patch's fields survive, whichever arrived first.
	if !cmp.Equal(r.Doc, map[string]any{"title": "phone's", "body": "b"}) || r.Version != 2 {
		t.Fatalf("merged receipt %+v", r)
	}
	newer := patch(2, "notes", "n1", map[string]any{"color": "red"})
	newer.HLC = hlc(250, "laptop")
	wantStatus(t, e.push("alice", "laptop", newer)[0], datasync.Applied)
	del := datasync.Mutation{ID: 3, Collection: "notes", DocID: "n1", Op: "delete", HLC: hlc(150, "laptop")}
	r = e.push("alice", "laptop", del)[0]
	wantStatus(t, r, datasync.Merged) // the put at 200 is later than the delete: the document stays
	if r.Deleted {
		t.Fatal("an older delete deleted the document")
	}
	del.ID, del.HLC = 4, hlc(300, "laptop")
	wantStatus(t, e.push("alice", "laptop", del)[0], datasync.Applied)
	changes, _ := e.pullAll("alice", "", 0)
	if _, _, found := docOf(changes, "notes", "n1"); found {
		t.Fatal("a deleted document came in an initial sync")
	}
}

func TestConflictPolicies(t *testing.T) {
	t.Parallel()
	eachEngine(t, testConflictPolicies)
}

func testConflictPolicies(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.Collections = []datasync.Collection{{Name: "wiki", Policy: datasync.ServerWins}, {Name: "ledger", Policy: datasync.Optimistic}}
	})
	for _, coll := range []string{"wiki", "ledger"} {
		e.push("alice", "phone", put(nextID(), coll, "d", map[string]any{"v": "first", "n": int64(0)}))
		e.push("alice", "phone", datasync.Mutation{ID: nextID(), Collection: coll, DocID: "d", Op: "patch", Fields: map[string]any{"v": "second"}, BaseVersion: ptr(int64(1))})
	}
	// Both documents are at version 2; the laptop still thinks version 1.
	stale := func(coll string) datasync.Mutation {
		return datasync.Mutation{ID: nextID(), Collection: coll, DocID: "d", Op: "patch", Fields: map[string]any{"v": "laptop"},
			Ops: map[string]datasync.FieldOp{"n": {Inc: json.Number("5")}}, BaseVersion: ptr(int64(1)), HLC: hlc(10_000, "laptop")}
	}
	r := e.push("alice", "laptop", stale("wiki"))[0]
	wantStatus(t, r, datasync.Merged)
	if r.Doc["v"] != "second" || r.Doc["n"] != int64(5) {
		t.Fatalf("server-wins kept %v: the server's v, and the commutative inc", r.Doc)
	}
	r = e.push("alice", "laptop", stale("ledger"))[0]
	wantStatus(t, r, datasync.Conflict)
	if r.Doc["v"] != "second" || r.Doc["n"] != int64(0) || r.Version != 2 {
		t.Fatalf("optimistic conflict receipt %+v", r)
	}
	fresh := stale("ledger")
	fresh.BaseVersion = ptr(int64(2))
	wantStatus(t, e.push("alice", "laptop", fresh)[0], datasync.Applied)
}

// idSeq numbers mutations across tests, which run in parallel.
var idSeq atomic.Int64

func nextID() int64 { return 1000 + idSeq.Add(1) }

func TestHLCClamped(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHLCClamped)
}

func testHLCClamped(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	liar := patch(1, "notes", "n", map[string]any{"v": "from the future"})
	liar.HLC = string(datasync.MakeHLC(t0.Add(24*time.Hour), 0, "liar"))
	r := e.push("alice", "liar", liar)[0]
	if !r.Clamped || r.Status != datasync.Applied {
		t.Fatalf("receipt %+v, want applied and clamped", r)
	}
	e.clock.Advance(time.Second)
	honest := patch(1, "notes", "n", map[string]any{"v": "honest"})
	honest.HLC = hlc(1000, "honest")
	wantStatus(t, e.push("alice", "honest", honest)[0], datasync.Applied)
	changes, _ := e.pullAll("alice", "", 0)
	if f, _, _ := docOf(changes, "notes", "n"); f["v"] != "honest" {
		t.Fatalf("the lie about time still wins: %v", f)
	}
}

func TestOwnerNamespaces(t *testing.T) {
	t.Parallel()
	eachEngine(t, testOwnerNamespaces)
}

func testOwnerNamespaces(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.Collections = []datasync.Collection{{Name: "posts", Read: datasync.AuthenticatedRead}}
	})
	wantStatus(t, e.push("alice", "a1", put(1, "settings", "prefs", map[string]any{"theme": "dark"}))[0], datasync.Applied)
	wantStatus(t, e.push("bob", "b1", put(1, "settings", "prefs", map[string]any{"theme": "light"}))[0], datasync.Applied)
	a, _ := e.pullAll("alice", "", 0)
	b, _ := e.pullAll("bob", "", 0)
	if fa, _, _ := docOf(a, "settings", "prefs"); fa["theme"] != "dark" || len(a) != 1 {
		t.Fatalf("alice sees %+v", a)
	}
	if fb, _, _ := docOf(b, "settings", "prefs"); fb["theme"] != "light" || len(b) != 1 {
		t.Fatalf("bob sees %+v", b)
	}
	// Shared reads: bob reads alice's post but may not write it.
	e.push("alice", "a1", put(2, "posts", "hello", map[string]any{"text": "hi"}))
	b, _ = e.pullAll("bob", "", 0)
	if f, _, _ := docOf(b, "posts", "hello"); f["text"] != "hi" {
		t.Fatalf("bob cannot read alice's post: %+v", b)
	}
	r := e.push("bob", "b1", patch(2, "posts", "hello", map[string]any{"text": "pwned"}))[0]
	if r.Status != datasync.Rejected || r.Code != datasync.RejectForbidden {
		t.Fatalf("bob's write to alice's post: %+v", r)
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRejections)
}

func testRejections(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.Collections = []datasync.Collection{{Name: "people", MaxDocBytes: 200, Schema: json.RawMessage(
			`{"type":"object","properties":{"name":{"type":"string","maxLength":20},"age":{"type":"integer","minimum":0}},"required":["name"]}`)}}
	})
	deep := any("x")
	for range datasync.MaxDepth + 2 {
		deep = map[string]any{"d": deep}
	}
	muts := []datasync.Mutation{
		put(1, "people", "p1", map[string]any{"name": "Ada", "age": json.Number("36")}),
		put(2, "people", "p2", map[string]any{"age": json.Number("5")}),
		put(3, "people", "p3", map[string]any{"name": "Bob", "age": json.Number("-1")}),
		put(4, "people", "p4", map[string]any{"name": strings.Repeat("x", 300)}),
		put(5, "notes", "n1", map[string]any{"$where": "1"}),
		put(6, "notes", "n1", map[string]any{"a.b": 1}),
		put(7, "notes", "n1", map[string]any{"_id": "x"}),
		put(8, "notes", "n1", map[string]any{"_sync": map[string]any{}}),
		put(9, "notes", "n1", map[string]any{"ok\x00": 1}),
		put(10, "notes", "n1", map[string]any{"nested": map[string]any{"$gt": 1}}),
		put(11, "notes", "n1", map[string]any{"deep": deep}),
		put(12, "notes", "n1", map[string]any{"s": "bad \xff utf8"}),
		put(13, "notes", "../etc/passwd", map[string]any{"v": 1}),
		put(14, "system_users", "x", map[string]any{"v": 1}),
		{ID: 15, Collection: "notes", DocID: "n1", Op: "upsert"},
		{ID: 16, Collection: "notes", DocID: "n1", Op: "patch", Ops: map[string]datasync.FieldOp{"n": {Inc: "one"}}},
		{ID: 17, Collection: "notes", DocID: "n1", Op: "patch", Ops: map[string]datasync.FieldOp{"n": {Inc: json.Number("1"), Max: json.Number("2")}}},
		{ID: 18, Collection: "notes", DocID: "n1", Op: "patch", Ops: map[string]datasync.FieldOp{"tags": {Add: []any{map[string]any{"x": 1}}}}},
		{ID: 19, Collection: "notes", DocID: "n1", Op: "patch", HLC: "yesterday", Fields: map[string]any{"v": 1}},
		put(20, "notes", "n1", map[string]any{"fine": true}),
	}
	r := e.push("alice", "phone", muts...)
	wantStatus(t, r[0], datasync.Applied)
	want := map[int]struct{ code, field string }{
		1: {datasync.RejectSchema, "fields.name"}, 2: {datasync.RejectSchema, "fields.age"}, 3: {datasync.RejectTooLarge, "fields"},
		4: {datasync.RejectInvalid, "fields"}, 5: {datasync.RejectInvalid, "fields"}, 6: {datasync.RejectInvalid, "fields"},
		7: {datasync.RejectInvalid, "fields"}, 8: {datasync.RejectInvalid, "fields"}, 9: {datasync.RejectInvalid, "fields.nested"},
		10: {datasync.RejectInvalid, "fields.deep"}, 11: {datasync.RejectInvalid, "fields.s"}, 12: {datasync.RejectInvalid, "docId"},
		13: {datasync.RejectInvalid, "collection"}, 14: {datasync.RejectInvalid, "op"}, 15: {datasync.RejectInvalid, "ops.n"},
		16: {datasync.RejectInvalid, "ops.n"}, 17: {datasync.RejectInvalid, "ops.tags"}, 18: {datasync.RejectInvalid, "hlc"},
	}
	for i := 1; i < len(r)-1; i++ {
		w := want[i]
		if r[i].Status != datasync.Rejected || r[i].Code != w.code || !strings.HasPrefix(r[i].Field, w.field) || r[i].Message == "" {
			t.Errorf("mutation %d: %+v, want rejected %s on %s", i, r[i], w.code, w.field)
		}
	}
	wantStatus(t, r[len(r)-1], datasync.Applied) // rejections do not block what follows
	changes, _ := e.pullAll("alice", "", 0)
	if len(changes) != 2 {
		t.Fatalf("rejected mutations wrote something: %+v", changes)
	}
	if f, _, _ := docOf(changes, "notes", "n1"); !cmp.Equal(f, map[string]any{"fine": true}) {
		t.Fatalf("n1 = %v", f)
	}
}

func TestBatchErrors(t *testing.T) {
	t.Parallel()
	eachEngine(t, testBatchErrors)
}

func testBatchErrors(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.MaxBatch = 3
		c.StrictCollections = true
		c.Collections = []datasync.Collection{{Name: "notes"}}
	})
	m := put(1, "notes", "n", map[string]any{"v": 1})
	for _, tt := range []struct {
		name   string
		client string
		muts   []datasync.Mutation
		code   tideline.Code
	}{
		{"Empty", "phone", nil, tideline.CodeInvalid},
		{"TooMany", "phone", []datasync.Mutation{put(1, "notes", "a", nil), put(2, "notes", "b", nil), put(3, "notes", "c", nil), put(4, "notes", "d", nil)}, tideline.CodeTooLarge},
		{"IDsNotIncreasing", "phone", []datasync.Mutation{put(2, "notes", "a", nil), put(2, "notes", "b", nil)}, tideline.CodeInvalid},
		{"IDZero", "phone", []datasync.Mutation{put(0, "notes", "a", nil)}, tideline.CodeInvalid},
		{"BadClientID", "phone one", []datasync.Mutation{m}, tideline.CodeInvalid},
	} {
		_, err := e.svc.Push(t.Context(), datasync.Caller{UserID: "alice"}, tt.client, tt.muts)
		if tideline.ErrorCode(err) != tt.code {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.code)
		}
	}
	e.push("alice", "phone", m)
	_, err := e.svc.Push(t.Context(), datasync.Caller{UserID: "mallory"}, "phone", []datasync.Mutation{put(9, "notes", "n", map[string]any{"v": 2})})
	if tideline.ErrorCode(err) != tideline.CodeForbidden {
		t.Fatalf("another user's client id: %v", err)
	}
	r := e.push("alice", "phone", put(2, "unconfigured", "x", map[string]any{"v": 1}))[0]
	if r.Code != datasync.RejectUnknownCollection {
		t.Fatalf("strict collections: %+v", r)
	}
}

// TestStoredSizeLimit: a put within its collection's limit on visible JSON (4 MiB) whose
// stored form would pass MongoDB's 16 MiB (a million small numbers cost 2 bytes each in
// JSON, about 16 in BSON) is rejected with too_large, finally, on both engines, and the
// mutations after it apply.
func TestStoredSizeLimit(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, func(c *datasync.Config) {
			c.Collections = []datasync.Collection{{Name: "series", MaxDocBytes: datasync.MaxDocBytesLimit}}
		})
		points := make([]any, 1_100_000)
		for i := range points {
			points[i] = json.Number("1")
		}
		r := e.push("alice", "phone",
			put(1, "series", "s1", map[string]any{"points": points}),
			put(2, "series", "s2", map[string]any{"points": points[:1000]}))
		if r[0].Status != datasync.Rejected || r[0].Code != datasync.RejectTooLarge || !strings.Contains(r[0].Message, "as stored") {
			t.Fatalf("a document of %d bytes as stored: %+v, want rejected too_large", 1_100_000*16, r[0])
		}
		wantStatus(t, r[1], datasync.Applied)
		changes, _ := e.pullAll("alice", "", 0)
		if len(changes) != 1 || changes[0].DocID != "s2" {
			t.Fatalf("changes %+v, want s2 alone", changes)
		}
	})
}

// TestDuplicateReportsTheDocument: a resent mutation is answered as a duplicate with the
// document as it is now (docs/sync-protocol.md), also when others wrote it since: a
// client whose first answer was cut may hold a copy older than its own write, and a page
// older than that write must not stand for the server's state (an SDK canceled a pending
// attachment's upload that way).
func TestDuplicateReportsTheDocument(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		wantStatus(t, e.push("alice", "phone", put(1, "notes", "a", map[string]any{"title": "Buy milk"}))[0], datasync.Applied)
		wantStatus(t, e.push("alice", "tablet", datasync.Mutation{ID: 1, Collection: "notes", DocID: "a", Op: "patch", Fields: map[string]any{"done": true}})[0], datasync.Applied)
		r := e.push("alice", "phone", put(1, "notes", "a", map[string]any{"title": "Buy milk"}))[0]
		if r.Status != datasync.Applied || !r.Duplicate || r.Doc["title"] != "Buy milk" || r.Doc["done"] != true || r.Seq == 0 || r.Version != 2 {
			t.Fatalf("the resent put: %+v, want a duplicate with the document as it is (version 2)", r)
		}
		// Resent with a new mutation of the same document: the duplicate reports the
		// document after the whole batch, at the seq the new mutation's receipt has.
		rs := e.push("alice", "phone", put(1, "notes", "a", map[string]any{"title": "Buy milk"}),
			datasync.Mutation{ID: 2, Collection: "notes", DocID: "a", Op: "patch", Ops: map[string]datasync.FieldOp{"count": {Inc: json.Number("1")}}})
		if rs[1].Status != datasync.Applied || rs[1].Duplicate || rs[1].Doc != nil {
			t.Fatalf("the new mutation: %+v, want applied without a document", rs[1])
		}
		if d := rs[0]; d.Status != datasync.Applied || !d.Duplicate || d.Seq != rs[1].Seq || d.Version != 3 || d.Doc["done"] != true || d.Doc["count"] != int64(1) {
			t.Fatalf("the resent put with a new patch: %+v, want a duplicate with the document after the batch (version 3, count 1, seq %d)", d, rs[1].Seq)
		}
	})
}
