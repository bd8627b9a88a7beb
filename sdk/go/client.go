// Package tideline is the Go SDK of Tideline: an offline-first client that keeps a local
// SQLite cache of the user's documents, writes to it at once (visible immediately, kept
// across restarts) and syncs with the server when it can. It is the reference client of
// the client core (sdk/core, specified in docs/sdk-core.md): the cache's migrations and
// statements are the core's, run unchanged, and it passes the core's conformance scenarios.
//
//	c, err := tideline.Open(ctx, "app.db", "https://api.example.com", nil)
//	err = c.SignIn(ctx, "ada@example.com", password) // the session is kept in the cache
//	todos := c.Collection("todos")
//	todos.Put(ctx, "t1", map[string]any{"title": "Buy milk", "done": false})
//	todos.Patch(ctx, "t1", tideline.Set("done", true), tideline.Inc("edits", 1))
//	c.Sync(ctx) // or c.Start(ctx, backoff) for a background syncer
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
	// PushBatch is the most mutations one push sends (core.json: 500, the protocol's limit).
	PushBatch int
	// PushBytes is the byte budget of one push (core.json: 512 KiB, half the server's
	// default body limit), counted as docs/sdk-core.md "Batching" says.
	PushBytes int
	// PullLimit is the most changes one pull asks for (core.json: 500).
	PullLimit int
	// Now is the clock (time.Now); tests set it.
	Now func() time.Time
	// ClearOtherUser lets Open clear a cache that belongs to another user than the
	// session's (its documents and unsent writes are lost) instead of failing with
	// ErrOtherUser.
	ClearOtherUser bool
	// Driver is the database/sql driver of the cache (nil: modernc.org/sqlite).
	Driver *Driver
	// ClientID is the install's id when the cache has none yet (nil: a random one).
	// Conformance scenarios set it; apps leave it.
	ClientID string
	// Protocol is the sync protocol version the client speaks (0: 2, the newest; 1 for
	// a server that only speaks 1). With 2, a connected client gets the changes on its
	// stream and does not pull while the stream is live (docs/sync-protocol.md).
	Protocol int
	// FilesDir is where attached and downloaded files are kept ("": the cache's path
	// with ".files" appended). Paths in the cache are relative to it.
	FilesDir string
	// CacheBytes bounds the download cache: beyond it the least recently opened files
	// that are not pinned are removed (0: core.json's 256 MiB).
	CacheBytes int64
}

// Driver is a database/sql driver for the cache: its registered name and how a file path
// becomes its data source name, with WAL, synchronous=FULL, a busy timeout and
// transactions that begin IMMEDIATE (docs/sdk-core.md "Opening a cache").
type Driver struct {
	Name string
	DSN  func(path string) string
}

// ModerncDriver is modernc.org/sqlite (pure Go), the default.
var ModerncDriver = &Driver{Name: "sqlite", DSN: func(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)&_txlock=immediate"
}}

// Client is a local cache synced with a Tideline server. It is safe for concurrent use,
// and several clients (in several processes) may open the same cache file.
type Client struct {
	db     *sql.DB
	api    *api.ClientWithResponses
	server string // the server's base URL
	opts   Options
	id     string // the client id (tl_meta client_id)

	onRefresh func(access, refresh string)

	syncMu   sync.Mutex // one sync at a time, and one stream page at a time between them
	uploadMu sync.Mutex // one run of the upload queue at a time
	authMu   sync.Mutex // one refresh at a time

	streamMu sync.Mutex
	streamID string // protocol 2: the open stream's id, named by pulls ("": none)
	live     bool   // the stream took over from the last completed pull, and has not poked since

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared statements, by SQL

	mu        sync.Mutex
	listeners map[int]func(Event)
	nextL     int
	status    Status
}

// ErrOtherUser is returned when a cache that belongs to one user is opened (or signed in)
// with another user's session: the first user's documents and unsent writes must not be
// shown to, or sent as, the second. Open with Options.ClearOtherUser, or SignOut(ctx,
// true) first, to clear it.
var ErrOtherUser = errors.New("tideline: the local cache belongs to another user")

// ErrSQLite is returned by Open when the SQLite library cannot run the core.
var ErrSQLite = errors.New("tideline: unsupported SQLite")

