package sync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// streamMsg is a changes message as a client reads it.
type streamMsg struct {
	Type    string `json:"type"`
	Seq     int64  `json:"seq"`
	Changes []struct {
		Collection string         `json:"collection"`
		DocID      string         `json:"docId"`
		Op         string         `json:"op"`
		Doc        map[string]any `json:"doc"`
		Version    int64          `json:"version"`
		Seq        int64          `json:"seq"`
		Buckets    []string       `json:"buckets"`
	} `json:"changes"`
	Cursor string `json:"cursor"`
}

// wireChanges is what a client gets of changes: the JSON a pull page's changes encode to,
// decoded the way a stream message is, so that the two compare.
func wireChanges(t *testing.T, cs []datasync.Change) []map[string]any {
	t.Helper()
	out := []map[string]any{}
	for _, c := range cs {
		m := map[string]any{"collection": c.Collection, "docId": c.DocID, "op": c.Op, "version": c.Version, "seq": c.Seq, "buckets": c.Buckets}
		if c.Op == datasync.OpUpsert {
			m["doc"] = c.Fields
		}
		out = append(out, roundTrip(t, m))
	}
	return out
}

func roundTrip(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// take reads the messages waiting for s: the changes messages decoded, and whether a poke
// came after them.
func take(t *testing.T, s *datasync.Subscriber) ([]streamMsg, []map[string]any, bool) {
	t.Helper()
	raw, poke := s.Take()
	var msgs []streamMsg
	var changes []map[string]any
	for _, r := range raw {
		var m streamMsg
		if err := json.Unmarshal(r, &m); err != nil {
			t.Fatalf("a message that is not JSON: %s", r)
		}
		var whole struct {
			Changes []map[string]any `json:"changes"`
		}
		json.Unmarshal(r, &whole)
		msgs, changes = append(msgs, m), append(changes, whole.Changes...)
	}
	return msgs, changes, poke
}

// handoff pulls caller's changes from cursor to the end, naming stream s, and returns the
// cursor and whether the stream took over.
func (e *env) handoff(caller datasync.Caller, s *datasync.Subscriber, cursor string) (string, bool) {
	e.t.Helper()
	for range 1000 {
		p, err := e.svc.Pull(e.t.Context(), caller, datasync.PullRequest{Cursor: cursor, Stream: s.ID()})
		if err != nil {
			e.t.Fatalf("Pull: %v", err)
		}
		cursor = p.Cursor
		if !p.HasMore {
			return cursor, p.Live
		}
		if p.Live {
			e.t.Fatal("a page with more to come made the stream live")
		}
	}
	e.t.Fatal("Pull never ends")
	return "", false
}

func (e *env) subscribe2(h *datasync.Hub, c datasync.Caller) *datasync.Subscriber {
	e.t.Helper()
	s, err := h.Subscribe(e.t.Context(), c, 2)
	if err != nil {
		e.t.Fatalf("Subscribe: %v", err)
	}
	e.t.Cleanup(func() { h.Unsubscribe(s) })
	if s.ID() == "" {
		e.t.Fatal("a protocol 2 stream without an id")
	}
	return s
}

// TestStreamChanges: a stream that a completed pull hands over gets the changes in its
// buckets, the same as a pull from the previous cursor would, with a cursor to pull from
// later; other users' streams get nothing; protocol 1 streams are poked as before.
func TestStreamChanges(t *testing.T) {
	t.Parallel()
	eachEngine(t, testStreamChanges)
}

func testStreamChanges(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
	alice, bob := datasync.Caller{UserID: "alice"}, datasync.Caller{UserID: "bob"}
	e.push("alice", "a", put(1, "todos", "t0", map[string]any{"v": 0}))
	e.poll(h)
	a1, a2, b := e.subscribe2(h, alice), e.subscribe2(h, alice), e.subscribe2(h, bob)
	old := e.subscribe(h, alice) // protocol 1
	cur1, live := e.handoff(alice, a1, "")
	if !live {
		t.Fatal("a completed pull did not hand the stream over")
	}
	e.handoff(alice, a2, "")
	if _, live := e.handoff(bob, b, ""); !live {
		t.Fatal("bob's stream did not take over")
	}
	if _, _, poke := take(t, a1); poke {
		t.Fatal("a live stream is poked for nothing")
	}

	e.push("alice", "a", put(2, "todos", "t1", map[string]any{"title": "milk", "n": int64(9007199254740993)}), inc(3, "todos", "t0", "v", 2))
	e.push("alice", "a", datasync.Mutation{ID: 4, Collection: "todos", DocID: "t1", Op: "delete"})
	e.poll(h)
	want, _ := e.pullAll("alice", cur1, 500)
	for _, s := range []*datasync.Subscriber{a1, a2} {
		msgs, changes, poke := take(t, s)
		if poke || len(msgs) != 1 {
			t.Fatalf("%d messages, poke %v; want one message", len(msgs), poke)
		}
		if diff := cmp.Diff(wireChanges(t, want), changes); diff != "" {
			t.Fatalf("the stream's changes differ from a pull's (-pull +stream):\n%s", diff)
		}
		w, _ := e.store.Watermark(t.Context())
		if msgs[0].Type != "changes" || msgs[0].Seq != w {
			t.Fatalf("message %+v, want changes at %d", msgs[0], w)
		}
		// Its cursor is this stream's: pulling from it brings nothing new.
		if rest, _ := e.pullAll("alice", msgs[0].Cursor, 500); len(rest) != 0 {
			t.Fatalf("the stream's cursor is behind: %d changes after it", len(rest))
		}
	}
	if msgs, _, poke := take(t, b); len(msgs) != 0 || poke {
		t.Fatal("bob's stream heard of alice's documents")
	}
	if msgs, _, poke := take(t, old); len(msgs) != 0 || !poke {
		t.Fatal("a protocol 1 stream was not poked")
	}
	// A document shared with bob reaches his stream, with only his bucket.
	e.push("alice", "a", put(5, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:bob"}}}))
	e.poll(h)
	_, changes, _ := take(t, b)
	if len(changes) != 1 || changes[0]["docId"] != "plan" || !slices.Equal(changes[0]["buckets"].([]any), []any{"user:bob"}) {
		t.Fatalf("bob got %v", changes)
	}
	st := h.Fanout()
	if st.Live != 3 || st.Handoffs != 3 || st.Messages < 3 {
		t.Fatalf("stats %+v", st)
	}
}

// scanCountingStore is the real store, counting the bucket scans made through it.
type scanCountingStore struct {
	datasync.Store
	scans map[string]int
}

func (c *scanCountingStore) ScanBucket(ctx context.Context, s datasync.BucketScan) ([]datasync.Document, error) {
	for _, b := range s.Buckets {
		c.scans[b]++
	}
	return c.Store.ScanBucket(ctx, s)
}

// TestStreamReadsOncePerNode: 50 live streams of one user cost one scan of the user's
// bucket per poll, not one per stream.
func TestStreamReadsOncePerNode(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		cs := &scanCountingStore{Store: e.store, scans: map[string]int{}}
		svc, err := datasync.New(t.Context(), cs, datasync.Config{Clock: e.clock, Secrets: e.secrets})
		if err != nil {
			t.Fatal(err)
		}
		e.svc = svc
		h := datasync.NewHub(svc, datasync.HubConfig{RefreshEvery: time.Hour, MaxStreamsPerUser: 50})
		alice := datasync.Caller{UserID: "alice"}
		e.poll(h)
		var subs []*datasync.Subscriber
		for range 50 {
			s := e.subscribe2(h, alice)
			if _, live := e.handoff(alice, s, ""); !live {
				t.Fatal("not live")
			}
			subs = append(subs, s)
		}
		clear(cs.scans)
		e.push("alice", "a", put(1, "todos", "t1", map[string]any{"v": 1}))
		e.poll(h)
		if cs.scans["user:alice"] != 1 {
			t.Fatalf("%d scans of alice's bucket for one poll", cs.scans["user:alice"])
		}
		for _, s := range subs {
			if _, changes, _ := take(t, s); len(changes) != 1 {
				t.Fatalf("a stream got %d changes", len(changes))
			}
		}
	})
}

// TestStreamFallsBack: a live stream falls back to a poke whenever the hub cannot vouch for
// its next message, and a pull hands it over again.
func TestStreamFallsBack(t *testing.T) {
	t.Parallel()
	eachEngine(t, testStreamFallsBack)
}

func testStreamFallsBack(t *testing.T, engine string) {
	alice := datasync.Caller{UserID: "alice"}
	setup := func(t *testing.T, cfg datasync.HubConfig) (*env, *datasync.Hub, *datasync.Subscriber, string) {
		e := newEnv(t, engine, shared)
		cfg.RefreshEvery = 2 * datasync.DefaultRetention // no refresh: the purge test moves the clock on
		h := datasync.NewHub(e.svc, cfg)
		e.poll(h)
		s := e.subscribe2(h, alice)
		cur, live := e.handoff(alice, s, "")
		if !live {
			t.Fatal("not live")
		}
		return e, h, s, cur
	}
	fellBack := func(t *testing.T, h *datasync.Hub, s *datasync.Subscriber, reason string) {
		t.Helper()
		if _, _, poke := take(t, s); !poke {
			t.Fatalf("%s: no poke", reason)
		}
		if st := h.Fanout(); st.Fallbacks[reason] != 1 || st.Live != 0 {
			t.Fatalf("%s: stats %+v", reason, st)
		}
	}
	t.Run("send buffer full", func(t *testing.T) {
		e, h, s, _ := setup(t, datasync.HubConfig{SendBuffer: 2})
		for i := range 3 {
			e.push("alice", "a", put(int64(i+1), "todos", "t", map[string]any{"v": i}))
			e.poll(h)
		}
		msgs, _, poke := take(t, s)
		if len(msgs) != 0 || !poke {
			t.Fatalf("%d messages, poke %v: a full buffer is dropped for a poke", len(msgs), poke)
		}
		if st := h.Fanout(); st.Fallbacks["buffer"] != 1 {
			t.Fatalf("stats %+v", st)
		}
		// The client pulls, naming the stream, and it is live again.
		if _, live := e.handoff(alice, s, ""); !live {
			t.Fatal("a pull did not hand the stream over again")
		}
	})
	t.Run("message too large", func(t *testing.T) {
		e, h, s, _ := setup(t, datasync.HubConfig{MaxMessageBytes: 1000})
		e.push("alice", "a", put(1, "todos", "big", map[string]any{"text": string(make([]byte, 2000))}))
		e.poll(h)
		fellBack(t, h, s, "size")
	})
	t.Run("bucket too busy for a batch", func(t *testing.T) {
		e, h, s, _ := setup(t, datasync.HubConfig{BatchChanges: 2})
		e.push("alice", "a", put(1, "todos", "a", nil), put(2, "todos", "b", nil), put(3, "todos", "c", nil))
		e.poll(h)
		fellBack(t, h, s, "unread")
	})
	t.Run("eviction", func(t *testing.T) {
		e, h, _, _ := setup(t, datasync.HubConfig{})
		bob := datasync.Caller{UserID: "bob"}
		e.push("alice", "a", put(1, "docs", "plan", map[string]any{"_acl": map[string]any{"read": []any{"user:bob"}}}))
		b := e.subscribe2(h, bob)
		if _, live := e.handoff(bob, b, ""); !live {
			t.Fatal("not live")
		}
		e.push("alice", "a", put(2, "docs", "plan", map[string]any{"v": 2})) // unshared
		e.poll(h)
		if _, _, poke := take(t, b); !poke {
			t.Fatal("an eviction did not poke")
		}
		if st := h.Fanout(); st.Fallbacks["evict"] != 1 {
			t.Fatalf("stats %+v", st)
		}
	})
	t.Run("buckets changed", func(t *testing.T) {
		e, h, s, _ := setup(t, datasync.HubConfig{})
		g, err := e.svc.CreateGroup(t.Context(), datasync.Caller{UserID: "carol"}, "Team")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.svc.AddMember(t.Context(), datasync.Caller{UserID: "carol"}, false, g.ID, "alice", nil); err != nil {
			t.Fatal(err)
		}
		fellBack(t, h, s, "buckets")
	})
	t.Run("purge in the range", func(t *testing.T) {
		e, h, s, _ := setup(t, datasync.HubConfig{})
		e.push("alice", "a", put(1, "todos", "t", nil), datasync.Mutation{ID: 2, Collection: "todos", DocID: "t", Op: "delete"})
		e.clock.Advance(datasync.DefaultRetention + time.Hour)
		if _, err := e.svc.Sweep(t.Context(), "n", time.Minute); err != nil {
			t.Fatal(err)
		}
		e.poll(h)
		fellBack(t, h, s, "reset")
	})
	t.Run("handoff older than the history", func(t *testing.T) {
		e, h, _, _ := setup(t, datasync.HubConfig{History: 1})
		s := e.subscribe2(h, alice)
		// Between the pull's scan and its hand-over, the hub polls twice: it keeps one
		// batch, which starts after the pull's position.
		once := true
		defer datasync.HandoffHook(h, func() {
			if once {
				once = false
				e.push("alice", "a", put(1, "todos", "x", nil))
				e.poll(h)
				e.push("alice", "a", put(2, "todos", "y", nil))
				e.poll(h)
			}
		})()
		if _, live := e.handoff(alice, s, ""); live {
			t.Fatal("a hand-over older than the history was taken")
		}
		if _, _, poke := take(t, s); !poke {
			t.Fatal("a refused hand-over with changes since did not poke")
		}
		if st := h.Fanout(); st.Fallbacks["gap"] != 1 {
			t.Fatalf("stats %+v", st)
		}
		if _, live := e.handoff(alice, s, ""); !live {
			t.Fatal("the next pull did not hand over")
		}
	})
}

// TestStreamRefreshKeepsLive: the periodic refresh of a stream's buckets (RefreshEvery)
// leaves a live stream live when its buckets are the same, so the changes keep coming on
// the stream; before, every refresh threw every live stream back to pokes and a pull (a
// node with 9,000 streams fell back 6,629 times in 30 s). Buckets that did change still
// fall back (the "buckets changed" case of TestStreamFallsBack, and here a membership
// made through another node).
func TestStreamRefreshKeepsLive(t *testing.T) {
	t.Parallel()
	eachEngine(t, testStreamRefreshKeepsLive)
}

func testStreamRefreshKeepsLive(t *testing.T, engine string) {
	e := newEnv(t, engine, shared)
	h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Minute})
	alice := datasync.Caller{UserID: "alice"}
	e.poll(h)
	s := e.subscribe2(h, alice)
	if _, live := e.handoff(alice, s, ""); !live {
		t.Fatal("not live")
	}
	for i := range 3 {
		e.clock.Advance(2 * time.Minute) // due for a refresh at every poll
		e.push("alice", "a", put(int64(i+1), "todos", "t", map[string]any{"v": i}))
		e.poll(h)
		_, changes, poke := take(t, s)
		if poke || len(changes) != 1 {
			t.Fatalf("round %d: poke %v, %d changes: the refresh threw the stream back", i, poke, len(changes))
		}
	}
	if st := h.Fanout(); st.Live != 1 || st.Fallbacks["buckets"] != 0 {
		t.Fatalf("stats %+v", st)
	}

	// A membership made through another node (so this hub hears of it only by its refresh).
	other, err := datasync.New(t.Context(), e.store, datasync.Config{Clock: e.clock, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	g, err := other.CreateGroup(t.Context(), datasync.Caller{UserID: "carol"}, "Team")
	if err != nil {
		t.Fatal(err)
	}
	if err := other.AddMember(t.Context(), datasync.Caller{UserID: "carol"}, false, g.ID, "alice", nil); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	e.poll(h)
	if _, _, poke := take(t, s); !poke {
		t.Fatal("new buckets did not poke the stream")
	}
	if st := h.Fanout(); st.Live != 0 || st.Fallbacks["buckets"] != 1 {
		t.Fatalf("stats after a membership: %+v", st)
	}
}

// TestStreamHandoffCatchesUp: a pull that ends before the hub's last poll hands the stream
// over all the same; the batches since are sent at once, from the hub's memory.
func TestStreamHandoffCatchesUp(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		h := datasync.NewHub(e.svc, datasync.HubConfig{RefreshEvery: time.Hour})
		alice := datasync.Caller{UserID: "alice"}
		e.poll(h)
		s := e.subscribe2(h, alice)
		once := true
		defer datasync.HandoffHook(h, func() { // between the pull's scan and its hand-over
			if once {
				once = false
				e.push("alice", "a", put(1, "todos", "late", map[string]any{"v": 1}))
				e.poll(h)
			}
		})()
		_, live := e.handoff(alice, s, "")
		if !live {
			t.Fatal("not live")
		}
		_, changes, poke := take(t, s)
		if poke || len(changes) != 1 || changes[0]["docId"] != "late" {
			t.Fatalf("changes %v, poke %v: want the write made before the hand-over", changes, poke)
		}
	})
}

