package sync_test

import (
	"context"
	"fmt"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

// TestPullSubscriptionCap: a pull names at most MaxSubscription collections; more is a
// clear 400 (finding 8 of issue 15: 40,000 names got a 500, "too many SQL variables",
// and 5,000 a cursor the server then refused).
func TestPullSubscriptionCap(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		e.push("alice", "phone", put(1, "notes", "n1", map[string]any{"t": "x"}))
		alice := datasync.Caller{UserID: "alice"}
		names := func(n int) []string {
			out := make([]string, n)
			for i := range out {
				out[i] = fmt.Sprintf("c%d_%s", i, strings.Repeat("x", 50))
			}
			return out
		}
		for _, n := range []int{datasync.MaxSubscription + 1, 5_000, 40_000} {
			_, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{Collections: names(n)})
			if tideline.ErrorCode(err) != tideline.CodeInvalid || tideline.ErrorFields(err)["collections"] == "" {
				t.Fatalf("%d collections: %v, want invalid about collections", n, err)
			}
		}
		// At the cap, the cursor works (duplicates count once).
		most := append(names(datasync.MaxSubscription-1), "notes", "notes")
		p, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{Collections: most})
		if err != nil || len(p.Changes) != 1 {
			t.Fatalf("at the cap: %+v, %v", p, err)
		}
		if _, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{Cursor: p.Cursor, Collections: most}); err != nil {
			t.Fatalf("the cursor of a pull at the cap: %v", err)
		}
	})
}

// TestCursorAlwaysAccepted: the cursor of a user who reads many buckets (here 1,100
// groups: a position for each) is one the server accepts at the next pull (finding 8 of
// issue 15: past 64 KiB the server issued cursors it then refused, and the client
// resynced forever). See also TestCursorFoldsTracks.
//
// SQLite only: what is tested is the service's cursor, the same on every engine, and a
// pull scans each of the 1,100 buckets.
func TestCursorAlwaysAccepted(t *testing.T) {
	e := newEnv(t, "sqlite", nil)
	alice := datasync.Caller{UserID: "alice"}
	for i := range 1100 {
		if _, err := e.svc.CreateGroup(t.Context(), alice, fmt.Sprint("group ", i)); err != nil {
			t.Fatal(err)
		}
	}
	e.push("alice", "phone", put(1, "notes", "n1", map[string]any{"t": "x"}))
	p, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{})
	if err != nil || len(p.Changes) != 1 {
		t.Fatalf("first pull: %+v, %v", p.Changes, err)
	}
	e.push("alice", "phone", put(2, "notes", "n2", map[string]any{"t": "y"}))
	next, err := e.svc.Pull(t.Context(), alice, datasync.PullRequest{Cursor: p.Cursor})
	if err != nil {
		t.Fatalf("the server refused its own cursor of %d bytes: %v", len(p.Cursor), err)
	}
	if len(next.Changes) != 1 || next.Changes[0].DocID != "n2" {
		t.Fatalf("the next pull: %+v", next.Changes)
	}
}

// TestHubStreamsPerUser: one user holds at most MaxStreamsPerUser (by default 10) streams
// of a node, however many ask at once; others are unaffected, and a closed stream frees
// its place (finding 9 of issue 15: one account could take every slot of a node).
func TestHubStreamsPerUser(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		h := datasync.NewHub(e.svc, datasync.HubConfig{})
		alice := datasync.Caller{UserID: "alice"}
		var wg stdsync.WaitGroup
		subs := make(chan *datasync.Subscriber, 30)
		refused := make(chan error, 30)
		for range 30 {
			wg.Go(func() {
				s, err := h.Subscribe(context.Background(), alice)
				if err != nil {
					refused <- err
					return
				}
				subs <- s
			})
		}
		wg.Wait()
		close(subs)
		close(refused)
		if len(subs) != 10 || h.Streams() != 10 {
			t.Fatalf("%d of 30 concurrent streams of one user opened (%d counted), want the default cap, 10", len(subs), h.Streams())
		}
		for err := range refused {
			if tideline.ErrorCode(err) != tideline.CodeRateLimited || !strings.Contains(tideline.ErrorMessage(err), "10") {
				t.Fatalf("refused with %v, want rate_limited naming the cap", err)
			}
		}
		bob := e.subscribe(h, datasync.Caller{UserID: "bob"})
		first := <-subs
		h.Unsubscribe(first)
		h.Unsubscribe(first) // twice frees one place, not two
		e.subscribe(h, alice)
		if _, err := h.Subscribe(t.Context(), alice); tideline.ErrorCode(err) != tideline.CodeRateLimited {
			t.Fatalf("past the cap again: %v", err)
		}
		for s := range subs {
			h.Unsubscribe(s)
		}
		h.Unsubscribe(bob)
	})
}
