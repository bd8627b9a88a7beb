package sqlite_test

import (
	"database/sql"
	"fmt"
	"net/url"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

// BenchmarkLoadMixRawSQLite is the limit of the storage under the load test's mix
// (docs/benchmarks.md, "Load test"): the same per-write work done directly on a SQLite
// file through database/sql, with no Tideline code, in one goroutine (the node under load
// had about one core).
//
// Per write, in one transaction on the one writer connection: read the document (as the
// merge needs it), take the next number of a sequence, upsert the document (a put
// replaces its fields, a patch increments "count" in SQL with json_set), and replace its
// change-log row (one row per bucket and document, keyed by sequence number, as a pull
// reads it). Then the pulls the write causes, pullsPerWrite on average: a device of the
// written user reads its bucket's changes after its cursor joined to the documents (a
// page of at most 100), on a pool of read-only connections, and moves its cursor.
// Statements are prepared once; the pragmas are the server's (WAL, synchronous=FULL,
// busy_timeout, BEGIN IMMEDIATE for writes).
//
// Not included: HTTP, authentication, JSON request and response encoding, the CRDT merge
// (per-field clocks and operation logs), mutation ids and the client's high mark, the
// cursor's signature, the watermark, and the other buckets (authenticated, public) a
// server pull scans beside the user's.
func BenchmarkLoadMixRawSQLite(b *testing.B) {
	// pulls per write: 0 (writes alone); 6.0 and 7.3, what the load test measured at 150 and
	// 100 writes/s (905 and 729 pulls/s) with protocol 1; 1.0 for protocol 2, where the
	// polling devices make 0.3 to 0.5 pulls per write and the hub reads each write's
	// bucket once for every stream (counted here as one more pull).
	for _, ppw := range []float64{0, 1.0, 6.0, 7.3} {
		b.Run(fmt.Sprintf("pullsPerWrite=%.1f", ppw), func(b *testing.B) {
			m := openLoadMix(b)
			for u := range mixUsers { // every document exists, as after a load test's first seconds
				for d := range mixDocsPerUser {
					m.write(b, u, d, true)
				}
			}
			var writes, pulls, changes int
			owed := 0.0
			for b.Loop() {
				u, d := writes%mixUsers, (writes/mixUsers)%mixDocsPerUser
				m.write(b, u, d, writes%10 < 6) // 60% puts, 40% patches
				writes++
				for owed += ppw; owed >= 1; owed-- {
					changes += m.pull(b, u)
					pulls++
				}
			}
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(writes)/secs, "writes/s")
			if pulls > 0 {
				b.ReportMetric(float64(pulls)/secs, "pulls/s")
				b.ReportMetric(float64(changes)/float64(pulls), "changes/pull")
			}
		})
	}
}

// The load test's shape: 100 users of 10 devices, 10 documents per user.
const (
	mixUsers          = 100
	mixDevicesPerUser = 10
	mixDocsPerUser    = 10
	mixPage           = 100
)

var loadMixSchema = []string{
	`CREATE TABLE docs (
		collection TEXT    NOT NULL,
		scope      TEXT    NOT NULL,
		doc_id     TEXT    NOT NULL,
		version    INTEGER NOT NULL,
		seq        INTEGER NOT NULL,
		fields     TEXT    NOT NULL,
		PRIMARY KEY (collection, scope, doc_id)
	) STRICT`,
	`CREATE TABLE changes (
		bucket     TEXT    NOT NULL,
		seq        INTEGER NOT NULL,
		collection TEXT    NOT NULL,
		scope      TEXT    NOT NULL,
		doc_id     TEXT    NOT NULL,
		PRIMARY KEY (bucket, seq)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX changes_doc ON changes (collection, scope, doc_id)`,
	`CREATE TABLE sequence (id INTEGER PRIMARY KEY, value INTEGER NOT NULL) STRICT`,
	`INSERT INTO sequence (id, value) VALUES (1, 0)`,
}

type loadMix struct {
	writer, reader                      *sql.DB
	readDoc, nextSeq, put, patch, unlog *sql.Stmt
	relog, scan                         *sql.Stmt
	cursors                             [mixUsers][mixDevicesPerUser]int64
	nextDevice                          [mixUsers]int
	n                                   int64
}

func loadMixDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "mmap_size(1073741824)") // the server's (db.go)
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

