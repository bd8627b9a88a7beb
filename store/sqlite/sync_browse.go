package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/tideline-dev/tideline/sync"
)

// syncBrowseSchema is migration 8: what the admin console reads of sync (sync.BrowseStore).
//
//   - sync_docs_browse: a collection's documents of one state (live or tombstone) in
//     sequence order, so that a page of the newest is a range of it and counting a
//     collection's documents reads the index alone.
//   - sync_client_health: per user and client id, when it last pushed and pulled (Unix
//     ms, 0: never) and what it runs; seen is the later of the two times, which the
//     quiet clients are found by.
//   - sync_nodes: per node, the streams it held at its last report (Unix ms).
var syncBrowseSchema = []string{
	`CREATE INDEX sync_docs_browse ON sync_docs (collection, deleted, seq)`,
	`CREATE TABLE sync_client_health (
		user_id   TEXT    NOT NULL,
		client_id TEXT    NOT NULL,
		sdk       TEXT    NOT NULL,
		protocol  INTEGER NOT NULL,
		last_push INTEGER NOT NULL,
		last_pull INTEGER NOT NULL,
		seen      INTEGER NOT NULL,
		PRIMARY KEY (user_id, client_id)
	) STRICT, WITHOUT ROWID`,
	`CREATE INDEX sync_client_health_seen ON sync_client_health (seen)`,
	`CREATE TABLE sync_nodes (
		node    TEXT    PRIMARY KEY,
		streams INTEGER NOT NULL,
		at      INTEGER NOT NULL
	) STRICT, WITHOUT ROWID`,
}

func (s syncStore) CountDocuments(ctx context.Context) ([]sync.DocumentCount, error) {
	rows, err := s.db.query(ctx, `SELECT collection, sum(deleted = 0), sum(deleted = 1) FROM sync_docs GROUP BY collection ORDER BY collection`)
	if err != nil {
		return nil, mapError(err, "count documents")
	}
	return collect(rows, func(row scanner) (sync.DocumentCount, error) {
		var n sync.DocumentCount
		return n, row.Scan(&n.Collection, &n.Live, &n.Deleted)
	}, "count documents")
}

const summaryColumns = `collection, scope, doc_id, owner, version, seq, deleted, updated_at`

// ListDocuments reads each state the query asks for newest first, a range of
// sync_docs_browse when it names a collection, and for every state merges the two.
func (s syncStore) ListDocuments(ctx context.Context, q sync.DocumentQuery) ([]sync.DocumentSummary, error) {
	limit := max(1, q.Limit)
	var sqlq string
	var args []any
	switch q.State {
	case sync.LiveDocs, sync.DeletedDocs:
		sqlq, args = documentsOf(q, q.State == sync.DeletedDocs, limit)
	default:
		live, liveArgs := documentsOf(q, false, limit)
		gone, goneArgs := documentsOf(q, true, limit)
		sqlq = `SELECT * FROM (` + live + `) UNION ALL SELECT * FROM (` + gone + `) ORDER BY seq DESC LIMIT ?`
		args = append(append(liveArgs, goneArgs...), limit)
	}
	rows, err := s.db.query(ctx, sqlq, args...)
	if err != nil {
		return nil, mapError(err, "list documents")
	}
	return collect(rows, func(row scanner) (sync.DocumentSummary, error) {
		var d sync.DocumentSummary
		var updated int64
		err := row.Scan(&d.Ref.Collection, &d.Ref.Scope, &d.Ref.ID, &d.Owner, &d.Version, &d.Seq, &d.Deleted, &updated)
		d.UpdatedAt = fromMillis(updated)
		return d, err
	}, "list documents")
}

// documentsOf is the query of q's documents that are tombstones or not, newest first.
func documentsOf(q sync.DocumentQuery, deleted bool, limit int) (string, []any) {
	var b strings.Builder
	b.WriteString(`SELECT ` + summaryColumns + ` FROM sync_docs WHERE deleted = ?`)
	args := []any{deleted}
	if q.Collection != "" {
		b.WriteString(` AND collection = ?`)
		args = append(args, q.Collection)
	}
	if q.Owner != "" {
		b.WriteString(` AND owner = ?`)
		args = append(args, q.Owner)
	}
	if q.IDPrefix != "" {
		b.WriteString(` AND substr(doc_id, 1, ?) = ?`)
		args = append(args, len(q.IDPrefix), q.IDPrefix)
	}
	if q.Before > 0 {
		b.WriteString(` AND seq < ?`)
		args = append(args, q.Before)
	}
	b.WriteString(` ORDER BY seq DESC LIMIT ?`)
	return b.String(), append(args, limit)
}

