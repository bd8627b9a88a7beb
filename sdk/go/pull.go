package tideline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/tideline-dev/tideline/sdk/core"
	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// pull is the procedure "pull": pages until the server has nothing more; each page and
// its cursor are applied in one transaction, so an app killed midway pulls that page
// again.
func (c *Client) pull(ctx context.Context) error {
	c.setStatus(func(s *Status) { s.Downloading = true })
	for {
		more, err := c.pullPage(ctx)
		if errors.Is(err, errInvalidCursor) {
			// The server no longer knows the cursor (another server, a restored backup):
			// sync from the start. Local documents are marked and stay until the end of
			// that sync, which drops those not re-sent; pending writes are kept.
			err := c.inTx(ctx, func(tx *stmtTx) error {
				if _, err := tx.ExecContext(ctx, core.Statement("server_mark_all")); err != nil {
					return err
				}
				if err := setMeta(ctx, tx, "resync", "1"); err != nil {
					return err
				}
				return setMeta(ctx, tx, "cursor", "")
			})
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			// The server may have handed the stream over at a page this client never
			// applied (the answer was lost): its messages would skip what that page held.
			// Not live, they are ignored until a pull hands it over anew.
			c.setStream(c.streamName(), false)
			return err
		}
		if !more {
			return nil
		}
	}
}

func (c *Client) pullPage(ctx context.Context) (bool, error) {
	cursor, err := c.meta(ctx, "cursor")
	if err != nil {
		return false, err
	}
	// A client holding no documents is fresh: its initial syncs may skip tombstones.
	var fresh bool
	if err := c.db.QueryRowContext(ctx, core.Statement("server_empty")).Scan(&fresh); err != nil {
		return false, err
	}
	req := api.PullRequest{Limit: &c.opts.PullLimit, Fresh: &fresh, Protocol: c.protocol()}
	if cursor != "" {
		req.Cursor = &cursor
	}
	stream := c.streamName()
	if stream != "" {
		req.Stream = &stream
	}
	if c.opts.Collections != nil {
		req.Collections = &c.opts.Collections
	}
	body, err := c.call(ctx, func(token string) (*http.Response, []byte, error) {
		res, err := c.api.SyncPullWithResponse(ctx, nil, req, bearer(token), c.identify())
		if err != nil {
			return nil, nil, err
		}
		return res.HTTPResponse, res.Body, nil
	})
	if err != nil {
		return false, err
	}
	var page pullPage
	if err := json.Unmarshal(body, &page); err != nil {
		return false, err
	}
	changed, err := c.applyPage(ctx, page, false)
	if err != nil {
		return false, err
	}
	if !page.HasMore {
		c.handedOver(stream, deref(page.Live))
	}
	c.setStatus(func(s *Status) {
		if !s.HasSyncedOnce {
			s.Initial.Pages++
			s.Initial.Changes += len(page.Changes)
		}
		s.HasSyncedOnce = s.HasSyncedOnce || !page.HasMore
	})
	if len(changed) > 0 {
		c.emit(Event{Changed: changed})
	}
	return page.HasMore, nil
}

// pullPage is api.PullResponse with each document kept as the server's JSON: it goes to
// the local database as it came, never decoded.
type pullPage struct {
	api.PullResponse
	Changes []pageChange `json:"changes"`
}

// pageChange is a Change of a pull page or a stream message, its document as it came.
type pageChange struct {
	Collection string          `json:"collection"`
	DocId      string          `json:"docId"`
	Op         string          `json:"op"`
	Version    int64           `json:"version"`
	Seq        int64           `json:"seq"`
	Doc        json.RawMessage `json:"doc"`
	Buckets    []string        `json:"buckets"`
}