// liveClient is a client of the protocol with a stream, as docs/sdk-core.md says: it
// applies changes messages and pull pages alike (a state older than the one it holds is
// ignored), and pulls, naming its stream, at every poke.
type liveClient struct {
	e      *env
	caller datasync.Caller
	sub    *datasync.Subscriber
	v1     bool
	cursor string
	docs   map[string]clientDoc
	pulls  int
}

type clientDoc struct {
	fields  map[string]any
	seq     int64
	buckets []string
}

func (c *liveClient) put(col, id string, fields map[string]any, seq int64, buckets []string) {
	k := col + "/" + id
	if d, ok := c.docs[k]; ok && d.seq > seq {
		return
	}
	c.docs[k] = clientDoc{fields: fields, seq: seq, buckets: buckets}
}

func (c *liveClient) pull() {
	c.e.t.Helper()
	c.pulls++
	for range 1000 {
		req := datasync.PullRequest{Cursor: c.cursor, Limit: 7}
		if !c.v1 {
			req.Stream = c.sub.ID()
		}
		p, err := c.e.svc.Pull(c.e.t.Context(), c.caller, req)
		if err != nil {
			c.e.t.Fatalf("Pull: %v", err)
		}
		for _, ch := range p.Changes {
			switch ch.Op {
			case datasync.OpEvict:
				delete(c.docs, ch.Collection+"/"+ch.DocID)
			case datasync.OpDelete:
				c.put(ch.Collection, ch.DocID, nil, ch.Seq, ch.Buckets)
			default:
				c.put(ch.Collection, ch.DocID, roundTrip(c.e.t, ch.Fields), ch.Seq, ch.Buckets)
			}
		}
		for k, d := range c.docs {
			if len(p.RemovedBuckets) > 0 && !slices.ContainsFunc(d.buckets, func(b string) bool { return !slices.Contains(p.RemovedBuckets, b) }) {
				delete(c.docs, k)
			}
		}
		c.cursor = p.Cursor
		if !p.HasMore {
			return
		}
	}
	c.e.t.Fatal("Pull never ends")
}

