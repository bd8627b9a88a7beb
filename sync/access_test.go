package sync_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

func shared(c *datasync.Config) {
	c.Collections = []datasync.Collection{{Name: "docs", Read: datasync.OwnerShared}}
}

// pullFrom pulls caller's changes from cursor until nothing is left and returns the pages.
func (e *env) pullFrom(caller datasync.Caller, cursor string, collections []string, limit int) ([]datasync.Page, string) {
	e.t.Helper()
	var pages []datasync.Page
	for i := 0; i < 1000; i++ {
		p, err := e.svc.Pull(e.t.Context(), caller, datasync.PullRequest{Cursor: cursor, Collections: collections, Limit: limit, Fresh: cursor == ""})
		if err != nil {
			e.t.Fatalf("Pull: %v", err)
		}
		pages, cursor = append(pages, p), p.Cursor
		if !p.HasMore {
			return pages, cursor
		}
	}
	e.t.Fatal("Pull never ends")
	return nil, ""
}

func changesOf(pages []datasync.Page) []datasync.Change {
	var out []datasync.Change
	for _, p := range pages {
		out = append(out, p.Changes...)
	}
	return out
}

func find(changes []datasync.Change, id string) (datasync.Change, bool) {
	for i := len(changes) - 1; i >= 0; i-- {
		if changes[i].DocID == id {
			return changes[i], true
		}
	}
	return datasync.Change{}, false
}

func TestSharing(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSharing)
}

func testSharing(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	bob, carol := datasync.Caller{UserID: "bob"}, datasync.Caller{UserID: "carol"}
	acl := func(read, write []any) map[string]any {
		return map[string]any{"_acl": map[string]any{"read": read, "write": write}}
	}
	wantStatus(t, e.push("alice", "a", put(1, "docs", "plan", map[string]any{"title": "Trip", "_acl": map[string]any{"read": []any{"user:bob"}}}))[0], datasync.Applied)
	_, bobCursor := e.pullFrom(bob, "", nil, 0)
	b, _ := e.pullFrom(bob, "", nil, 0)
	if c, ok := find(changesOf(b), "plan"); !ok || c.Fields["title"] != "Trip" || !slices.Equal(c.Buckets, []string{"user:bob"}) {
		t.Fatalf("bob's view of the shared plan: %+v", changesOf(b))
	}
	if c, _ := e.pullFrom(carol, "", nil, 0); len(changesOf(c)) != 0 {
		t.Fatalf("carol sees %+v", changesOf(c))
	}
	r := e.push("bob", "b", patch(1, "docs", "plan", map[string]any{"title": "Mine now"}))[0]
	if r.Code != datasync.RejectForbidden {
		t.Fatalf("a reader wrote: %+v", r)
	}
	wantStatus(t, e.push("alice", "a", patch(2, "docs", "plan", acl([]any{"user:bob"}, []any{"user:bob"})))[0], datasync.Applied)
	wantStatus(t, e.push("bob", "b", patch(2, "docs", "plan", map[string]any{"title": "Trip to Rome"}))[0], datasync.Applied)
	for i, m := range []datasync.Mutation{
		patch(3, "docs", "plan", acl([]any{"user:carol"}, nil)),
		{ID: 4, Collection: "docs", DocID: "plan", Op: "delete"},
		put(5, "docs", "plan", map[string]any{"title": "replaced"}),
	} {
		if r := e.push("bob", "b", m)[0]; r.Code != datasync.RejectForbidden {
			t.Fatalf("a writer did %d: %+v", i, r)
		}
	}
	// Unshared: bob's next pull evicts the plan, without its content.
	wantStatus(t, e.push("alice", "a", patch(3, "docs", "plan", map[string]any{"_acl": nil}))[0], datasync.Applied)
	pages, _ := e.pullFrom(bob, bobCursor, nil, 0)
	c, ok := find(changesOf(pages), "plan")
	if !ok || c.Op != datasync.OpEvict || c.Fields != nil || len(c.Buckets) != 0 {
		t.Fatalf("bob after the unshare: %+v", changesOf(pages))
	}
	// An initial sync sends no evictions.
	if fresh, _ := e.pullFrom(bob, "", nil, 0); len(changesOf(fresh)) != 0 {
		t.Fatalf("bob's initial sync %+v", changesOf(fresh))
	}
	if r := e.push("alice", "a", put(4, "notes", "n", map[string]any{"_acl": map[string]any{"read": []any{"user:bob"}}}))[0]; r.Code != datasync.RejectInvalid {
		t.Fatalf("_acl outside owner-shared: %+v", r)
	}
	if r := e.push("alice", "a", patch(5, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"everyone"}}}))[0]; r.Code != datasync.RejectInvalid {
		t.Fatalf("a bad principal: %+v", r)
	}
}

