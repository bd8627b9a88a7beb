package sync_test

import (
	"context"
	"sync/atomic"
	"testing"

	datasync "github.com/tideline-dev/tideline/sync"
)

// watermarkCounter counts the watermark reads of a real store.
type watermarkCounter struct {
	datasync.Store
	reads atomic.Int64
}

func (c *watermarkCounter) Watermark(ctx context.Context) (int64, error) {
	c.reads.Add(1)
	return c.Store.Watermark(ctx)
}

// TestPullServesTheNodesWatermark: once the node's hub has polled, a pull reads no
// watermark: it serves up to the hub's. A change through another node is served after the
// hub's next poll (which pokes its readers); a change through this node at once.
func TestPullServesTheNodesWatermark(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, engine string) {
		e := newEnv(t, engine, nil)
		counted := &watermarkCounter{Store: e.store}
		cfg := datasync.Config{Clock: e.clock, Secrets: e.secrets}
		node, err := datasync.New(t.Context(), counted, cfg)
		if err != nil {
			t.Fatal(err)
		}
		other, err := datasync.New(t.Context(), e.store, cfg)
		if err != nil {
			t.Fatal(err)
		}
		hub := datasync.NewHub(node, datasync.HubConfig{})
		alice := datasync.Caller{UserID: "alice"}
		pull := func(cursor string) (datasync.Page, int64) {
			t.Helper()
			before := counted.reads.Load()
			p, err := node.Pull(t.Context(), alice, datasync.PullRequest{Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			return p, counted.reads.Load() - before
		}
		pushVia := func(svc *datasync.Service, id int64, doc string) {
			t.Helper()
			if _, err := svc.Push(t.Context(), alice, "laptop", []datasync.Mutation{put(id, "notes", doc, map[string]any{"v": id})}); err != nil {
				t.Fatal(err)
			}
		}
		pushVia(node, 1, "a")
		p, reads := pull("")
		if len(p.Changes) != 1 || reads != 1 {
			t.Fatalf("before the hub polled: %d changes, %d watermark reads; want 1 and 1", len(p.Changes), reads)
		}
		if err := hub.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p, reads = pull(p.Cursor); len(p.Changes) != 0 || reads != 0 {
			t.Fatalf("after the hub polled: %d changes, %d watermark reads; want none", len(p.Changes), reads)
		}
		pushVia(other, 2, "b")
		if p2, reads := pull(p.Cursor); len(p2.Changes) != 0 || reads != 0 {
			t.Fatalf("a change through another node before the hub's poll: %d changes, %d reads; want none yet", len(p2.Changes), reads)
		}
		if err := hub.Poll(t.Context()); err != nil {
			t.Fatal(err)
		}
		if p, reads = pull(p.Cursor); len(p.Changes) != 1 || p.Changes[0].DocID != "b" || reads != 0 {
			t.Fatalf("after the poll: %+v, %d reads; want b and no read", p.Changes, reads)
		}
		pushVia(node, 3, "c")
		if p, reads = pull(p.Cursor); len(p.Changes) != 1 || p.Changes[0].DocID != "c" || reads != 1 {
			t.Fatalf("after a push through this node: %+v, %d reads; want c, read at once", p.Changes, reads)
		}
	})
}
