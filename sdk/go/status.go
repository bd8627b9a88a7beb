package tideline

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
)

// Status is what the client knows of its sync (docs/sdk-core.md "Sync status").
type Status struct {
	Online     bool      // the last request reached the server
	Pending    int       // local writes not yet acknowledged
	LastSynced time.Time // the end of the last complete sync (zero: never, in this process)
	LastError  error     // the last sync's error, nil when it succeeded
	// SignedIn is false when the cache holds no session (never signed in, signed out, or
	// the session could not be refreshed): local reads and writes go on, sync waits.
	SignedIn bool
	// UserID is the user the cache belongs to ("" until a session with a known user).
	UserID string
	// Uploading and Downloading are true while a push or a pull is under way.
	Uploading, Downloading bool
	// Live is true while the realtime stream sends the changes itself (protocol 2: a
	// completed pull handed it over, and it has not poked or closed since).
	Live bool
	// HasSyncedOnce is true once a pull reached the end (hasMore false) for this cache:
	// the view holds everything the server had then (kept in the cache: tl_meta synced).
	HasSyncedOnce bool
	// Uploads is the number of attached files not uploaded yet (the upload queue).
	Uploads int
	// Initial is the progress of the first sync, until HasSyncedOnce.
	Initial Progress
}

// Progress counts what an initial sync has received so far. The protocol does not say how
// many changes remain, so it counts up (pages and changes) rather than to a total.
type Progress struct {
	Pages, Changes int
}

// Status returns the client's sync status. What it keeps in the cache (pending writes,
// the session, has-synced-once) is read again, so it includes what another process on
// the same cache did.
func (c *Client) Status() Status {
	c.refreshStatus(context.Background()) // on error, the last known values
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// refreshStatus reloads what the status reads from the cache (another process may have
// changed it).
func (c *Client) refreshStatus(ctx context.Context) error {
	var n int
	if err := c.db.QueryRowContext(ctx, core.Statement("outbox_count")).Scan(&n); err != nil {
		return err
	}
	var uploads int
	if err := c.db.QueryRowContext(ctx, core.Statement("attachments_count")).Scan(&uploads); err != nil {
		return err
	}
	vals := map[string]string{}
	for _, k := range []string{"user_id", "access_token", "synced"} {
		v, err := c.meta(ctx, k)
		if err != nil {
			return err
		}
		vals[k] = v
	}
	c.mu.Lock()
	c.status.Pending = n
	c.status.Uploads = uploads
	c.status.UserID = vals["user_id"]
	c.status.SignedIn = vals["access_token"] != ""
	c.status.HasSyncedOnce = vals["synced"] == "1"
	c.mu.Unlock()
	return nil
}

// setStatus changes the status with fn and tells the subscribers.
func (c *Client) setStatus(fn func(*Status)) {
	c.mu.Lock()
	fn(&c.status)
	st := c.status
	c.mu.Unlock()
	c.emit(Event{Status: &st})
}