// applyPage is the procedure "page": the page's changes, the drops it asks for, the
// rebase of every document touched, and the cursor, in one transaction. A page from the
// stream (protocol 2) holds changes and a cursor only, and is ignored during a full
// resync: its cursor would skip what the resync has not re-sent yet.
func (c *Client) applyPage(ctx context.Context, page pullPage, fromStream bool) ([]string, error) {
	var changed, dropped []string
	err := c.inTx(ctx, func(tx *stmtTx) error {
		changed, dropped = nil, nil
		if fromStream {
			if resync, err := getMeta(ctx, tx, "resync"); err != nil || resync == "1" {
				return err
			}
		}
		touched := map[string]bool{}
		touch := func(col, id string) {
			if k := col + "/" + id; !touched[k] {
				touched[k] = true
				changed = append(changed, k)
			}
		}
		if rb := deref(page.ResetBuckets); len(rb) > 0 {
			b, _ := json.Marshal(rb)
			if _, err := tx.ExecContext(ctx, core.Statement("server_mark_reset"), sql.Named("buckets", string(b))); err != nil {
				return err
			}
		}
		for _, ch := range page.Changes {
			cn, dn := sql.Named("collection", ch.Collection), sql.Named("doc_id", ch.DocId)
			if ch.Op == "evict" {
				if _, err := tx.ExecContext(ctx, core.Statement("server_evict"), cn, dn); err != nil {
					return err
				}
			} else {
				var doc any
				if ch.Op == "upsert" && len(ch.Doc) > 0 && string(ch.Doc) != "null" {
					doc = string(ch.Doc)
				}
				buckets, _ := json.Marshal(ch.Buckets)
				if _, err := tx.ExecContext(ctx, core.Statement("server_put"), cn, dn, sql.Named("doc", doc),
					sql.Named("version", ch.Version), sql.Named("seq", ch.Seq), sql.Named("buckets", string(buckets))); err != nil {
					return err
				}
			}
			touch(ch.Collection, ch.DocId)
		}
		// drop removes the server copies a query lists, to rebase them below.
		drop := func(query, del string, args ...any) error {
			rows, err := tx.QueryContext(ctx, core.Statement(query), args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var col, id string
				if err := rows.Scan(&col, &id); err != nil {
					rows.Close()
					return err
				}
				touch(col, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, core.Statement(del), args...)
			return err
		}
		for _, step := range []struct {
			names         *[]string
			param         string
			query, delete string
		}{
			{page.RemovedBuckets, "buckets", "docs_in_buckets", "server_drop_buckets"},
			{page.ResetComplete, "buckets", "docs_marked", "server_drop_marked"},
			{page.Collections, "collections", "docs_outside", "server_drop_outside"},
		} {
			if step.names == nil || (step.param == "buckets" && len(*step.names) == 0) {
				continue
			}
			b, _ := json.Marshal(*step.names)
			if err := drop(step.query, step.delete, sql.Named(step.param, string(b))); err != nil {
				return err
			}
		}
		if !page.HasMore && !fromStream { // the end of a full resync drops what it did not re-send
			resync, err := getMeta(ctx, tx, "resync")
			if err != nil {
				return err
			}
			if resync == "1" {
				if err := drop("docs_marked_all", "server_drop_marked_all"); err != nil {
					return err
				}
				if err := setMeta(ctx, tx, "resync", ""); err != nil {
					return err
				}
			}
			if err := setMeta(ctx, tx, "synced", "1"); err != nil {
				return err
			}
		}
		var outbox int // with an empty outbox (the usual case) no document has a pending write
		if err := tx.QueryRowContext(ctx, core.Statement("outbox_count")).Scan(&outbox); err != nil {
			return err
		}
		pending := -1
		if outbox == 0 {
			pending = 0
		}
		for _, k := range changed {
			col, id, _ := strings.Cut(k, "/")
			if err := rebase(ctx, tx, col, id, pending); err != nil {
				return err
			}
			if err := cancelUnwanted(ctx, tx, col, id); err != nil {
				return err
			}
		}
		if len(changed) > 0 { // cached files whose document is gone, or no longer refers to them
			var err error
			if dropped, err = dropFiles(ctx, tx, "files_unreachable", "file_delete"); err != nil {
				return err
			}
			parts, err := dropFiles(ctx, tx, "downloads_unreachable", "download_delete")
			if err != nil {
				return err
			}
			dropped = append(dropped, parts...)
		}
		return setMeta(ctx, tx, "cursor", page.Cursor)
	})
	if err == nil {
		removeAll(c, dropped)
	}
	return changed, err
}
