package sync_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestPullPages(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPullPages)
}

func testPullPages(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	var muts []datasync.Mutation
	for i := range 250 {
		muts = append(muts, put(int64(i+1), "items", fmt.Sprintf("i%03d", i), map[string]any{"n": int64(i)}))
	}
	e.push("alice", "phone", muts...)
	seen := map[string]int{}
	cursor, pages := "", 0
	var last int64
	for {
		p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Cursor: cursor, Limit: 100, Fresh: cursor == ""})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, c := range p.Changes {
			if c.Seq <= last {
				t.Fatalf("seq %d after %d: not in order", c.Seq, last)
			}
			last = c.Seq
			seen[c.DocID]++
		}
		cursor = p.Cursor
		if !p.HasMore {
			break
		}
		if len(p.Changes) != 100 {
			t.Fatalf("a page with more to come has %d changes", len(p.Changes))
		}
	}
	if pages != 3 || len(seen) != 250 {
		t.Fatalf("%d pages, %d documents", pages, len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s came %d times", id, n)
		}
	}
	// Changes during a paged sync come later, once, in their latest state.
	e.push("alice", "phone", patch(251, "items", "i000", map[string]any{"n": int64(-1)}), patch(252, "items", "i000", map[string]any{"n": int64(-2)}))
	delta, _ := e.pullAll("alice", cursor, 100)
	if len(delta) != 1 || delta[0].Fields["n"] != int64(-2) {
		t.Fatalf("delta %+v", delta)
	}
}

func TestPullByteBound(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPullByteBound)
}

func testPullByteBound(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) { c.MaxPageBytes = 1000 })
	for i := range 10 {
		e.push("alice", "phone", put(int64(i+1), "blobs", fmt.Sprint("b", i), map[string]any{"data": strings.Repeat("x", 400)}))
	}
	p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 3 || !p.HasMore {
		t.Fatalf("a 1000-byte page of 400-byte documents has %d changes (hasMore %v), want 3", len(p.Changes), p.HasMore)
	}
	all, _ := e.pullAll("alice", p.Cursor, 0)
	if len(all) != 7 {
		t.Fatalf("the rest is %d documents, want 7", len(all))
	}
}

func TestPullCursorErrors(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPullCursorErrors)
}

func testPullCursorErrors(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	e.push("alice", "phone", put(1, "todos", "t", map[string]any{"v": 1}))
	p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Fresh: true})
	if err != nil {
		t.Fatal(err)
	}
	body, mac, _ := strings.Cut(p.Cursor, ".")
	otherDB := enginetest.Open(t, engine, nil)
	other, err := datasync.New(t.Context(), otherDB.Sync(), datasync.Config{Secrets: otherDB.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	foreignServer, _ := other.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Fresh: true})
	for name, c := range map[string]string{
		"Garbage":       "not a cursor",
		"NoMAC":         body,
		"TamperedBody":  strings.ToUpper(body[:4]) + body[4:] + "." + mac,
		"TamperedMAC":   body + "." + strings.ToUpper(mac),
		"OtherServer":   foreignServer.Cursor,
		"HugeGarbage":   strings.Repeat("A", 70000) + ".x",
		"OperatorJSONy": `{"$gt":""}`,
	} {
		_, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Cursor: c})
		if tideline.ErrorCode(err) != datasync.CodeInvalidCursor {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = e.svc.Pull(t.Context(), datasync.Caller{UserID: "bob"}, datasync.PullRequest{Cursor: p.Cursor})
	wantCode(t, err, datasync.CodeInvalidCursor)
	if !strings.Contains(tideline.ErrorMessage(err), "another user") {
		t.Fatalf("message %q", tideline.ErrorMessage(err))
	}
}

var wantCode = enginetest.WantCode

func TestPullFresh(t *testing.T) {
	t.Parallel()
	eachEngine(t, testPullFresh)
}

// testPullFresh: an initial sync leaves out tombstones only for a client that says it holds
// no documents; one that pushed before it first pulled hears of the deletion.
func testPullFresh(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	e.push("alice", "phone", put(1, "todos", "kept", map[string]any{"v": 1}), put(2, "todos", "gone", map[string]any{"v": 1}))
	e.push("alice", "phone", datasync.Mutation{ID: 3, Collection: "todos", DocID: "gone", Op: "delete"})
	ops := func(fresh bool) map[string]string {
		p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, datasync.PullRequest{Fresh: fresh})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range p.Changes {
			out[c.DocID] = c.Op
		}
		return out
	}
	if got := ops(true); len(got) != 1 || got["kept"] != datasync.OpUpsert {
		t.Fatalf("a fresh initial sync: %v, want only kept", got)
	}
	if got := ops(false); len(got) != 2 || got["kept"] != datasync.OpUpsert || got["gone"] != datasync.OpDelete {
		t.Fatalf("an initial sync of a client holding documents: %v, want kept and the tombstone of gone", got)
	}
}
