package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the prepared read statements kept: queries built per call (an IN
// list of n collections) have a few shapes, not an unbounded number.
const maxCachedStmts = 256

// stmtCache keeps prepared statements of the reader pool by their SQL. SQLite spends more
// time parsing a query than running a small one: a pull's scan, prepared once per
// connection and reused, costs a fraction of one parsed at every call (database/sql
// prepares a cached *sql.Stmt lazily on each connection that runs it).
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// query runs a read through the cache.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st, nil
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil || len(c.stmts) >= maxCachedStmts {
		for _, old := range c.stmts {
			old.Close()
		}
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}

// queryRow runs a one-row read through the cache.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.readStmt(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}
