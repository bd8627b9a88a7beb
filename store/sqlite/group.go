package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// maxGroup bounds how many commits share one transaction: a larger group holds the
// writer longer and answers its first commit later.
const maxGroup = 256

// committer is group commit for sync commits: concurrent Commit calls run in one write
// transaction, each inside a savepoint of its own, and one COMMIT (one fsync of the WAL)
// makes all of them durable at once. Without it every single-mutation push paid a
// transaction and an fsync, and the writer connection, not the machine, was the limit.
//
// What each commit sees and does is what it would have seen and done alone: the commits
// of a group run one after the other in the order they arrived, on the one writer
// connection, each reading what the ones before it wrote, and each takes its sequence
// numbers in that order, so commit order is still sequence order. A commit that fails
// (its client id is another user's, a statement error) is rolled back to its savepoint
// and answers its error; the others go on. No commit is answered before the COMMIT: if
// the process dies first, none of the group is stored and none was acknowledged, so its
// clients send the same mutations again, and they apply once. If the COMMIT fails, every
// commit of the group answers that error.
//
// Leader and followers: the first caller with no group under way leads: it takes every
// commit queued (its own among them), runs them, and hands the lead to the first of the
// commits that queued meanwhile. No goroutine of its own, and an idle engine adds no wait:
// a commit alone is a group of one.
type committer struct {
	mu      sync.Mutex
	queue   []*groupCall
	leading bool
	// hook, set by tests only, is called at each stage: "queued" (n: the queue's length,
	// under the lock), "take" (before a leader takes the queue), "commit" (n: the group's
	// size, its writes done, before COMMIT); an error at "commit" fails the group as a
	// failed COMMIT would.
	hook func(stage string, n int) error
}

// Each commit of a group runs in this savepoint.
const (
	sqlSavepoint  = `SAVEPOINT group_call`
	sqlRollbackTo = `ROLLBACK TO group_call`
	sqlRelease    = `RELEASE group_call`
)

type groupCall struct {
	ctx  context.Context
	fn   func(context.Context, wtx) error
	err  error
	done chan bool // true: lead the next group; false: this call is done
}

// group runs fn in a write transaction shared with the concurrent calls of group, and
// returns once that transaction has committed (or failed). fn must leave the transaction
// usable when it returns an error (its work is rolled back to a savepoint).
func (db *DB) group(ctx context.Context, what string, fn func(context.Context, wtx) error) error {
	g := &db.committer
	call := &groupCall{ctx: ctx, fn: fn, done: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, call)
	if g.hook != nil {
		g.hook("queued", len(g.queue))
	}
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	// A follower waits even when its ctx ends: its commit may be running in a group, and
	// only the group's end says whether it was stored.
	for !lead {
		if lead = <-call.done; !lead {
			return mapError(call.err, what)
		}
	}
	db.lead(call)
	return mapError(call.err, what)
}

// lead runs one group: the queue as it is now (at most maxGroup), which starts with the
// leader's own call (a leader is the first queued: the lead goes to the queue's head),
// then hands the lead on.
func (db *DB) lead(leader *groupCall) {
	g := &db.committer
	if g.hook != nil {
		g.hook("take", 0)
	}
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	db.runGroup(batch)

	g.mu.Lock()
	var next *groupCall
	if len(g.queue) > 0 {
		next = g.queue[0]
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, c := range batch {
		if c != leader {
			c.done <- false
		}
	}
	if next != nil {
		next.done <- true
	}
}

// runGroup runs batch's calls in one transaction, each in a savepoint, and sets each
// call's err. The transaction's context is the leader's without its cancellation: a
// leader whose client went away must not fail the others' commits.
func (db *DB) runGroup(batch []*groupCall) {
	ctx := context.WithoutCancel(batch[0].ctx)
	fail := func(calls []*groupCall, err error) {
		for _, c := range calls {
			if c.err == nil {
				c.err = err
			}
		}
	}
	raw, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		fail(batch, err)
		return
	}
	tx := wtx{tx: raw, stmts: db.wstmts}
	var stored []*groupCall
	for _, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err // it went away before it ran: nothing of it is written
			continue
		}
		if _, err := tx.exec(ctx, sqlSavepoint); err != nil {
			_ = raw.Rollback()
			fail(batch, err)
			return
		}
		if err := c.fn(ctx, tx); err != nil {
			c.err = err
			if _, rerr := tx.exec(ctx, sqlRollbackTo); rerr != nil {
				// The error ended the transaction itself (SQLite rolls back on some I/O
				// errors): nothing of the group is stored.
				_ = raw.Rollback()
				fail(batch, errors.Join(err, rerr))
				return
			}
		} else {
			stored = append(stored, c)
		}
		if _, err := tx.exec(ctx, sqlRelease); err != nil {
			_ = raw.Rollback()
			fail(batch, err)
			return
		}
	}
	if h := db.committer.hook; h != nil {
		if err := h("commit", len(batch)); err != nil {
			_ = raw.Rollback()
			fail(stored, err)
			return
		}
	}
	if err := raw.Commit(); err != nil {
		fail(stored, err)
	}
}

// writeStmts are the statements a group runs, prepared once on the writer connection
// when the engine opens: SQLite spends more time parsing a small statement than running
// it, and the writer is the engine's one serial part.
var writeStmts = []string{sqlSavepoint, sqlRollbackTo, sqlRelease, sqlDocVersion, sqlNextSeq, sqlRaiseClient,
	sqlClaimClient, sqlClientOwner, sqlPutDoc, sqlDeleteDocBuckets, sqlPutDocBucket, sqlDeleteDocFiles, sqlPutDocFile}

// prepareWrites prepares writeStmts on the writer connection (while it is free: a
// statement prepared inside a transaction ends with it). One that does not prepare (a
// schema without its table: the migration tests open older schemas) is left out, and
// runs parsed, failing there as it would have here.
func (db *DB) prepareWrites(ctx context.Context) {
	db.wstmts = make(map[string]*sql.Stmt, len(writeStmts))
	for _, q := range writeStmts {
		if st, err := db.write.PrepareContext(ctx, q); err == nil {
			db.wstmts[q] = st
		}
	}
}

// wtx is a write transaction that runs the prepared statements of writeStmts
// (tx.StmtContext uses the one prepared on the writer connection) and parses others.
type wtx struct {
	tx    *sql.Tx
	stmts map[string]*sql.Stmt
}

func (w wtx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := w.stmts[query]; st != nil {
		return w.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return w.tx.ExecContext(ctx, query, args...)
}

func (w wtx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := w.stmts[query]; st != nil {
		return w.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return w.tx.QueryRowContext(ctx, query, args...)
}
