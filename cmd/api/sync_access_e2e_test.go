package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/tideline-dev/tideline/store/storetest"
)

// These tests drive the sync access rules (sharing, groups, retention) and the realtime
// stream end to end, through the real binary over HTTP, on both engines.

// sharedDocs configures the collection "docs" as owner-shared.
const sharedDocs = `TIDELINE_SYNC_COLLECTIONS=[{"name":"docs","read":"owner-shared"}]`

// syncEnv is the environment of a server on engine: cheap signups, its own data directory
// and, on mongodb, a database of its own on uri.
func syncEnv(t *testing.T, engine, uri, db string, extra ...string) []string {
	t.Helper()
	env := append([]string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + t.TempDir()}, extra...)
	if engine == "mongodb" {
		env = append(env, testMasterKeyEnv, "TIDELINE_MONGODB_URI="+uri, "TIDELINE_MONGODB_DATABASE="+db)
	}
	return env
}

// onEngines runs fn on a fresh server of each engine started with extra settings.
func onEngines(t *testing.T, db string, extra []string, fn func(t *testing.T, p *proc, base string)) {
	for _, engine := range []string{"sqlite", "mongodb"} {
		t.Run(engine, func(t *testing.T) {
			uri := ""
			if engine == "mongodb" {
				uri = storetest.MongoURI(t)
			}
			p := startAPI(t, syncEnv(t, engine, uri, db, extra...), "--addr", "127.0.0.1:0")
			up := p.waitFor("tideline listening")
			if up["engine"] != engine {
				t.Fatalf("started on %v, want %s", up["engine"], engine)
			}
			fn(t, p, up["addr"].(string))
		})
	}
}