// Open opens (or creates) the local database at path and returns a client of the server
// at serverURL ("https://api.example.com"). auth is the session to use (nil: the one kept
// in the cache by an earlier SignIn, or none: signed out). Nothing is sent until Sync or
// Start: a client works offline from its first call.
func Open(ctx context.Context, path, serverURL string, auth Auth, opts ...Options) (*Client, error) {
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if o.PushBatch <= 0 || o.PushBatch > core.Settings.Push.MaxMutations {
		o.PushBatch = core.Settings.Push.MaxMutations
	}
	if o.PushBytes <= 0 {
		o.PushBytes = core.Settings.Push.MaxBytes
	}
	if o.PullLimit <= 0 {
		o.PullLimit = core.Settings.Pull.Limit
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Protocol <= 0 || o.Protocol > 2 {
		o.Protocol = 2
	}
	if o.Driver == nil {
		o.Driver = ModerncDriver
	}
	if o.FilesDir == "" {
		o.FilesDir = path + ".files"
	}
	if o.CacheBytes <= 0 {
		o.CacheBytes = core.Settings.Files.CacheBytes
	}
	db, err := sql.Open(o.Driver.Name, o.Driver.DSN(path))
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1) // one connection: transactions are serialised, reads see writes
	base := strings.TrimRight(serverURL, "/")
	client, err := api.NewClientWithResponses(base, api.WithHTTPClient(o.HTTPClient))
	if err != nil {
		db.Close()
		return nil, err
	}
	c := &Client{db: db, api: client, server: base, opts: o, listeners: map[int]func(Event){}}
	if err := c.open(ctx, auth); err != nil {
		db.Close()
		return nil, fmt.Errorf("tideline: open %s: %w", path, err)
	}
	return c, nil
}

// open runs the procedure "open" of docs/sdk-core.md.
func (c *Client) open(ctx context.Context, auth Auth) error {
	var version, probe string
	if err := c.db.QueryRowContext(ctx, core.Statement("sqlite_check")).Scan(&version, &probe); err != nil {
		return fmt.Errorf("%w: SQLite without the JSON functions the core needs (%v)", ErrSQLite, err)
	}
	if !core.VersionAtLeast(version, core.Settings.SQLite.Minimum) {
		return fmt.Errorf("%w: SQLite %s is older than the core's minimum %s", ErrSQLite, version, core.Settings.SQLite.Minimum)
	}
	if err := c.migrate(ctx); err != nil {
		return err
	}
	if err := c.prepare(ctx); err != nil {
		return err
	}
	err := c.inTx(ctx, func(tx *stmtTx) error {
		id, err := getMeta(ctx, tx, "client_id")
		if err != nil || id != "" {
			c.id = id
			return err
		}
		return c.newClientID(ctx, tx)
	})
	if err != nil {
		return err
	}
	if auth != nil {
		s := auth.session()
		c.onRefresh = s.onRefresh
		if err := c.bindSession(ctx, s, c.opts.ClearOtherUser); err != nil {
			return err
		}
	}
	if err := c.expirePartials(ctx); err != nil {
		return err
	}
	if err := c.sweepFiles(ctx); err != nil {
		return err
	}
	return c.refreshStatus(ctx)
}

// migrate brings the cache to core.Settings.CacheVersion, one migration per transaction
// with its PRAGMA user_version (re-read inside it: another process may have migrated).
func (c *Client) migrate(ctx context.Context) error {
	for {
		done, err := c.migrateOne(ctx)
		if err != nil || done {
			return err
		}
	}
}

func (c *Client) migrateOne(ctx context.Context) (done bool, err error) {
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return false, err
	}
	switch {
	case v > len(core.Migrations):
		return false, fmt.Errorf("the cache is version %d, written by a newer SDK (this one knows version %d)", v, len(core.Migrations))
	case v == len(core.Migrations):
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, core.Migrations[v]); err != nil {
		return false, fmt.Errorf("migration %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// newClientID gives the cache a new client id (a new install, or a cleared cache: the
// server binds a client id to the first user who pushes with it).
func (c *Client) newClientID(ctx context.Context, tx execer) error {
	id := c.opts.ClientID
	if id == "" || c.id != "" {
		b := make([]byte, 12)
		rand.Read(b)
		id = "go-" + hex.EncodeToString(b)
	}
	if err := setMeta(ctx, tx, "client_id", id); err != nil {
		return err
	}
	c.id = id
	return nil
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

// ClientID is the install's id, generated once and kept in the local database (a new one
// after Clear).
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

// setMeta writes a tl_meta value ("" deletes it).
func setMeta(ctx context.Context, db execer, key, value string) error {
	var err error
	if value == "" {
		_, err = db.ExecContext(ctx, core.Statement("delete_meta"), sql.Named("key", key))
	} else {
		_, err = db.ExecContext(ctx, core.Statement("set_meta"), sql.Named("key", key), sql.Named("value", value))
	}
	return err
}

// inTx runs fn in one transaction of the local database (BEGIN IMMEDIATE: the driver's
// DSN says so, so that a read-then-write procedure holds the write lock from its start
// even when another process shares the file).
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
// transaction.
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

// Event is something the app may want to know: a receipt for one of its writes (every
// receipt, including merges, conflicts and rejections: nothing is dropped silently),
// a change of documents, or a status change.
type Event struct {
	// Receipt is set for the receipt of a local write.
	Receipt *Receipt
	// Changed lists the documents whose view changed ("collection/docId").
	Changed []string
	// Local is true when Changed comes from the app's own writes (not a sync).
	Local bool
	// Status is set when the sync status changed.
	Status *Status
	// Attachment is the local id of a file Attach just queued for upload.
	Attachment string
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