func openLoadMix(b *testing.B) *loadMix {
	b.Helper()
	path := filepath.Join(b.TempDir(), "loadmix.db")
	m := &loadMix{}
	var err error
	if m.writer, err = sql.Open("sqlite", loadMixDSN(path, false)); err != nil {
		b.Fatal(err)
	}
	m.writer.SetMaxOpenConns(1)
	b.Cleanup(func() { m.writer.Close() })
	for _, s := range loadMixSchema {
		if _, err := m.writer.Exec(s); err != nil {
			b.Fatal(err)
		}
	}
	if m.reader, err = sql.Open("sqlite", loadMixDSN(path, true)); err != nil {
		b.Fatal(err)
	}
	m.reader.SetMaxOpenConns(4)
	m.reader.SetMaxIdleConns(4)
	b.Cleanup(func() { m.reader.Close() })
	prep := func(db *sql.DB, q string) *sql.Stmt {
		s, err := db.Prepare(q)
		if err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	}
	m.readDoc = prep(m.writer, `SELECT version, fields FROM docs WHERE collection = 'loadgen' AND scope = ? AND doc_id = ?`)
	m.nextSeq = prep(m.writer, `UPDATE sequence SET value = value + 1 WHERE id = 1 RETURNING value`)
	m.put = prep(m.writer, `INSERT INTO docs (collection, scope, doc_id, version, seq, fields) VALUES ('loadgen', ?, ?, 1, ?, ?)
		ON CONFLICT (collection, scope, doc_id) DO UPDATE SET version = version + 1, seq = excluded.seq, fields = excluded.fields`)
	m.patch = prep(m.writer, `INSERT INTO docs (collection, scope, doc_id, version, seq, fields) VALUES ('loadgen', ?1, ?2, 1, ?3, json_object('count', 1, 'lg_w', ?4, 'lg_t', ?5, 'lg_d', ?6))
		ON CONFLICT (collection, scope, doc_id) DO UPDATE SET version = version + 1, seq = excluded.seq,
		fields = json_set(fields, '$.count', coalesce(json_extract(fields, '$.count'), 0) + 1, '$.lg_w', ?4, '$.lg_t', ?5, '$.lg_d', ?6)`)
	m.unlog = prep(m.writer, `DELETE FROM changes WHERE collection = 'loadgen' AND scope = ? AND doc_id = ?`)
	m.relog = prep(m.writer, `INSERT INTO changes (bucket, seq, collection, scope, doc_id) VALUES (?, ?, 'loadgen', ?, ?)`)
	m.scan = prep(m.reader, `SELECT c.seq, c.doc_id, d.version, d.fields FROM changes c JOIN docs d
		ON d.collection = c.collection AND d.scope = c.scope AND d.doc_id = c.doc_id
		WHERE c.bucket = ? AND c.seq > ? ORDER BY c.seq LIMIT `+fmt.Sprint(mixPage))
	return m
}

// write writes document doc of user u: a put, or a patch that increments its count.
func (m *loadMix) write(b *testing.B, u, doc int, put bool) {
	m.n++
	user, docID := fmt.Sprintf("u%03d", u), fmt.Sprintf("d%d", doc)
	writeID, device := fmt.Sprintf("%d-%d", u*mixDevicesPerUser, m.n), u*mixDevicesPerUser
	tx, err := m.writer.Begin()
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	var version int64
	var fields string
	if err := tx.Stmt(m.readDoc).QueryRow(user, docID).Scan(&version, &fields); err != nil && err != sql.ErrNoRows {
		b.Fatal(err)
	}
	var seq int64
	if err := tx.Stmt(m.nextSeq).QueryRow().Scan(&seq); err != nil {
		b.Fatal(err)
	}
	if put {
		doc := fmt.Sprintf(`{"title":"load test document %d","done":%t,"lg_w":%q,"lg_t":%d,"lg_d":%d}`, m.n, m.n%2 == 0, writeID, 1767225600000000000+m.n, device)
		_, err = tx.Stmt(m.put).Exec(user, docID, seq, doc)
	} else {
		_, err = tx.Stmt(m.patch).Exec(user, docID, seq, writeID, 1767225600000000000+m.n, device)
	}
	if err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Stmt(m.unlog).Exec(user, docID); err != nil {
		b.Fatal(err)
	}
	if _, err := tx.Stmt(m.relog).Exec("user:"+user, seq, user, docID); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

// pull reads the next page of user u's bucket for the next of its devices, and returns
// how many changes it held.
func (m *loadMix) pull(b *testing.B, u int) int {
	dev := m.nextDevice[u]
	m.nextDevice[u] = (dev + 1) % mixDevicesPerUser
	rows, err := m.scan.Query(fmt.Sprintf("user:u%03d", u), m.cursors[u][dev])
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var seq, version int64
		var docID, fields string
		if err := rows.Scan(&seq, &docID, &version, &fields); err != nil {
			b.Fatal(err)
		}
		m.cursors[u][dev] = seq
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}