// js renders v as JSON for failure messages.
func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// recode converts a decoded JSON answer into out.
func recode(t *testing.T, in any, out any) {
	t.Helper()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

type syncUser struct {
	id, token string
	bucket    string // user:<id>
}

func signUp(t *testing.T, base, email string) syncUser {
	t.Helper()
	status, body := callJSON(t, "POST", base+"/v1/auth/signup", "", map[string]string{"email": email, "password": "correct horse battery staple"})
	token, _ := body["accessToken"].(string)
	user, _ := body["user"].(map[string]any)
	id, _ := user["id"].(string)
	if status != 201 || token == "" || id == "" {
		t.Fatalf("signup %s: %d %s", email, status, js(body))
	}
	return syncUser{id: id, token: token, bucket: "user:" + id}
}

type receipt struct {
	ID        int64  `json:"id"`
	Status    string `json:"status"`
	Code      string `json:"code"`
	Seq       int64  `json:"seq"`
	Version   int64  `json:"version"`
	Duplicate bool   `json:"duplicate"`
}

// push sends mutations from clientID and returns the receipts, one per mutation.
func pushMutations(t *testing.T, base string, u syncUser, clientID string, muts ...map[string]any) []receipt {
	t.Helper()
	status, body := callJSON(t, "POST", base+"/v1/sync/push", u.token, map[string]any{"clientId": clientID, "mutations": muts})
	var out struct {
		Protocol int       `json:"protocol"`
		Receipts []receipt `json:"receipts"`
	}
	recode(t, body, &out)
	if status != 200 || out.Protocol != 1 || len(out.Receipts) != len(muts) {
		t.Fatalf("push %s: %d %s", js(muts), status, js(body))
	}
	for i, r := range out.Receipts {
		if r.ID != int64(muts[i]["id"].(int)) {
			t.Fatalf("push %s: receipt %d is for mutation %d: %s", js(muts), i, r.ID, js(body))
		}
	}
	return out.Receipts
}

// pushApplied pushes and fails unless every mutation was applied.
func pushApplied(t *testing.T, base string, u syncUser, clientID string, muts ...map[string]any) {
	t.Helper()
	for _, r := range pushMutations(t, base, u, clientID, muts...) {
		if r.Status != "applied" || r.Seq <= 0 || r.Version <= 0 {
			t.Fatalf("push %s: receipt %s, want applied", js(muts), js(r))
		}
	}
}

type change struct {
	Collection string         `json:"collection"`
	DocID      string         `json:"docId"`
	Op         string         `json:"op"`
	Doc        map[string]any `json:"doc"`
	Version    int64          `json:"version"`
	Seq        int64          `json:"seq"`
	Buckets    []string       `json:"buckets"`
}

type page struct {
	Protocol       int      `json:"protocol"`
	Changes        []change `json:"changes"`
	Cursor         string   `json:"cursor"`
	HasMore        bool     `json:"hasMore"`
	RemovedBuckets []string `json:"removedBuckets"`
	ResetBuckets   []string `json:"resetBuckets"`
	ResetComplete  []string `json:"resetComplete"`
	raw            map[string]any
}

func (p page) String() string { return js(p.raw) }

// pull pulls one page with req (cursor, limit) and checks the answer's shape.
func pull(t *testing.T, base string, u syncUser, req map[string]any) page {
	t.Helper()
	status, body := callJSON(t, "POST", base+"/v1/sync/pull", u.token, req)
	var p page
	recode(t, body, &p)
	p.raw = body
	if _, ok := body["changes"].([]any); status != 200 || !ok || p.Protocol != 1 || p.Cursor == "" {
		t.Fatalf("pull %s: %d %s", js(req), status, js(body))
	}
	for i, c := range p.Changes {
		if i > 0 && c.Seq <= p.Changes[i-1].Seq {
			t.Fatalf("pull %s: changes out of seq order: %s", js(req), p)
		}
		if (c.Op == "upsert") != (c.Doc != nil) {
			t.Fatalf("pull %s: change %s/%s %s with doc %v", js(req), c.Collection, c.DocID, c.Op, c.Doc)
		}
	}
	return p
}

// pullAll pulls from cursor with limit until hasMore is false (at most 20 pages) and
// returns the pages.
func pullAll(t *testing.T, base string, u syncUser, cursor string, limit int) []page {
	t.Helper()
	var pages []page
	for len(pages) == 0 || pages[len(pages)-1].HasMore {
		if len(pages) == 20 {
			t.Fatalf("still hasMore after 20 pages: %v", pages)
		}
		req := map[string]any{"limit": limit}
		if cursor != "" {
			req["cursor"] = cursor
		}
		p := pull(t, base, u, req)
		if len(p.Changes) > limit {
			t.Fatalf("pull with limit %d answered %d changes: %s", limit, len(p.Changes), p)
		}
		pages = append(pages, p)
		cursor = p.Cursor
	}
	return pages
}

// replica is a device's local copy, kept as docs/sync-protocol.md and openapi.yaml tell a
// client to: upserts replace, deletes and evictions drop, removed buckets drop the
// documents left in none, reset buckets mark their documents and resetComplete drops the
// marked ones not sent again.
type replica struct {
	docs    map[string]map[string]any // collection/docId -> fields
	buckets map[string][]string
	marked  map[string]bool
	cursor  string
}

func newReplica() *replica {
	return &replica{docs: map[string]map[string]any{}, buckets: map[string][]string{}, marked: map[string]bool{}}
}

func (r *replica) apply(p page) {
	for _, b := range p.RemovedBuckets {
		for k, bs := range r.buckets {
			r.buckets[k] = slices.DeleteFunc(slices.Clone(bs), func(x string) bool { return x == b })
			if len(r.buckets[k]) == 0 {
				r.drop(k)
			}
		}
	}
	for _, b := range p.ResetBuckets {
		for k, bs := range r.buckets {
			if slices.Contains(bs, b) {
				r.marked[k] = true
			}
		}
	}
	for _, c := range p.Changes {
		k := c.Collection + "/" + c.DocID
		if c.Op == "upsert" {
			r.docs[k], r.buckets[k] = c.Doc, c.Buckets
			delete(r.marked, k)
		} else {
			r.drop(k)
		}
	}
	for _, b := range p.ResetComplete {
		for k := range r.marked {
			if slices.Contains(r.buckets[k], b) {
				r.drop(k)
			}
		}
	}
	r.cursor = p.Cursor
}

func (r *replica) drop(k string) {
	delete(r.docs, k)
	delete(r.buckets, k)
	delete(r.marked, k)
}

// sync pulls from the replica's cursor until hasMore is false and applies every page.
func (r *replica) sync(t *testing.T, base string, u syncUser) []page {
	t.Helper()
	pages := pullAll(t, base, u, r.cursor, 500)
	for _, p := range pages {
		r.apply(p)
	}
	return pages
}

// serverState is what an initial sync gives u now.
func serverState(t *testing.T, base string, u syncUser) map[string]map[string]any {
	t.Helper()
	fresh := newReplica()
	fresh.sync(t, base, u)
	return fresh.docs
}

func changeIDs(pages ...page) []string {
	var out []string
	for _, p := range pages {
		for _, c := range p.Changes {
			out = append(out, c.Collection+"/"+c.DocID+":"+c.Op)
		}
	}
	return out
}

func groupsOf(t *testing.T, base string, u syncUser) map[string]string {
	t.Helper()
	status, body := callJSON(t, "GET", base+"/v1/groups", u.token, nil)
	list, ok := body["groups"].([]any)
	if status != 200 || !ok {
		t.Fatalf("GET /v1/groups: %d %s", status, js(body))
	}
	out := map[string]string{} // id -> role
	for _, g := range list {
		m, _ := g.(map[string]any)
		id, _ := m["id"].(string)
		role, _ := m["role"].(string)
		out[id] = role
	}
	return out
}

func TestServeSharingEviction(t *testing.T) {
	onEngines(t, "e2e_share", []string{sharedDocs}, func(t *testing.T, p *proc, base string) {
		alice, bob := signUp(t, base, "alice@example.com"), signUp(t, base, "bob@example.com")
		pushApplied(t, base, alice, "alice-laptop",
			map[string]any{"id": 1, "collection": "docs", "docId": "d1", "op": "put", "fields": map[string]any{"title": "Plan", "_acl": map[string]any{"read": []any{bob.bucket}}}},
			map[string]any{"id": 2, "collection": "docs", "docId": "d2", "op": "put", "fields": map[string]any{"title": "Diary"}},
		)

		// bob reads the document shared with him, and only that one.
		first := pull(t, base, bob, map[string]any{})
		if len(first.Changes) != 1 || first.HasMore {
			t.Fatalf("bob's initial pull: want docs/d1 only: %s", first)
		}
		if c := first.Changes[0]; c.Collection != "docs" || c.DocID != "d1" || c.Op != "upsert" || c.Doc["title"] != "Plan" || !reflect.DeepEqual(c.Buckets, []string{bob.bucket}) {
			t.Fatalf("bob's initial pull: want d1 upserted in [%s]: %s", bob.bucket, first)
		}

		// He may read it, not write it: neither patch nor delete it.
		for i, r := range pushMutations(t, base, bob, "bob-phone",
			map[string]any{"id": 1, "collection": "docs", "docId": "d1", "op": "patch", "fields": map[string]any{"title": "Hijacked"}},
			map[string]any{"id": 2, "collection": "docs", "docId": "d1", "op": "delete"},
		) {
			if r.Status != "rejected" || r.Code != "forbidden" {
				t.Fatalf("bob's write %d to alice's d1: %s, want rejected forbidden", i+1, js(r))
			}
		}
		if again := pull(t, base, bob, map[string]any{"cursor": first.Cursor}); len(again.Changes) != 0 {
			t.Fatalf("after bob's rejected writes his pull has changes: %s", again)
		}
		if docs := serverState(t, base, alice); docs["docs/d1"]["title"] != "Plan" || len(docs) != 2 {
			t.Fatalf("alice's documents after bob's rejected writes: %s", js(docs))
		}

		// alice stops sharing: bob is told to drop it.
		pushApplied(t, base, alice, "alice-laptop",
			map[string]any{"id": 3, "collection": "docs", "docId": "d1", "op": "patch", "fields": map[string]any{"_acl": map[string]any{"read": []any{}}}})
		evicted := pull(t, base, bob, map[string]any{"cursor": first.Cursor})
		if len(evicted.Changes) != 1 || evicted.HasMore {
			t.Fatalf("bob's pull after unsharing: want one evict of docs/d1: %s", evicted)
		}
		if c := evicted.Changes[0]; c.Collection != "docs" || c.DocID != "d1" || c.Op != "evict" || len(c.Buckets) != 0 {
			t.Fatalf("bob's pull after unsharing: want docs/d1 evicted: %s", evicted)
		}
		if next := pull(t, base, bob, map[string]any{"cursor": evicted.Cursor}); len(next.Changes) != 0 {
			t.Fatalf("the eviction came again: %s", next)
		}
		if fresh := pull(t, base, bob, map[string]any{"fresh": true}); len(fresh.Changes) != 0 {
			t.Fatalf("a new install of bob's, after unsharing, still gets changes: %s", fresh)
		}
		// A client that holds documents (it may have d1 from a receipt) hears of the eviction.
		if held := pull(t, base, bob, map[string]any{}); len(held.Changes) != 1 || held.Changes[0].Op != "evict" {
			t.Fatalf("an initial sync of a client holding documents, after unsharing: %s", held)
		}
		// Unshared, d1 is still alice's.
		if docs := serverState(t, base, alice); docs["docs/d1"]["title"] != "Plan" || len(docs) != 2 {
			t.Fatalf("alice's documents after unsharing: %s", js(docs))
		}
	})
}

func TestServeGroupJoin(t *testing.T) {
	onEngines(t, "e2e_group", []string{sharedDocs}, func(t *testing.T, p *proc, base string) {
		alice, bob := signUp(t, base, "alice@example.com"), signUp(t, base, "bob@example.com")
		status, g := callJSON(t, "POST", base+"/v1/groups", alice.token, map[string]any{"name": "Book club"})
		gid, _ := g["id"].(string)
		if status != 201 || gid == "" || g["name"] != "Book club" || g["ownerId"] != alice.id || g["role"] != "owner" {
			t.Fatalf("create group: %d %s", status, js(g))
		}
		bucket := "group:" + gid
		if gs := groupsOf(t, base, bob); len(gs) != 0 {
			t.Fatalf("bob's groups before joining: %v", gs)
		}
		if gs := groupsOf(t, base, alice); gs[gid] != "owner" || len(gs) != 1 {
			t.Fatalf("alice's groups: %v", gs)
		}
		acl := map[string]any{"read": []any{bucket}}
		pushApplied(t, base, alice, "alice-laptop",
			map[string]any{"id": 1, "collection": "docs", "docId": "g1", "op": "put", "fields": map[string]any{"n": 1, "_acl": acl}},
			map[string]any{"id": 2, "collection": "docs", "docId": "g2", "op": "put", "fields": map[string]any{"n": 2, "_acl": acl}},
			map[string]any{"id": 3, "collection": "docs", "docId": "g3", "op": "put", "fields": map[string]any{"n": 3, "_acl": acl}},
		)

		bobs := newReplica()
		if pages := bobs.sync(t, base, bob); len(changeIDs(pages...)) != 0 {
			t.Fatalf("bob pulled alice's group documents before joining: %v", pages)
		}

		if status, body := callJSON(t, "POST", base+"/v1/groups/"+gid+"/members/"+bob.id, alice.token, nil); status != 204 {
			t.Fatalf("add bob: %d %s", status, js(body))
		}
		if gs := groupsOf(t, base, bob); gs[gid] != "member" || len(gs) != 1 {
			t.Fatalf("bob's groups after joining: %v", gs)
		}

		// From his old cursor, bob gets the group's documents in pages of 2, each once.
		pages := pullAll(t, base, bob, bobs.cursor, 2)
		if len(pages) < 2 {
			t.Fatalf("3 documents in pages of 2 came in %d page(s): %v", len(pages), pages)
		}
		seen := map[string]int{}
		for _, pg := range pages {
			for _, c := range pg.Changes {
				seen[c.DocID]++
				if c.Collection != "docs" || c.Op != "upsert" || !reflect.DeepEqual(c.Buckets, []string{bucket}) || c.Doc["n"] != float64(c.DocID[1]-'0') {
					t.Fatalf("bob's pull after joining: change %s: %v", js(c), pages)
				}
			}
			if len(pg.RemovedBuckets) != 0 || len(pg.ResetBuckets) != 0 {
				t.Fatalf("bob's pull after joining: %s", pg)
			}
			bobs.apply(pg)
		}
		if !reflect.DeepEqual(seen, map[string]int{"g1": 1, "g2": 1, "g3": 1}) {
			t.Fatalf("bob's pull after joining: documents %v, want g1, g2, g3 once each: %v", seen, pages)
		}

		// bob leaves: his next pull says the group's bucket is gone.
		if status, body := callJSON(t, "DELETE", base+"/v1/groups/"+gid+"/members/"+bob.id, bob.token, nil); status != 204 {
			t.Fatalf("bob leaves: %d %s", status, js(body))
		}
		if gs := groupsOf(t, base, bob); len(gs) != 0 {
			t.Fatalf("bob's groups after leaving: %v", gs)
		}
		left := pull(t, base, bob, map[string]any{"cursor": bobs.cursor})
		if !reflect.DeepEqual(left.RemovedBuckets, []string{bucket}) || left.HasMore {
			t.Fatalf("bob's pull after leaving: want removedBuckets [%s]: %s", bucket, left)
		}
		for _, c := range left.Changes {
			if c.Op == "upsert" {
				t.Fatalf("bob's pull after leaving still upserts: %s", left)
			}
		}
		bobs.apply(left)
		if len(bobs.docs) != 0 {
			t.Fatalf("bob's device keeps %s after leaving", js(bobs.docs))
		}
		if next := pull(t, base, bob, map[string]any{"cursor": left.Cursor}); len(next.RemovedBuckets) != 0 || len(next.Changes) != 0 {
			t.Fatalf("the removal came again: %s", next)
		}
	})
}

func TestServeRetentionReset(t *testing.T) {
	// A client offline for longer than the retention, with pending writes, comes back and
	// converges without losing them.
	onEngines(t, "e2e_retention", []string{"TIDELINE_SYNC_RETENTION=1s", "TIDELINE_SYNC_SWEEP_EVERY=200ms"}, func(t *testing.T, p *proc, base string) {
		alice := signUp(t, base, "alice@example.com")
		note := func(id int, docID, text string) map[string]any {
			return map[string]any{"id": id, "collection": "notes", "docId": docID, "op": "put", "fields": map[string]any{"text": text}}
		}
		pushApplied(t, base, alice, "laptop", note(1, "n1", "one"), note(2, "n2", "two"), note(3, "n3", "three"))

		phone := newReplica()
		phone.sync(t, base, alice)
		if len(phone.docs) != 3 {
			t.Fatalf("phone's initial sync: %s", js(phone.docs))
		}
		offlineCursor := phone.cursor
		// The phone goes offline and makes a write it cannot push yet.
		pending := map[string]any{"id": 1, "collection": "notes", "docId": "n3", "op": "patch", "fields": map[string]any{"done": true},
			"hlc": fmt.Sprintf("%013d-00000-phone", time.Now().UnixMilli())}

		pushApplied(t, base, alice, "laptop",
			map[string]any{"id": 4, "collection": "notes", "docId": "n1", "op": "delete"},
			map[string]any{"id": 5, "collection": "notes", "docId": "n2", "op": "patch", "fields": map[string]any{"text": "two, edited"}},
		)

		// Once n1's tombstone is purged (the only one: the sweep logs that it purged), the
		// phone's cursor is too old: its bucket resets.
		p.waitFor("sync sweep purged documents")
		first := pull(t, base, alice, map[string]any{"cursor": offlineCursor, "limit": 1})
		if len(first.ResetBuckets) == 0 {
			t.Fatalf("no resetBuckets after the purge; pull %s\nserver log:\n%s", first, p.log)
		}
		// (The purge horizon is one sequence number for all buckets, so every bucket the
		// cursor is behind it on resets, alice's empty "authenticated" and "public" too.)
		if !slices.Contains(first.ResetBuckets, alice.bucket) {
			t.Fatalf("resetBuckets %v, want %s among them: %s", first.ResetBuckets, alice.bucket, first)
		}
		pages := []page{first}
		if first.HasMore {
			pages = append(pages, pullAll(t, base, alice, first.Cursor, 1)...)
		}
		if len(pages) < 2 {
			t.Fatalf("2 live notes in pages of 1 came in %d page(s): %v", len(pages), pages)
		}
		// alice's bucket completes once, not before its last re-sent document (a client
		// would drop the marked documents not re-sent yet).
		completed, completedAt, lastSent := map[string]int{}, -1, -1
		for i, pg := range pages {
			if i > 0 && len(pg.ResetBuckets) != 0 {
				t.Fatalf("page %d lists resetBuckets again (a client would mark the documents already re-sent): %v", i+1, pages)
			}
			for _, b := range pg.ResetComplete {
				completed[b]++
				if b == alice.bucket {
					completedAt = i
				}
			}
			if len(pg.Changes) > 0 {
				lastSent = i
			}
		}
		for _, b := range first.ResetBuckets {
			if completed[b] != 1 {
				t.Fatalf("reset bucket %s completes %d times, want once: %v", b, completed[b], pages)
			}
		}
		if completedAt < lastSent {
			t.Fatalf("%s completes on page %d, its last document comes on page %d: %v", alice.bucket, completedAt+1, lastSent+1, pages)
		}
		if len(completed) != len(first.ResetBuckets) {
			t.Fatalf("resetComplete %v, resetBuckets %v: %v", completed, first.ResetBuckets, pages)
		}
		resent := map[string]any{}
		for _, pg := range pages {
			for _, c := range pg.Changes {
				if c.Op != "upsert" || c.Collection != "notes" || !reflect.DeepEqual(c.Buckets, []string{alice.bucket}) {
					t.Fatalf("reset sync: change %s, want upserts of live notes only: %v", js(c), pages)
				}
				if _, dup := resent[c.DocID]; dup {
					t.Fatalf("reset sync sent %s twice: %v", c.DocID, pages)
				}
				resent[c.DocID] = c.Doc["text"]
			}
		}
		if want := map[string]any{"n2": "two, edited", "n3": "three"}; !reflect.DeepEqual(resent, want) {
			t.Fatalf("reset sync re-sent %v, want %v: %v", resent, want, pages)
		}
		for _, pg := range pages {
			phone.apply(pg)
		}
		if _, ok := phone.docs["notes/n1"]; ok || len(phone.docs) != 2 {
			t.Fatalf("phone after the reset sync: %s", js(phone.docs))
		}

		// Back online, the phone pushes its pending write: nothing lost.
		if r := pushMutations(t, base, alice, "phone", pending); r[0].Status != "applied" {
			t.Fatalf("the phone's pending write: %s", js(r))
		}
		after := phone.sync(t, base, alice)
		if ids := changeIDs(after...); !reflect.DeepEqual(ids, []string{"notes/n3:upsert"}) {
			t.Fatalf("phone's pull after its push: %v, want n3 upserted: %v", ids, after)
		}
		if n3 := phone.docs["notes/n3"]; n3["done"] != true || n3["text"] != "three" {
			t.Fatalf("phone's n3 after its push: %s", js(n3))
		}
		if want := serverState(t, base, alice); !reflect.DeepEqual(phone.docs, want) {
			t.Fatalf("phone did not converge:\nphone  %s\nserver %s", js(phone.docs), js(want))
		}
	})
}

// wsURL is the stream's WebSocket address on the server at base.
func wsURL(base string) string {
	return "ws://" + strings.TrimPrefix(base, "http://") + "/v1/sync/stream"
}

type streamMsg struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
}