// RecordClient upserts the client's record and then keeps the user's
// sync.MaxClientsPerUser most recently seen, in one transaction.
func (s syncStore) RecordClient(ctx context.Context, a sync.ClientActivity) error {
	push, pull := orZero(a.LastPush), orZero(a.LastPull)
	return s.db.inTx(ctx, "record client", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_client_health (user_id, client_id, sdk, protocol, last_push, last_pull, seen)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET
				sdk = CASE WHEN excluded.sdk != '' THEN excluded.sdk ELSE sdk END,
				protocol = CASE WHEN excluded.protocol != 0 THEN excluded.protocol ELSE protocol END,
				last_push = max(last_push, excluded.last_push), last_pull = max(last_pull, excluded.last_pull),
				seen = max(seen, excluded.seen)`,
			a.UserID, a.ClientID, a.SDK, a.Protocol, push, pull, max(push, pull))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sync_client_health WHERE user_id = ? AND client_id IN (
			SELECT client_id FROM sync_client_health WHERE user_id = ? ORDER BY seen DESC, client_id LIMIT -1 OFFSET ?)`,
			a.UserID, a.UserID, sync.MaxClientsPerUser)
		return err
	})
}

// orZero is t in Unix ms, and 0 for the zero time (never).
func orZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return millis(t)
}

func fromZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return fromMillis(ms)
}

const clientColumns = `h.user_id, h.client_id, h.sdk, h.protocol, h.last_push, h.last_pull, COALESCE(c.high, 0)`

// clientsJoin joins each record with its client's mark, when the mark is the same user's.
const clientsJoin = ` FROM sync_client_health h LEFT JOIN sync_clients c ON c.client_id = h.client_id AND c.user_id = h.user_id`

func scanClient(row scanner) (sync.ClientActivity, error) {
	var a sync.ClientActivity
	var push, pull int64
	err := row.Scan(&a.UserID, &a.ClientID, &a.SDK, &a.Protocol, &push, &pull, &a.High)
	a.LastPush, a.LastPull = fromZero(push), fromZero(pull)
	return a, err
}

func (s syncStore) ListClients(ctx context.Context, userID string) ([]sync.ClientActivity, error) {
	rows, err := s.db.query(ctx, `SELECT `+clientColumns+clientsJoin+` WHERE h.user_id = ? ORDER BY h.seen DESC, h.client_id`, userID)
	if err != nil {
		return nil, mapError(err, "list clients")
	}
	return collect(rows, scanClient, "list clients")
}

func (s syncStore) ListQuietClients(ctx context.Context, before time.Time, limit int) ([]sync.ClientActivity, int, error) {
	var n int
	if err := s.db.queryRow(ctx, `SELECT count(*) FROM sync_client_health WHERE seen < ?`, millis(before)).Scan(&n); err != nil {
		return nil, 0, mapError(err, "count quiet clients")
	}
	rows, err := s.db.query(ctx, `SELECT `+clientColumns+clientsJoin+` WHERE h.seen < ? ORDER BY h.seen DESC, h.user_id, h.client_id LIMIT ?`,
		millis(before), max(1, limit))
	if err != nil {
		return nil, 0, mapError(err, "list quiet clients")
	}
	list, err := collect(rows, scanClient, "list quiet clients")
	return list, n, err
}

func (s syncStore) DeleteClients(ctx context.Context, userID string) error {
	_, err := s.db.write.ExecContext(ctx, `DELETE FROM sync_client_health WHERE user_id = ?`, userID)
	return mapError(err, "delete clients")
}

// RecordNode upserts the node's report unless it has a later one, and forgets the nodes
// silent for a day, in one transaction.
func (s syncStore) RecordNode(ctx context.Context, n sync.NodeStreams) error {
	return s.db.inTx(ctx, "record node", func(ctx context.Context, tx *sql.Tx, _ *DB) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_nodes (node, streams, at) VALUES (?, ?, ?)
			ON CONFLICT (node) DO UPDATE SET streams = excluded.streams, at = excluded.at WHERE excluded.at >= at`,
			n.Node, n.Streams, millis(n.At))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sync_nodes WHERE at < ?`, millis(n.At.Add(-24*time.Hour)))
		return err
	})
}

func (s syncStore) ListNodes(ctx context.Context, since time.Time) ([]sync.NodeStreams, error) {
	rows, err := s.db.query(ctx, `SELECT node, streams, at FROM sync_nodes WHERE at >= ? ORDER BY node`, millis(since))
	if err != nil {
		return nil, mapError(err, "list nodes")
	}
	return collect(rows, func(row scanner) (sync.NodeStreams, error) {
		var n sync.NodeStreams
		var at int64
		err := row.Scan(&n.Node, &n.Streams, &at)
		n.At = fromMillis(at)
		return n, err
	}, "list nodes")
}