// react takes what waits on the stream: messages applied, a poke answered with a pull.
func (c *liveClient) react() {
	msgs, _, poke := take(c.e.t, c.sub)
	for _, m := range msgs {
		for _, ch := range m.Changes {
			var fields map[string]any
			if ch.Op == "upsert" {
				fields = ch.Doc
			} else if ch.Op != "delete" {
				c.e.t.Fatalf("a stream sent op %q", ch.Op)
			}
			c.put(ch.Collection, ch.DocID, fields, ch.Seq, ch.Buckets)
		}
		c.cursor = m.Cursor
	}
	if poke {
		c.pull()
	}
}

// visible is what the client shows: its documents that are not tombstones.
func (c *liveClient) visible() map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, d := range c.docs {
		if d.fields != nil {
			out[k] = d.fields
		}
	}
	return out
}

// TestStreamConverges drives random writes, shares, unshares and group joins of three
// users, polls, and clients of both protocols reacting to their streams at random moments,
// with small limits so that every fallback happens. At the end every client, having
// only reacted to its stream, holds exactly what a new client of its user pulls.
func TestStreamConverges(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		for seed := range storetest.Sized(engine, uint64(4), 2) { // a seed with the default limits, one with small ones
			t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { streamConverges(t, engine, seed) })
		}
	})
}