func TestGroups(t *testing.T) {
	t.Parallel()
	eachEngine(t, testGroups)
}

func testGroups(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	alice, bob := datasync.Caller{UserID: "alice"}, datasync.Caller{UserID: "bob"}
	g, err := e.svc.CreateGroup(t.Context(), alice, "Family")
	if err != nil {
		t.Fatal(err)
	}
	var muts []datasync.Mutation
	for i := range 120 {
		muts = append(muts, put(int64(i+1), "docs", fmt.Sprint("album", i), map[string]any{"n": int64(i), "_acl": map[string]any{"read": []any{datasync.GroupBucket(g.ID)}}}))
	}
	e.push("alice", "a", muts...)
	e.push("bob", "b", put(1, "docs", "bob-own", map[string]any{"v": int64(1)}))
	_, cursor := e.pullFrom(bob, "", nil, 0)

	wantCode(t, e.svc.AddMember(t.Context(), bob, false, g.ID, "bob", nil), tideline.CodeNotFound) // not a member: no such group for bob
	if err := e.svc.AddMember(t.Context(), alice, false, g.ID, "bob", nil); err != nil {
		t.Fatal(err)
	}
	e.push("bob", "b", patch(2, "docs", "bob-own", map[string]any{"v": int64(2)}))
	// The group's bucket is new to bob's cursor: an initial sync of it, in pages, while his
	// own bucket continues from where it was.
	pages, cursor := e.pullFrom(bob, cursor, nil, 50)
	seen := map[string]int{}
	for _, c := range changesOf(pages) {
		seen[c.DocID]++
	}
	if len(pages) < 3 || len(seen) != 121 || seen["bob-own"] != 1 {
		t.Fatalf("%d pages, %d documents: %v", len(pages), len(seen), seen["bob-own"])
	}
	wantCode(t, e.svc.RemoveMember(t.Context(), bob, false, g.ID, "alice"), tideline.CodeForbidden)  // a member removes nobody else
	wantCode(t, e.svc.RemoveMember(t.Context(), alice, false, g.ID, "alice"), tideline.CodeConflict) // the owner cannot leave
	wantCode(t, e.svc.RemoveMember(t.Context(), datasync.Caller{UserID: "eve"}, false, g.ID, "alice"), tideline.CodeNotFound)
	if err := e.svc.RemoveMember(t.Context(), bob, false, g.ID, "bob"); err != nil { // bob leaves
		t.Fatal(err)
	}
	pages, _ = e.pullFrom(bob, cursor, nil, 0)
	if !slices.Equal(pages[0].RemovedBuckets, []string{datasync.GroupBucket(g.ID)}) {
		t.Fatalf("after leaving: %+v", pages[0])
	}
	ms, _ := e.svc.ListGroups(t.Context(), bob)
	if len(ms) != 0 {
		t.Fatalf("bob's groups %+v", ms)
	}
	_, err = e.svc.Members(t.Context(), bob, false, g.ID)
	wantCode(t, err, tideline.CodeNotFound)
	if members, err := e.svc.Members(t.Context(), bob, true, g.ID); err != nil || len(members) != 1 {
		t.Fatalf("an admin's view: %v %v", members, err)
	}
}

func TestRolesAreBuckets(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRolesAreBuckets)
}

func testRolesAreBuckets(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	e.push("alice", "a", put(1, "docs", "memo", map[string]any{"_acl": map[string]any{"read": []any{"role:staff"}}}))
	staff := datasync.Caller{UserID: "bob", Roles: []string{"staff"}}
	pages, cursor := e.pullFrom(staff, "", nil, 0)
	if c, ok := find(changesOf(pages), "memo"); !ok || !slices.Equal(c.Buckets, []string{"role:staff"}) {
		t.Fatalf("staff sees %+v", changesOf(pages))
	}
	pages, _ = e.pullFrom(datasync.Caller{UserID: "bob"}, cursor, nil, 0)
	if !slices.Equal(pages[0].RemovedBuckets, []string{"role:staff"}) {
		t.Fatalf("after losing the role: %+v", pages[0])
	}
}

func TestRetentionReset(t *testing.T) {
	t.Parallel()
	eachEngine(t, testRetentionReset)
}

