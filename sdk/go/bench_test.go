package tideline

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
)

// Client benchmarks beside the same writes done directly on SQLite (the limit). See
// docs/benchmarks.md.

func benchClient(b *testing.B, server string) *Client {
	b.Helper()
	c, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"), server, Token("t"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return c
}

var benchFields = map[string]any{"title": "Buy milk and bread", "done": false, "priority": 3, "tags": []any{"home", "errand"}}

// BenchmarkLocalWrite: a put through the SDK (outbox + view, one transaction, fsync).
func BenchmarkLocalWrite(b *testing.B) {
	c := benchClient(b, "http://127.0.0.1:1")
	todos := c.Collection("todos")
	b.ResetTimer()
	for i := range b.N {
		if err := todos.Put(b.Context(), fmt.Sprint("t", i), benchFields); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// BenchmarkRawLocalWrite: the same rows written directly (one INSERT into the outbox and
// one into the view, one transaction, fsync): the limit of the store.
func BenchmarkRawLocalWrite(b *testing.B) {
	c := benchClient(b, "http://127.0.0.1:1")
	fields, _ := json.Marshal(benchFields)
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprint("t", i)
		err := c.inTx(b.Context(), func(tx *stmtTx) error {
			if _, err := tx.ExecContext(b.Context(), `INSERT INTO tl_outbox (collection, doc_id, op, fields, hlc, base_version, created_at) VALUES ('todos', ?, 'put', ?, 'h', 0, 0)`, id, string(fields)); err != nil {
				return err
			}
			_, err := tx.ExecContext(b.Context(), `INSERT INTO tl_view (collection, doc_id, doc, version, pending) VALUES ('todos', ?, ?, 0, 1)`, id, string(fields))
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
}

// page1000 is a pulled page of 1,000 new documents.
func page1000() []byte {
	type change struct {
		Collection string         `json:"collection"`
		DocID      string         `json:"docId"`
		Op         string         `json:"op"`
		Version    int            `json:"version"`
		Seq        int            `json:"seq"`
		Doc        map[string]any `json:"doc"`
		Buckets    []string       `json:"buckets"`
	}
	var cs []change
	for i := range 1000 {
		cs = append(cs, change{"todos", fmt.Sprint("t", i), "upsert", 1, i + 1, benchFields, []string{"user:u1"}})
	}
	b, _ := json.Marshal(map[string]any{"protocol": 1, "hasMore": false, "cursor": "c1", "changes": cs})
	return b
}

// BenchmarkApplyPage1000: one pull of a page of 1,000 changes, from the HTTP answer to
// the view (decode, server copies, rebase, cursor: one transaction).
func BenchmarkApplyPage1000(b *testing.B) {
	body := page1000()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	c := benchClient(b, srv.URL)
	b.ResetTimer()
	for range b.N {
		if err := setMeta(b.Context(), c.db, "cursor", ""); err != nil {
			b.Fatal(err)
		}
		if err := c.Pull(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "changes/s")
}

// BenchmarkRawApplyPage1000: the same 1,000 documents written directly into the server
// copies and the view, with the cursor, in one transaction (JSON already encoded).
func BenchmarkRawApplyPage1000(b *testing.B) {
	c := benchClient(b, "http://127.0.0.1:1")
	doc, _ := json.Marshal(benchFields)
	b.ResetTimer()
	for range b.N {
		err := c.inTx(b.Context(), func(tx *stmtTx) error {
			for i := range 1000 {
				id := fmt.Sprint("t", i)
				if _, err := tx.ExecContext(b.Context(), `INSERT OR REPLACE INTO tl_server (collection, doc_id, doc, version, seq, buckets) VALUES ('todos', ?, ?, 1, ?, '["user:u1"]')`, id, string(doc), i+1); err != nil {
					return err
				}
				if _, err := tx.ExecContext(b.Context(), `INSERT OR REPLACE INTO tl_view (collection, doc_id, doc, version, pending) VALUES ('todos', ?, ?, 1, 0)`, id, string(doc)); err != nil {
					return err
				}
			}
			return setMeta(b.Context(), tx, "cursor", "c1")
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1000*float64(b.N)/b.Elapsed().Seconds(), "changes/s")
}

// pendingSizes are the outbox sizes of the write-cost benchmarks (docs/benchmarks.md).
var pendingSizes = []int{1, 100, 2000}

// withPending is a client whose counter document has n pending increments.
func withPending(b *testing.B, n int) *Client {
	c := benchClient(b, "http://127.0.0.1:1")
	err := c.Write(b.Context(), func(tx *WriteTx) error {
		for range n {
			if err := tx.Patch("counters", "n", IncInt("n", 1), Set("by", "bench")); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// dropNewest keeps the outbox at its size between iterations (outside the timing).
func dropNewest(b *testing.B, c *Client) {
	if _, err := c.db.ExecContext(b.Context(), `DELETE FROM tl_outbox WHERE id = (SELECT max(id) FROM tl_outbox)`); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPendingWrite: an increment of a document that already has 1, 100 or 2,000
// pending writes, through the SDK (HLC, outbox, the new mutation folded onto the view:
// one transaction, fsync). Its cost must not grow with the pending writes.
func BenchmarkPendingWrite(b *testing.B) {
	for _, n := range pendingSizes {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			c := withPending(b, n)
			todos := c.Collection("counters")
			for b.Loop() {
				if err := todos.Patch(b.Context(), "n", IncInt("n", 1)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				dropNewest(b, c)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRawPendingWrite: the same rows written directly: the outbox row, and the view
// row's counter raised by json_set, in one transaction with fsync (the limit).
func BenchmarkRawPendingWrite(b *testing.B) {
	for _, n := range pendingSizes {
		b.Run(fmt.Sprintf("pending=%d", n), func(b *testing.B) {
			c := withPending(b, n)
			for b.Loop() {
				err := c.inTx(b.Context(), func(tx *stmtTx) error {
					if _, err := tx.ExecContext(b.Context(), `INSERT INTO tl_outbox (collection, doc_id, op, fields, ops, hlc, base_version, created_at, size) VALUES ('counters', 'n', 'patch', '{}', '{"n":{"inc":1}}', 'h', 0, 0, 230)`); err != nil {
						return err
					}
					_, err := tx.ExecContext(b.Context(), `UPDATE tl_view SET doc = json_set(doc, '$.n', json_extract(doc, '$.n') + 1), pending = pending + 1 WHERE collection = 'counters' AND doc_id = 'n'`)
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				dropNewest(b, c)
				b.StartTimer()
			}
		})
	}
}