func streamConverges(t *testing.T, engine string, seed uint64) {
	e := newEnv(t, engine, shared)
	cfg := datasync.HubConfig{RefreshEvery: time.Hour}
	if seed%2 == 1 {
		cfg = datasync.HubConfig{RefreshEvery: time.Hour, SendBuffer: 2, MaxMessageBytes: 900, BatchChanges: 3, History: 2}
	}
	h := datasync.NewHub(e.svc, cfg)
	rnd := rand.New(rand.NewPCG(seed, 99))
	users := []string{"alice", "bob", "carol"}
	var clients []*liveClient
	for _, u := range users {
		for j := range 3 {
			c := &liveClient{e: e, caller: datasync.Caller{UserID: u}, docs: map[string]clientDoc{}, v1: j == 2}
			if c.v1 {
				c.sub = e.subscribe(h, c.caller)
			} else {
				c.sub = e.subscribe2(h, c.caller)
			}
			c.pull() // hello
			clients = append(clients, c)
		}
	}
	ids := map[string]int64{}
	push := func(u string, m datasync.Mutation) {
		ids[u]++
		m.ID = ids[u]
		e.push(u, u, m)
	}
	var group string
	for range storetest.Sized(engine, 300, 80) {
		u := users[rnd.IntN(3)]
		switch k := rnd.IntN(12); {
		case k < 3:
			push(u, put(0, "todos", fmt.Sprint("t", rnd.IntN(4)), map[string]any{"v": rnd.IntN(100), "text": string(make([]byte, rnd.IntN(400)))}))
		case k < 4:
			push(u, datasync.Mutation{Collection: "todos", DocID: fmt.Sprint("t", rnd.IntN(4)), Op: "delete"})
		case k < 6:
			readers := []any{}
			for _, o := range users {
				if o != u && rnd.IntN(2) == 0 {
					readers = append(readers, "user:"+o)
				}
			}
			if group != "" && rnd.IntN(2) == 0 {
				readers = append(readers, datasync.GroupBucket(group))
			}
			push(u, put(0, "docs", fmt.Sprint(u, "-d", rnd.IntN(3)), map[string]any{"v": rnd.IntN(100), "_acl": map[string]any{"read": readers}}))
		case k < 7 && group == "":
			g, err := e.svc.CreateGroup(t.Context(), datasync.Caller{UserID: "alice"}, "Team")
			if err != nil {
				t.Fatal(err)
			}
			group = g.ID
		case k < 7:
			if err := e.svc.AddMember(t.Context(), datasync.Caller{UserID: "alice"}, false, group, users[1+rnd.IntN(2)], nil); err != nil {
				t.Fatal(err)
			}
		case k < 10:
			e.poll(h)
		default:
			clients[rnd.IntN(len(clients))].react()
		}
	}
	e.poll(h)
	for range 5 {
		for _, c := range clients {
			c.react()
		}
		e.poll(h)
	}
	st := h.Fanout()
	if st.Messages == 0 || st.Handoffs == 0 {
		t.Fatalf("no change went on a stream: %+v", st)
	}
	t.Logf("seed %d: %+v", seed, st)
	for _, c := range clients {
		if _, _, poke := take(t, c.sub); poke {
			c.pull()
		}
		fresh := &liveClient{e: e, caller: c.caller, docs: map[string]clientDoc{}, v1: true}
		fresh.pull()
		if diff := cmp.Diff(fresh.visible(), c.visible()); diff != "" {
			t.Fatalf("%s's client (v1 %v) differs from a new client's (-new +client):\n%s", c.caller.UserID, c.v1, diff)
		}
	}
}