func testRetentionReset(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) { c.Retention = 24 * time.Hour })
	alice := datasync.Caller{UserID: "alice"}
	for i := range 5 {
		e.push("alice", "laptop", put(int64(i+1), "notes", fmt.Sprint("n", i), map[string]any{"v": int64(i)}))
	}
	_, phone := e.pullFrom(alice, "", nil, 0) // the phone syncs, then goes offline
	e.push("alice", "laptop", datasync.Mutation{ID: 6, Collection: "notes", DocID: "n0", Op: "delete"},
		patch(7, "notes", "n1", map[string]any{"v": int64(100)}))
	e.clock.Advance(48 * time.Hour)
	n, err := e.svc.Sweep(t.Context(), "node-1", time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("sweep purged %d (%v), want the one tombstone", n, err)
	}
	if n, _ := e.svc.Sweep(t.Context(), "node-2", time.Minute); n != 0 {
		t.Fatalf("another node swept while the lease was held: %d", n)
	}
	// The phone comes back: its cursor is behind the purge, so its bucket restarts; the
	// re-sync re-sends what exists, and says when it is complete.
	pages, _ := e.pullFrom(alice, phone, nil, 2)
	first, last := pages[0], pages[len(pages)-1]
	// (The horizon is one for all buckets: the empty public buckets, also behind it, reset
	// too, and complete at once.)
	if !slices.Contains(first.ResetBuckets, "user:alice") || slices.Contains(first.ResetComplete, "user:alice") || !slices.Equal(last.ResetComplete, []string{"user:alice"}) {
		t.Fatalf("reset signals: first %+v, last %+v", first, last)
	}
	got := map[string]any{}
	for _, c := range changesOf(pages) {
		if c.Op != datasync.OpUpsert {
			t.Fatalf("a re-sync sent %+v", c)
		}
		got[c.DocID] = c.Fields["v"]
	}
	if len(got) != 4 || got["n1"] != int64(100) {
		t.Fatalf("re-sent %v; n0 (deleted and purged) must be missing, so the client drops it", got)
	}
	// The phone's pending writes from its time offline still apply.
	wantStatus(t, e.push("alice", "phone", patch(1, "notes", "n2", map[string]any{"offline": true}))[0], datasync.Applied)
}

func TestSubscriptions(t *testing.T) {
	t.Parallel()
	eachEngine(t, testSubscriptions)
}

func testSubscriptions(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	alice := datasync.Caller{UserID: "alice"}
	e.push("alice", "a", put(1, "todos", "t1", map[string]any{"v": 1}), put(2, "notes", "n1", map[string]any{"v": 1}), put(3, "photos", "p1", map[string]any{"v": 1}))
	pages, cursor := e.pullFrom(alice, "", []string{"todos"}, 0)
	if len(changesOf(pages)) != 1 || !slices.Equal(pages[0].Collections, []string{"todos"}) {
		t.Fatalf("todos only: %+v", pages)
	}
	e.push("alice", "a", put(4, "todos", "t2", map[string]any{"v": 1}))
	// Adding notes: its initial sync comes, todos continue (t1 is not sent again).
	pages, cursor = e.pullFrom(alice, cursor, []string{"todos", "notes"}, 0)
	ids := []string{}
	for _, c := range changesOf(pages) {
		ids = append(ids, c.DocID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"n1", "t2"}) {
		t.Fatalf("after adding notes: %v", ids)
	}
	// Everything: photos arrive, nothing else again.
	pages, cursor = e.pullFrom(alice, cursor, nil, 0)
	if c := changesOf(pages); len(c) != 1 || c[0].DocID != "p1" || pages[0].Collections != nil {
		t.Fatalf("after subscribing to all: %+v", pages)
	}
	// Dropping to notes: the response says so; nothing is re-sent.
	e.push("alice", "a", put(5, "notes", "n2", map[string]any{"v": 1}), put(6, "todos", "t3", map[string]any{"v": 1}))
	pages, _ = e.pullFrom(alice, cursor, []string{"notes"}, 0)
	if c := changesOf(pages); len(c) != 1 || c[0].DocID != "n2" || !slices.Equal(pages[0].Collections, []string{"notes"}) {
		t.Fatalf("after dropping to notes: %+v", pages)
	}
	_, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{Collections: []string{"Bad Name"}})
	wantCode(t, err, tideline.CodeInvalid)
}

// purgeDuringScan runs a sweep just before the first bucket scan of a pull, between the
// pull's read of the purge horizon and its scan.
type purgeDuringScan struct {
	datasync.Store
	sweep func()
}

