// Package tideline is the Go SDK of Tideline: an offline-first client that keeps a local
// SQLite cache of the user's documents, writes to it at once (visible immediately, kept
// across restarts) and syncs with the server when it can. It is the reference client: the
// cache's schema and statements are the shared client core (sdk/core), which every SDK
// runs unchanged, and it passes the core's conformance scenarios.
//
//	c, err := tideline.Open(ctx, "app.db", "https://api.example.com", tideline.Session(access, refresh))
//	todos := c.Collection("todos")
//	todos.Put(ctx, "t1", map[string]any{"title": "Buy milk", "done": false})
//	todos.Patch(ctx, "t1", tideline.Set("done", true), tideline.Inc("edits", 1))
//	c.Sync(ctx) // or c.Start(ctx) for a background syncer
package tideline

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
	"github.com/tideline-dev/tideline/sdk/go/internal/api"
	_ "modernc.org/sqlite"
)

// Options tune a client; zero fields take the defaults given.
type Options struct {
	// HTTPClient sends the requests (a client with a 30 s timeout).
	HTTPClient *http.Client
	// Collections is the subscription: the collections pulled (nil: all).
	Collections []string
	// PushBatch is how many mutations one push sends (500, the protocol's limit).
	PushBatch int
	// PullLimit is the most changes one pull asks for (500).
	PullLimit int
	// Now is the clock (time.Now); tests set it.
	Now func() time.Time
}

// Client is a local cache synced with a Tideline server. It is safe for concurrent use.
type Client struct {
	db     *sql.DB
	api    *api.ClientWithResponses
	server string // the server's base URL
	auth   Auth
	opts   Options
	id     string // the client id (tl_meta client_id)
	clock  *hlcClock

	syncMu sync.Mutex // one sync at a time

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared statements, by SQL

	mu        sync.Mutex
	listeners map[int]func(Event)
	nextL     int
	status    Status
}

// Open opens (or creates) the local database at path and returns a client of the server
// at serverURL ("https://api.example.com"). Nothing is sent until Sync or Start: a client
// works offline from its first call.
func Open(ctx context.Context, path, serverURL string, auth Auth, opts ...Options) (*Client, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.PushBatch <= 0 || o.PushBatch > 500 {
		o.PushBatch = 500
	}
	if o.PullLimit <= 0 {
		o.PullLimit = 500
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: transactions are serialised, reads see writes
	if _, err := db.ExecContext(ctx, core.Schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("tideline: open %s: %w", path, err)
	}
	client, err := api.NewClientWithResponses(strings.TrimRight(serverURL, "/"), api.WithHTTPClient(o.HTTPClient))
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Client{db: db, api: client, server: strings.TrimRight(serverURL, "/"), auth: auth, opts: o, listeners: map[int]func(Event){}}
	if err := c.prepare(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("tideline: open %s: %w", path, err)
	}
	if c.id, err = c.meta(ctx, "client_id"); err != nil {
		db.Close()
		return nil, err
	}
	if c.id == "" {
		b := make([]byte, 12)
		rand.Read(b)
		c.id = "go-" + hex.EncodeToString(b)
		if err := c.setMeta(ctx, c.db, "client_id", c.id); err != nil {
			db.Close()
			return nil, err
		}
	}
	last, err := c.meta(ctx, "hlc")
	if err != nil {
		db.Close()
		return nil, err
	}
	c.clock = newHLC(c.id, last, o.Now)
	if err := c.refreshStatus(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the local database.
func (c *Client) Close() error {
	c.stmtMu.Lock()
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
	c.stmtMu.Unlock()
	return c.db.Close()
}

// ClientID is the install's id, generated once and kept in the local database.
func (c *Client) ClientID() string { return c.id }

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (c *Client) meta(ctx context.Context, key string) (string, error) {
	return getMeta(ctx, c.db, key)
}

// getMeta reads a tl_meta value through db ("" when absent).
func getMeta(ctx context.Context, db execer, key string) (string, error) {
	var v string
	err := db.QueryRowContext(ctx, core.Statement("get_meta"), sql.Named("key", key)).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func (c *Client) setMeta(ctx context.Context, db execer, key, value string) error {
	_, err := db.ExecContext(ctx, core.Statement("set_meta"), sql.Named("key", key), sql.Named("value", value))
	return err
}

// inTx runs fn in one transaction of the local database.
func (c *Client) inTx(ctx context.Context, fn func(tx *stmtTx) error) error {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	st := &stmtTx{Tx: tx, c: c, stmts: map[string]*sql.Stmt{}}
	defer st.close()
	if err := fn(st); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// stmtTx is a transaction that prepares each statement once: a page of 1,000 changes runs
// the same few statements thousands of times.
type stmtTx struct {
	*sql.Tx
	c     *Client
	stmts map[string]*sql.Stmt
}

func (t *stmtTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	t.c.stmtMu.Lock()
	prepared, ok := t.c.stmts[query]
	t.c.stmtMu.Unlock()
	var s *sql.Stmt
	if ok {
		s = t.Tx.StmtContext(ctx, prepared) // the one connection's statement, parsed at Open
	} else {
		var err error
		if s, err = t.Tx.PrepareContext(ctx, query); err != nil {
			return nil, err
		}
	}
	t.stmts[query] = s
	return s, nil
}

// prepare parses the core's statements once, at Open (outside any transaction: the
// database has one connection), so that SQLite does not parse them again in every
// transaction (the fold is a large statement).
func (c *Client) prepare(ctx context.Context) error {
	c.stmtMu.Lock()
	defer c.stmtMu.Unlock()
	c.stmts = map[string]*sql.Stmt{}
	for _, q := range core.Statements {
		s, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.stmts[q] = s
	}
	return nil
}

func (t *stmtTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t *stmtTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (t *stmtTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return t.Tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return s.QueryRowContext(ctx, args...)
}

func (t *stmtTx) close() {
	for _, s := range t.stmts {
		s.Close()
	}
}

// Status is what the client knows of its sync.
type Status struct {
	Online     bool      // the last request reached the server
	Pending    int       // local writes not yet acknowledged
	LastSynced time.Time // the end of the last complete sync (zero: never)
	LastError  error     // the last sync's error, nil when it succeeded
}

// Status returns the client's sync status.
func (c *Client) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

func (c *Client) refreshStatus(ctx context.Context) error {
	var n int
	if err := c.db.QueryRowContext(ctx, core.Statement("outbox_count")).Scan(&n); err != nil {
		return err
	}
	c.mu.Lock()
	c.status.Pending = n
	c.mu.Unlock()
	return nil
}

// Event is something the app may want to know: a receipt for one of its writes (every
// receipt, including merges, conflicts and rejections: nothing is dropped silently),
// a change of documents, or a status change.
type Event struct {
	// Receipt is set for the receipt of a local write.
	Receipt *Receipt
	// Changed lists the documents whose view changed ("collection/docId").
	Changed []string
	// Status is set when the sync status changed.
	Status *Status
}

// Subscribe calls fn for every event until the returned function is called. fn runs on
// the goroutine that made the change and must not block.
func (c *Client) Subscribe(fn func(Event)) (cancel func()) {
	c.mu.Lock()
	id := c.nextL
	c.nextL++
	c.listeners[id] = fn
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.listeners, id)
		c.mu.Unlock()
	}
}

func (c *Client) emit(e Event) {
	c.mu.Lock()
	fns := make([]func(Event), 0, len(c.listeners))
	for _, fn := range c.listeners {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn(e)
	}
}
