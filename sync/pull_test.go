package sync_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestPullPages(t *testing.T) { eachEngine(t, testPullPages) }

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
		p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, cursor, nil, 100)
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

func TestPullByteBound(t *testing.T) { eachEngine(t, testPullByteBound) }

func testPullByteBound(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) { c.MaxPageBytes = 1000 })
	for i := range 10 {
		e.push("alice", "phone", put(int64(i+1), "blobs", fmt.Sprint("b", i), map[string]any{"data": strings.Repeat("x", 400)}))
	}
	p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, "", nil, 0)
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

func TestPullCursorErrors(t *testing.T) { eachEngine(t, testPullCursorErrors) }

func testPullCursorErrors(t *testing.T, engine string) {
	e := newEnv(t, engine, nil)
	e.push("alice", "phone", put(1, "todos", "t", map[string]any{"v": 1}))
	p, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, "", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	body, mac, _ := strings.Cut(p.Cursor, ".")
	other, err := datasync.New(t.Context(), openStore(t, engine), datasync.Config{})
	if err != nil {
		t.Fatal(err)
	}
	foreignServer, _ := other.Pull(t.Context(), datasync.Caller{UserID: "alice"}, "", nil, 0)
	for name, c := range map[string]string{
		"Garbage":       "not a cursor",
		"NoMAC":         body,
		"TamperedBody":  strings.ToUpper(body[:4]) + body[4:] + "." + mac,
		"TamperedMAC":   body + "." + strings.ToUpper(mac),
		"OtherServer":   foreignServer.Cursor,
		"HugeGarbage":   strings.Repeat("A", 70000) + ".x",
		"OperatorJSONy": `{"$gt":""}`,
	} {
		_, err := e.svc.Pull(t.Context(), datasync.Caller{UserID: "alice"}, c, nil, 0)
		if tideline.ErrorCode(err) != datasync.CodeInvalidCursor {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, err = e.svc.Pull(t.Context(), datasync.Caller{UserID: "bob"}, p.Cursor, nil, 0)
	wantCode(t, err, datasync.CodeInvalidCursor)
	if !strings.Contains(tideline.ErrorMessage(err), "another user") {
		t.Fatalf("message %q", tideline.ErrorMessage(err))
	}
}

func wantCode(t *testing.T, err error, code tideline.Code) {
	t.Helper()
	if got := tideline.ErrorCode(err); got != code {
		t.Fatalf("code %q, want %q (err %v)", got, code, err)
	}
}