func dialStream(ctx context.Context, base, token string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
}

func readMsg(ctx context.Context, c *websocket.Conn, timeout time.Duration) (streamMsg, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	typ, data, err := c.Read(ctx)
	if err != nil {
		return streamMsg{}, err
	}
	var m streamMsg
	if typ != websocket.MessageText {
		return m, fmt.Errorf("a %v message %q", typ, data)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, fmt.Errorf("message %q: %v", data, err)
	}
	return m, nil
}

func TestServeTwoNodesPoke(t *testing.T) {
	uri := storetest.MongoURI(t)
	node := func() (*proc, string) {
		p := startAPI(t, syncEnv(t, "mongodb", uri, "e2e_nodes"), "--addr", "127.0.0.1:0")
		up := p.waitFor("tideline listening")
		if up["engine"] != "mongodb" {
			t.Fatalf("started on %v", up["engine"])
		}
		return p, up["addr"].(string)
	}
	_, a := node()
	nodeB, b := node()
	alice, bob := signUp(t, a, "alice@example.com"), signUp(t, a, "bob@example.com")
	ctx := t.Context()

	if c, resp, err := dialStream(ctx, b, "not-a-token"); err == nil || resp == nil || resp.StatusCode != 401 {
		if c != nil {
			c.CloseNow()
		}
		code := 0
		if resp != nil {
			code = resp.StatusCode
		}
		t.Fatalf("stream with an invalid token: status %d, err %v; want 401", code, err)
	}

	open := func(u syncUser, who string) (*websocket.Conn, streamMsg) {
		c, resp, err := dialStream(ctx, b, u.token)
		if err != nil {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			t.Fatalf("%s's stream on node B: %d %v", who, code, err)
		}
		t.Cleanup(func() { c.CloseNow() })
		hello, err := readMsg(ctx, c, 5*time.Second)
		if err != nil || hello.Type != "hello" || hello.Seq < 0 {
			t.Fatalf("%s's first message on node B: %+v %v", who, hello, err)
		}
		return c, hello
	}
	bobStream, hello := open(bob, "bob")
	aliceStream, aliceHello := open(alice, "alice")

	pushApplied(t, a, bob, "bob-phone", map[string]any{"id": 1, "collection": "todos", "docId": "t1", "op": "put", "fields": map[string]any{"title": "Call Ada"}})
	start := time.Now()
	poke, err := readMsg(ctx, bobStream, 5*time.Second)
	if err != nil || poke.Type != "poke" || poke.Seq <= hello.Seq {
		t.Fatalf("bob's stream on node B after his push through node A: %+v %v (hello seq %d)\nnode B log:\n%s", poke, err, hello.Seq, nodeB.log)
	}
	t.Logf("poke across nodes after %v", time.Since(start))

	pulled := pull(t, b, bob, map[string]any{})
	if len(pulled.Changes) != 1 || pulled.Changes[0].DocID != "t1" || pulled.Changes[0].Doc["title"] != "Call Ada" {
		t.Fatalf("bob's pull through node B: %s", pulled)
	}
	if pulled.Changes[0].Seq > poke.Seq {
		t.Fatalf("the change's seq %d is past the poke's %d: %s", pulled.Changes[0].Seq, poke.Seq, pulled)
	}

	// alice reads none of bob's buckets: no poke for her.
	if m, err := readMsg(ctx, aliceStream, 500*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("alice's stream (hello seq %d) after bob's write: %+v %v, want nothing", aliceHello.Seq, m, err)
	}
}
