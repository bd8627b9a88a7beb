package tideline

import (
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestTwoClientsOneCache: two clients (as two processes: each its own connection) on one
// cache file increment one counter concurrently, on a clock that never moves. Every
// mutation must get its own id and its own HLC stamp, increasing in outbox order, and
// the view must count every increment: the stamp is read and advanced in the write's
// transaction, from tl_meta.
func TestTwoClientsOneCache(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shared.db")
	frozen := func() time.Time { return time.UnixMilli(1793523600000) }
	open := func() *Client {
		c, err := Open(t.Context(), path, "http://127.0.0.1:1", nil, Options{Now: frozen, ClientID: "app"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	app, widget := open(), open()
	const each = 150
	var wg sync.WaitGroup
	for _, c := range []*Client{app, widget} {
		wg.Go(func() {
			for range each {
				if err := c.Collection("counters").Patch(t.Context(), "n", IncInt("n", 1)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	rows, err := app.db.QueryContext(t.Context(), `SELECT id, hlc FROM tl_outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, last := 0, ""
	for rows.Next() {
		var id int64
		var hlc string
		if err := rows.Scan(&id, &hlc); err != nil {
			t.Fatal(err)
		}
		if hlc <= last {
			t.Fatalf("mutation %d has stamp %s after %s: stamps must increase in outbox order", id, hlc, last)
		}
		last = hlc
		n++
	}
	if n != 2*each {
		t.Fatalf("%d mutations in the outbox, want %d", n, 2*each)
	}
	d, ok, err := widget.Collection("counters").Get(t.Context(), "n")
	if err != nil || !ok || d.Fields["n"].(interface{ String() string }).String() != "300" || d.Pending != 2*each {
		t.Fatalf("view %+v %v %v, want n = 300 with 300 pending", d, ok, err)
	}
}
