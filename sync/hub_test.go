package sync_test

import (
	"context"
	"slices"
	stdsync "sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

// poked reports whether a poke is waiting on s, taking it.
func poked(s *datasync.Subscriber) bool {
	select {
	case <-s.Pokes():
		return true
	default:
		return false
	}
}

func (e *env) subscribe(h *datasync.Hub, c datasync.Caller) *datasync.Subscriber {
	e.t.Helper()
	s, err := h.Subscribe(e.t.Context(), c, 1)
	if err != nil {
		e.t.Fatalf("Subscribe: %v", err)
	}
	e.t.Cleanup(func() { h.Unsubscribe(s) })
	return s
}

func (e *env) poll(h *datasync.Hub) {
	e.t.Helper()
	if err := h.Poll(e.t.Context()); err != nil {
		e.t.Fatalf("Poll: %v", err)
	}
}

func TestHubPokes(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubPokes)
}

func testHubPokes(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
	alice, bob := datasync.Caller{UserID: "alice"}, datasync.Caller{UserID: "bob"}
	a, b := e.subscribe(h, alice), e.subscribe(h, bob)
	e.poll(h)
	if poked(a) || poked(b) {
		t.Fatal("poked with no change")
	}
	// Two writes between polls: one poke, carrying the newest watermark; bob hears nothing.
	e.push("alice", "a", put(1, "todos", "t1", map[string]any{"v": 1}))
	e.push("alice", "a", put(2, "todos", "t2", map[string]any{"v": 1}))
	e.poll(h)
	w, err := e.store.Watermark(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !poked(a) || a.Seq() != w || poked(a) || poked(b) {
		t.Fatalf("after alice's writes: seq %d (watermark %d), bob poked %v", a.Seq(), w, poked(b))
	}
	// A document shared with bob pokes him too.
	e.push("alice", "a", put(3, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:bob"}}}))
	e.poll(h)
	if !poked(a) || !poked(b) {
		t.Fatal("a shared document poked not both")
	}

	// A group: bob's stream learns of his membership at once (this node made the change),
	// is poked so that he pulls the group's documents, and then hears of its writes.
	g, err := e.svc.CreateGroup(t.Context(), alice, "Team")
	if err != nil {
		t.Fatal(err)
	}
	if !poked(a) { // the creator's streams read the new group's bucket at once
		t.Fatal("creating a group did not refresh the creator's stream")
	}
	e.push("alice", "a", put(4, "docs", "board", map[string]any{"_acl": map[string]any{"read": []any{datasync.GroupBucket(g.ID)}}}))
	e.poll(h)
	if !poked(a) || poked(b) {
		t.Fatal("a group's document poked a non-member")
	}
	if err := e.svc.AddMember(t.Context(), alice, false, g.ID, "bob", nil); err != nil {
		t.Fatal(err)
	}
	if !poked(b) {
		t.Fatal("joining a group did not poke the new member")
	}
	e.push("alice", "a", patch(5, "docs", "board", map[string]any{"v": 2}))
	e.poll(h)
	if !poked(b) {
		t.Fatal("a group write did not poke the member")
	}
	// Unsubscribed streams are forgotten; Streams counts the open ones.
	if h.Streams() != 2 {
		t.Fatalf("%d streams", h.Streams())
	}
	h.Unsubscribe(b)
	h.Unsubscribe(b) // twice is harmless
	if h.Streams() != 1 || h.Pokes() < 5 {
		t.Fatalf("%d streams, %d pokes", h.Streams(), h.Pokes())
	}
}

// TestHubOtherNodes: a node learns of writes made through another node (another Service on
// the same store) by polling, and reads memberships changed elsewhere at RefreshEvery.
func TestHubOtherNodes(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubOtherNodes)
}

func testHubOtherNodes(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	other, err := datasync.New(t.Context(), e.store, datasync.Config{Clock: e.clock, Secrets: e.secrets, Collections: []datasync.Collection{{Name: "docs", Read: datasync.OwnerShared}}})
	if err != nil {
		t.Fatal(err)
	}
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Minute})
	b := e.subscribe(h, datasync.Caller{UserID: "bob"})
	g, err := other.CreateGroup(t.Context(), datasync.Caller{UserID: "alice"}, "Team")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Push(t.Context(), datasync.Caller{UserID: "bob"}, "b", []datasync.Mutation{put(1, "todos", "t", nil)}); err != nil {
		t.Fatal(err)
	}
	e.poll(h)
	if !poked(b) {
		t.Fatal("a write through another node did not poke")
	}
	if err := other.AddMember(t.Context(), datasync.Caller{UserID: "alice"}, false, g.ID, "bob", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	e.poll(h) // the stream's buckets are read again: bob is in the group now
	if !poked(b) {
		t.Fatal("a refreshed stream was not poked")
	}
	if _, err := other.Push(t.Context(), datasync.Caller{UserID: "alice"}, "a", []datasync.Mutation{put(1, "docs", "d", map[string]any{"_acl": map[string]any{"read": []any{datasync.GroupBucket(g.ID)}}})}); err != nil {
		t.Fatal(err)
	}
	e.poll(h)
	if !poked(b) {
		t.Fatal("a group write through another node did not poke the member")
	}
}

func TestHubMaxStreams(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubMaxStreams)
}