func (p *purgeDuringScan) ScanBucket(ctx context.Context, s datasync.BucketScan) ([]datasync.Document, error) {
	if p.sweep != nil {
		p.sweep()
		p.sweep = nil
	}
	return p.Store.ScanBucket(ctx, s)
}

// TestPurgeDuringPull: a purge that lands while a pull scans must not let the pull move
// past a tombstone it did not see; the pull notices the new horizon and resets.
func TestPurgeDuringPull(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPurgeDuringPull)
}

func testPurgeDuringPull(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) { c.Retention = time.Hour })
	alice := datasync.Caller{UserID: "alice"}
	e.push("alice", "laptop", put(1, "notes", "n0", nil), put(2, "notes", "n1", nil))
	_, phone := e.pullFrom(alice, "", nil, 0)
	e.push("alice", "laptop", datasync.Mutation{ID: 3, Collection: "notes", DocID: "n0", Op: "delete"})
	e.clock.Advance(2 * time.Hour)
	racy := &purgeDuringScan{Store: e.store, sweep: func() {
		if n, err := e.svc.Sweep(t.Context(), "node-1", time.Minute); n != 1 || err != nil {
			t.Errorf("sweep: %d %v", n, err)
		}
	}}
	svc, err := datasync.New(t.Context(), racy, datasync.Config{Clock: e.clock, Retention: time.Hour, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Pull(t.Context(), alice, datasync.PullRequest{Cursor: phone})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.ResetBuckets, "user:alice") || p.HasMore || !slices.Contains(p.ResetComplete, "user:alice") {
		t.Fatalf("a pull racing a purge: %+v", p)
	}
	if len(p.Changes) != 1 || p.Changes[0].DocID != "n1" {
		t.Fatalf("re-sent %+v; n0 must be missing so that the phone drops it", p.Changes)
	}
}

// TestEvictionToldOnce: a reader who lost a document hears of it once, whenever it pulls
// next, and nothing of the document's later writes (neither changes nor pokes); only a
// later eviction of another reader repeats the evict.
func TestEvictionToldOnce(t *testing.T) {
	t.Parallel()
	eachEngine(t, testEvictionToldOnce)
}

func testEvictionToldOnce(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	bob, carol := datasync.Caller{UserID: "bob"}, datasync.Caller{UserID: "carol"}
	e.push("alice", "a", put(1, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:bob", "user:carol"}}}))
	_, bobCursor := e.pullFrom(bob, "", nil, 0)
	_, carolCursor := e.pullFrom(carol, "", nil, 0)
	h := datasync.NewHub(e.svc, datasync.HubConfig{})
	b := e.subscribe(h, bob)
	e.poll(h)
	poked(b)

	e.push("alice", "a", patch(2, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:carol"}}}))
	e.poll(h)
	if !poked(b) {
		t.Fatal("the eviction did not poke bob")
	}
	pages, bobCursor := e.pullFrom(bob, bobCursor, nil, 0)
	if c := changesOf(pages); len(c) != 1 || c[0].Op != datasync.OpEvict {
		t.Fatalf("bob after the eviction: %+v", c)
	}
	for i := range 3 {
		e.push("alice", "a", patch(int64(3+i), "docs", "plan", map[string]any{"v": int64(i)}))
		e.poll(h)
		if poked(b) {
			t.Fatal("a write after the eviction poked bob")
		}
		var pages []datasync.Page
		if pages, bobCursor = e.pullFrom(bob, bobCursor, nil, 0); len(changesOf(pages)) != 0 {
			t.Fatalf("bob hears of a write after his eviction: %+v", changesOf(pages))
		}
	}
	// Carol still reads it; evicted later, after more writes, she is told once too.
	e.push("alice", "a", patch(6, "docs", "plan", map[string]any{"_acl": nil}))
	e.push("alice", "a", patch(7, "docs", "plan", map[string]any{"v": int64(9)}))
	pages, _ = e.pullFrom(carol, carolCursor, nil, 0)
	if c := changesOf(pages); len(c) != 1 || c[0].Op != datasync.OpEvict || c[0].Version != 7 {
		t.Fatalf("carol, evicted while offline: %+v", c)
	}
	// One eviction number per document: another reader's eviction repeats bob's evict
	// (harmless: he has no copy). Never the fields.
	if pages, _ := e.pullFrom(bob, bobCursor, nil, 0); len(changesOf(pages)) > 1 || (len(changesOf(pages)) == 1 && (changesOf(pages)[0].Op != datasync.OpEvict || changesOf(pages)[0].Fields != nil)) {
		t.Fatalf("bob after carol's eviction: %+v", changesOf(pages))
	}
}
