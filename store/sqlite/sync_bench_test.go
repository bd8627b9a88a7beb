package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

// Sync benchmarks: the service on the embedded engine beside the same statements run
// directly on SQLite (the limit). See docs/benchmarks.md.

func benchDB(b *testing.B) (*DB, *datasync.Service) {
	b.Helper()
	db, err := Open(b.Context(), b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	svc, err := datasync.New(b.Context(), db.Sync(), datasync.Config{Secrets: db.Secrets()})
	if err != nil {
		b.Fatal(err)
	}
	return db, svc
}

func rawDB(b *testing.B, db *DB) *sql.DB {
	b.Helper()
	raw, err := sql.Open("sqlite", dsn(filepath.Join(filepath.Dir(db.path), FileName), false))
	if err != nil {
		b.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	b.Cleanup(func() { raw.Close() })
	return raw
}

var benchFields = map[string]any{"title": "Buy milk and bread", "done": false, "priority": int64(3), "tags": []any{"home", "errand"}}

func BenchmarkPush(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			_, svc := benchDB(b)
			user := tideline.NewID()
			id, n := int64(0), 0
			for b.Loop() {
				muts := make([]datasync.Mutation, batch)
				for i := range muts {
					id++
					muts[i] = datasync.Mutation{ID: id, Collection: "todos", DocID: fmt.Sprint("t", n), Op: "put", Fields: benchFields}
					n++
				}
				if _, err := svc.Push(b.Context(), datasync.Caller{UserID: user}, "bench", muts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mutations/s")
		})
	}
}

// BenchmarkPushUpdates is BenchmarkPush on documents that exist: each batch puts the same
// 100 documents again (their references to files are deleted and written anew with them:
// docs/benchmarks.md, "Sync").
func BenchmarkPushUpdates(b *testing.B) {
	const docs = 100
	_, svc := benchDB(b)
	user := tideline.NewID()
	id, n := int64(0), 0
	push := func() {
		muts := make([]datasync.Mutation, docs)
		for i := range muts {
			id++
			muts[i] = datasync.Mutation{ID: id, Collection: "todos", DocID: fmt.Sprint("t", i), Op: "put", Fields: benchFields}
		}
		if _, err := svc.Push(b.Context(), datasync.Caller{UserID: user}, "bench", muts); err != nil {
			b.Fatal(err)
		}
	}
	push() // they exist
	for b.Loop() {
		push()
		n += docs
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mutations/s")
}

// BenchmarkRawSQLitePush writes what a push of new documents writes (read the version,
// take a sequence number, write the document and its bucket entry, raise the client's mark),
// one transaction per batch, with the JSON already encoded.
func BenchmarkRawSQLitePush(b *testing.B) {
	for _, batch := range []int{1, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			db, _ := benchDB(b)
			raw := rawDB(b, db)
			fields, _ := json.Marshal(benchFields)
			user := tideline.NewID()
			n := 0
			for b.Loop() {
				tx, err := raw.Begin()
				if err != nil {
					b.Fatal(err)
				}
				for range batch {
					id := fmt.Sprint("t", n)
					n++
					var v int64
					if err := tx.QueryRow(`SELECT version FROM sync_docs WHERE collection = 'todos' AND scope = ? AND doc_id = ?`, user, id).Scan(&v); err != sql.ErrNoRows {
						b.Fatal(err)
					}
					var seq int64
					if err := tx.QueryRow(`UPDATE sync_sequence SET value = value + 1 WHERE id = 1 RETURNING value`).Scan(&seq); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.Exec(`INSERT INTO sync_docs (`+docColumns+`) VALUES ('todos', ?, ?, ?, 1, ?, 0, ?, '{}', ?, '', 0, 0)`, user, id, user, seq, string(fields), "user:"+user); err != nil {
						b.Fatal(err)
					}
					if _, err := tx.Exec(`INSERT INTO sync_doc_buckets (bucket, seq, collection, scope, doc_id, deleted, member) VALUES (?, ?, 'todos', ?, ?, 0, 1)`, "user:"+user, seq, user, id); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := tx.Exec(`INSERT INTO sync_clients (client_id, user_id, high) VALUES ('bench', ?, ?) ON CONFLICT (client_id) DO UPDATE SET high = excluded.high`, user, n); err != nil {
					b.Fatal(err)
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "mutations/s")
		})
	}
}

// populate writes n documents of user through the store, in commits of 500.
func populate(b *testing.B, db *DB, user string, n int) {
	b.Helper()
	store := db.Sync()
	for start := 0; start < n; start += 500 {
		var writes []datasync.Write
		for i := start; i < min(n, start+500); i++ {
			writes = append(writes, datasync.Write{Doc: datasync.Document{
				Ref: datasync.DocRef{Collection: "todos", Scope: user, ID: fmt.Sprint("t", i)}, Owner: user, Version: 1,
				Fields: benchFields, Buckets: []string{datasync.UserBucket(user)},
			}})
		}
		if _, err := store.Commit(context.Background(), datasync.Commit{Writes: writes}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPull(b *testing.B) {
	for _, page := range []int{100, 1000} {
		b.Run(fmt.Sprint("page=", page), func(b *testing.B) {
			db, svc := benchDB(b)
			user := tideline.NewID()
			populate(b, db, user, 20_000)
			cursor, n := "", 0
			for b.Loop() {
				p, err := svc.Pull(b.Context(), datasync.Caller{UserID: user}, datasync.PullRequest{Cursor: cursor, Limit: page, Fresh: cursor == ""})
				if err != nil {
					b.Fatal(err)
				}
				n += len(p.Changes)
				cursor = p.Cursor
				if !p.HasMore {
					cursor = "" // start over
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

// BenchmarkRawSQLitePull reads what a pull reads: a bucket's next rows joined to their
// documents, decoding each document's JSON.
func BenchmarkRawSQLitePull(b *testing.B) {
	for _, page := range []int{100, 1000} {
		b.Run(fmt.Sprint("page=", page), func(b *testing.B) {
			db, _ := benchDB(b)
			user := tideline.NewID()
			populate(b, db, user, 20_000)
			var after int64
			n := 0
			for b.Loop() {
				got := rawPage(b, db.read, "user:"+user, after, page)
				n += len(got)
				after = 0
				if len(got) == page {
					after = got[len(got)-1]
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "changes/s")
		})
	}
}

func rawPage(b *testing.B, read *sql.DB, bucket string, after int64, limit int) []int64 {
	rows, err := read.Query(`SELECT d.doc_id, d.seq, d.fields FROM sync_doc_buckets bk JOIN sync_docs d
		ON d.collection = bk.collection AND d.scope = bk.scope AND d.doc_id = bk.doc_id
		WHERE bk.bucket = ? AND bk.seq > ? ORDER BY bk.seq LIMIT ?`, bucket, after, limit)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var id, fields string
		var seq int64
		if err := rows.Scan(&id, &seq, &fields); err != nil {
			b.Fatal(err)
		}
		var m map[string]any
		if err := decodeJSON(fields, &m); err != nil {
			b.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

// BenchmarkInitialSync100k pulls 100,000 documents to one new device in pages of 1,000;
// its raw twin reads the same pages directly.
func BenchmarkInitialSync100k(b *testing.B) {
	db, svc := benchDB(b)
	user := tideline.NewID()
	populate(b, db, user, 100_000)
	b.Run("service", func(b *testing.B) {
		for b.Loop() {
			cursor, n := "", 0
			for {
				p, err := svc.Pull(b.Context(), datasync.Caller{UserID: user}, datasync.PullRequest{Cursor: cursor, Limit: 1000, Fresh: cursor == ""})
				if err != nil {
					b.Fatal(err)
				}
				n, cursor = n+len(p.Changes), p.Cursor
				if !p.HasMore {
					break
				}
			}
			if n != 100_000 {
				b.Fatalf("synced %d documents", n)
			}
		}
	})
	b.Run("raw", func(b *testing.B) {
		for b.Loop() {
			var after int64
			n := 0
			for {
				got := rawPage(b, db.read, datasync.UserBucket(user), after, 1000)
				n += len(got)
				if len(got) < 1000 {
					break
				}
				after = got[len(got)-1]
			}
			if n != 100_000 {
				b.Fatalf("read %d documents", n)
			}
		}
	})
}