func testHubMaxStreams(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	h := datasync.NewHub(e.svc, datasync.HubConfig{MaxStreams: 2})
	s1 := e.subscribe(h, datasync.Caller{UserID: "a"})
	e.subscribe(h, datasync.Caller{UserID: "a"})
	_, err := h.Subscribe(t.Context(), datasync.Caller{UserID: "b"}, 1)
	wantCode(t, err, tideline.CodeUnavailable)
	h.Unsubscribe(s1)
	e.subscribe(h, datasync.Caller{UserID: "b"})
	if h.Streams() != 2 {
		t.Fatalf("%d streams", h.Streams())
	}
}

// notifier records the users it is told of.
type notifier struct {
	mu    stdsync.Mutex
	calls [][]string
}

func (n *notifier) Notify(_ context.Context, users []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls = append(n.calls, slices.Clone(users))
}

func (n *notifier) take() [][]string {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.calls
	n.calls = nil
	return c
}

func TestHubNotifier(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubNotifier)
}

func testHubNotifier(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.Collections = []datasync.Collection{{Name: "docs", Read: datasync.OwnerShared, Notify: true}, {Name: "drafts", Notify: false}, {Name: "news", Read: datasync.PublicRead, Notify: true}}
	})
	n := &notifier{}
	h := datasync.NewHub(e.svc, datasync.HubConfig{Notifier: n, NotifyEvery: time.Minute})
	// A node starting on existing data wakes nobody for its history.
	e.push("frank", "f", put(1, "docs", "old", nil))
	e.poll(h)
	if got := n.take(); len(got) != 0 {
		t.Fatalf("the first poll woke %v", got)
	}
	e.subscribe(h, datasync.Caller{UserID: "alice"}) // alice has a stream: she is poked, not woken
	g, err := e.svc.CreateGroup(t.Context(), datasync.Caller{UserID: "carol"}, "Team")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.AddMember(t.Context(), datasync.Caller{UserID: "carol"}, false, g.ID, "dave", nil); err != nil {
		t.Fatal(err)
	}
	e.push("alice", "a", put(1, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:bob", datasync.GroupBucket(g.ID)}}}))
	e.push("erin", "e", put(1, "drafts", "x", nil), put(2, "news", "y", nil)) // no notify; too wide
	e.poll(h)
	if got := n.take(); len(got) != 1 || !slices.Equal(got[0], []string{"bob", "carol", "dave"}) {
		t.Fatalf("notified %v, want one call for bob, carol and dave", got)
	}
	// Coalesced: within NotifyEvery nobody is woken twice.
	e.push("alice", "a", patch(2, "docs", "plan", map[string]any{"v": 2}))
	e.poll(h)
	if got := n.take(); len(got) != 0 {
		t.Fatalf("notified again within NotifyEvery: %v", got)
	}
	e.clock.Advance(time.Minute)
	e.push("alice", "a", patch(3, "docs", "plan", map[string]any{"v": 3}))
	e.poll(h)
	if got := n.take(); len(got) != 1 || len(got[0]) != 3 {
		t.Fatalf("after NotifyEvery: %v", got)
	}
}

func TestHubRoles(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubRoles)
}

func testHubRoles(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
	e.poll(h)
	b := e.subscribe(h, datasync.Caller{UserID: "bob"})
	memo := func(id int64) {
		e.push("alice", "a", put(id, "docs", "memo", map[string]any{"n": id, "_acl": map[string]any{"read": []any{"role:staff"}}}))
		e.poll(h)
	}
	memo(1)
	if poked(b) {
		t.Fatal("poked for a role bob does not have")
	}
	h.SetRoles(t.Context(), b, []string{"staff"})
	if !poked(b) {
		t.Fatal("gaining a role did not poke")
	}
	memo(2)
	if !poked(b) {
		t.Fatal("a write in the new role's bucket did not poke")
	}
	h.SetRoles(t.Context(), b, []string{"staff"}) // unchanged: nothing to do
	if poked(b) {
		t.Fatal("poked for unchanged roles")
	}
	h.SetRoles(t.Context(), b, nil)
	poked(b)
	memo(3)
	if poked(b) {
		t.Fatal("poked for a role taken away")
	}
}

// TestHubKick: a push through this node pokes its streams at once, without waiting for the
// next tick (here an hour away); a push through another node waits for the tick.
func TestHubKick(t *testing.T) {
	t.Parallel()
	eachEngine(t, testHubKick)
}

func testHubKick(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	h := datasync.NewHub(e.svc, datasync.HubConfig{PollEvery: time.Hour, RefreshEvery: time.Hour})
	a := e.subscribe(h, datasync.Caller{UserID: "alice"})
	e.poll(h) // the first poll, which pokes every stream, is behind us
	wait := func(what string) {
		t.Helper()
		select {
		case <-a.Pokes():
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: no poke", what)
		}
	}
	e.push("alice", "a", put(1, "todos", "t1", map[string]any{"v": 1}))
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { stop(); <-done }()
	wait("Run's first poll") // after it, only a kick makes Run poll within the hour
	e.push("alice", "a", put(2, "todos", "t2", map[string]any{"v": 1}))
	wait("a push through this node")
	w, err := e.store.Watermark(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if a.Seq() != w {
		t.Fatalf("poked at %d, the watermark is %d", a.Seq(), w)
	}
	// A duplicate push writes nothing and kicks nothing.
	e.push("alice", "a", put(2, "todos", "t2", map[string]any{"v": 1}))
	select {
	case <-a.Pokes():
		t.Fatal("a push that wrote nothing poked")
	case <-time.After(200 * time.Millisecond):
	}
}
