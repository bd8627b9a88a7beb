package tideline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tideline-dev/tideline/sdk/core"
	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

// Receipt is the server's answer to one local write. Status is applied, merged (newer
// writes won some fields, or server-wins kept the server's), rejected (Code and Message
// say why; nothing changed) or conflict (optimistic policy: the write was based on an old
// version; nothing changed). Doc is the server's document for merged and conflict.
type Receipt struct {
	MutationID int64
	Collection string
	DocID      string
	Status     string
	Code       string
	Message    string
	Field      string
	Doc        map[string]any
	Deleted    bool
	Duplicate  bool
}

// ServerError is an unexpected answer from the server.
type ServerError struct {
	Status int
	Code   string
	Body   string
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("tideline: the server answered %d %s: %s", e.Status, e.Code, e.Body)
}

// ErrInvalidCursor is what a pull answers when the stored cursor is no longer valid; Sync
// handles it by syncing from the start (pending writes are kept and rebased).
var errInvalidCursor = errors.New("tideline: invalid cursor")

// Sync pushes the outbox and pulls until the local cache is caught up. It returns the
// first error (a network error, a signed-out session); what was done before it is kept,
// and the next Sync continues.
func (c *Client) Sync(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	err := c.push(ctx)
	if err == nil {
		err = c.pull(ctx)
	}
	c.mu.Lock()
	c.status.Online = err == nil || !isNetwork(err)
	c.status.LastError = err
	if err == nil {
		c.status.LastSynced = c.opts.Now()
	}
	st := c.status
	c.mu.Unlock()
	if rerr := c.refreshStatus(ctx); rerr != nil && err == nil {
		err = rerr
	}
	c.emit(Event{Status: &st})
	return err
}

// Push sends the outbox without pulling.
func (c *Client) Push(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	err := c.push(ctx)
	if rerr := c.refreshStatus(ctx); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// Pull pulls until caught up without pushing: pending writes stay in the outbox and are
// rebased on what arrives.
func (c *Client) Pull(ctx context.Context) error {
	c.syncMu.Lock()
	defer c.syncMu.Unlock()
	return c.pull(ctx)
}

func isNetwork(err error) bool {
	var se *ServerError
	return !errors.As(err, &se) && !errors.Is(err, ErrSignedOut)
}

// call sends a request with the access token, refreshing it once after a 401.
func (c *Client) call(ctx context.Context, send func(token string) (*http.Response, []byte, error)) ([]byte, error) {
	token, err := c.auth.Token(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		res, body, err := send(token)
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == http.StatusOK:
			return body, nil
		case res.StatusCode == http.StatusUnauthorized && attempt == 0:
			if token, err = c.auth.Refresh(ctx, c); err != nil {
				return nil, err
			}
			continue
		}
		var p struct{ Code string }
		json.Unmarshal(body, &p)
		if res.StatusCode == http.StatusBadRequest && p.Code == "invalid_cursor" {
			return nil, errInvalidCursor
		}
		if res.StatusCode == http.StatusUnauthorized {
			return nil, ErrSignedOut
		}
		return nil, &ServerError{Status: res.StatusCode, Code: p.Code, Body: string(body)}
	}
}

func bearer(token string) api.RequestEditorFn {
	return func(_ context.Context, r *http.Request) error {
		r.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}

type outboxRow struct {
	id                int64
	collection, docID string
	op                string
	fields, ops       sql.NullString
	hlc               string
	baseVersion       int64
}

// push sends the outbox in batches until it is empty. A batch is resent as it was after
// a failure (the server applies nothing twice).
func (c *Client) push(ctx context.Context) error {
	for {
		rows, err := c.db.QueryContext(ctx, core.Statement("outbox_batch"), sql.Named("limit", c.opts.PushBatch))
		if err != nil {
			return err
		}
		var batch []outboxRow
		for rows.Next() {
			var r outboxRow
			if err := rows.Scan(&r.id, &r.collection, &r.docID, &r.op, &r.fields, &r.ops, &r.hlc, &r.baseVersion); err != nil {
				rows.Close()
				return err
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(batch) == 0 {
			return err
		}
		req := api.PushRequest{ClientId: c.id}
		for _, r := range batch {
			m := api.Mutation{Id: r.id, Collection: r.collection, DocId: r.docID, Op: api.MutationOp(r.op), Hlc: &r.hlc, BaseVersion: &r.baseVersion}
			if r.fields.Valid {
				f := map[string]any{}
				if err := decodeJSON([]byte(r.fields.String), &f); err != nil {
					return err
				}
				m.Fields = &f
			}
			if r.ops.Valid {
				o := map[string]api.FieldOp{}
				if err := decodeJSON([]byte(r.ops.String), &o); err != nil {
					return err
				}
				m.Ops = &o
			}
			req.Mutations = append(req.Mutations, m)
		}
		body, err := c.call(ctx, func(token string) (*http.Response, []byte, error) {
			res, err := c.api.SyncPushWithResponse(ctx, req, bearer(token))
			if err != nil {
				return nil, nil, err
			}
			return res.HTTPResponse, res.Body, nil
		})
		if err != nil {
			return err
		}
		var out api.PushResponse
		if err := decodeJSON(body, &out); err != nil {
			return err
		}
		if err := c.applyReceipts(ctx, batch, out.Receipts); err != nil {
			return err
		}
	}
}

// applyReceipts settles the pushed mutations, in one transaction, and tells the app.
func (c *Client) applyReceipts(ctx context.Context, batch []outboxRow, receipts []api.Receipt) error {
	byID := make(map[int64]outboxRow, len(batch))
	for _, r := range batch {
		byID[r.id] = r
	}
	var (
		events  []Receipt
		changed []string
	)
	err := c.inTx(ctx, func(tx *stmtTx) error {
		events, changed = nil, nil
		for _, rc := range receipts {
			m, ok := byID[rc.Id]
			if !ok {
				return fmt.Errorf("tideline: a receipt for mutation %d, which was not sent", rc.Id)
			}
			cn, dn := sql.Named("collection", m.collection), sql.Named("doc_id", m.docID)
			ev := Receipt{MutationID: rc.Id, Collection: m.collection, DocID: m.docID, Status: string(rc.Status),
				Code: deref(rc.Code), Message: deref(rc.Message), Field: deref(rc.Field), Deleted: deref(rc.Deleted), Duplicate: deref(rc.Duplicate)}
			switch {
			case rc.Doc != nil || (rc.Deleted != nil && *rc.Deleted && rc.Seq != nil):
				// The server's document: it replaces the server copy.
				var doc any
				if rc.Doc != nil && !ev.Deleted {
					ev.Doc = *rc.Doc
					b, err := json.Marshal(*rc.Doc)
					if err != nil {
						return err
					}
					doc = string(b)
				}
				if rc.Seq != nil && rc.Version != nil {
					if _, err := tx.ExecContext(ctx, core.Statement("server_put"), cn, dn, sql.Named("doc", doc),
						sql.Named("version", *rc.Version), sql.Named("seq", *rc.Seq), sql.Named("buckets", nil)); err != nil {
						return err
					}
				}
			case rc.Status == "applied" && !ev.Duplicate && rc.Seq != nil && rc.Version != nil:
				// Applied as sent, now: the server copy is the old one with this mutation on
				// top. (Not for a duplicate: it was applied earlier, and the document may
				// have changed since, even in ways this client has pulled already.)
				doc, err := fold(ctx, tx, m.collection, m.docID, m.id)
				if err != nil {
					return err
				}
				var d any
				if doc.Valid {
					d = doc.String
				}
				if _, err := tx.ExecContext(ctx, core.Statement("server_put"), cn, dn, sql.Named("doc", d),
					sql.Named("version", *rc.Version), sql.Named("seq", *rc.Seq), sql.Named("buckets", nil)); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, core.Statement("ack_mutation"), sql.Named("id", m.id)); err != nil {
				return err
			}
			if err := rebase(ctx, tx, m.collection, m.docID); err != nil {
				return err
			}
			events = append(events, ev)
			changed = append(changed, m.collection+"/"+m.docID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	for i := range events {
		c.emit(Event{Receipt: &events[i]})
	}
	c.emit(Event{Changed: changed})
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// pull pulls pages until the server has nothing more; each page and its cursor are
// applied in one transaction, so an app killed midway pulls that page again.
func (c *Client) pull(ctx context.Context) error {
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
				if err := c.setMeta(ctx, tx, "resync", "1"); err != nil {
					return err
				}
				return c.setMeta(ctx, tx, "cursor", "")
			})
			if err != nil {
				return err
			}
			continue
		}
		if err != nil || !more {
			return err
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
	req := api.PullRequest{Limit: &c.opts.PullLimit, Fresh: &fresh}
	if cursor != "" {
		req.Cursor = &cursor
	}
	if c.opts.Collections != nil {
		req.Collections = &c.opts.Collections
	}
	body, err := c.call(ctx, func(token string) (*http.Response, []byte, error) {
		res, err := c.api.SyncPullWithResponse(ctx, req, bearer(token))
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
	changed, err := c.applyPage(ctx, page)
	if err != nil {
		return false, err
	}
	if len(changed) > 0 {
		c.emit(Event{Changed: changed})
	}
	return page.HasMore, nil
}

// applyPage applies a pulled page and stores its cursor, in one transaction.
// pullPage is api.PullResponse with each document kept as the server's JSON: it goes to
// the local database as it came, never decoded.
type pullPage struct {
	api.PullResponse
	Changes []struct {
		Collection string          `json:"collection"`
		DocId      string          `json:"docId"`
		Op         string          `json:"op"`
		Version    int64           `json:"version"`
		Seq        int64           `json:"seq"`
		Doc        json.RawMessage `json:"doc"`
		Buckets    []string        `json:"buckets"`
	} `json:"changes"`
}

func (c *Client) applyPage(ctx context.Context, page pullPage) ([]string, error) {
	var changed []string
	err := c.inTx(ctx, func(tx *stmtTx) error {
		changed = nil
		touched := map[[2]string]bool{}
		upserted := map[string]bool{} // documents whose server copy this page sets (not deleted)
		touch := func(col, id string) {
			if !touched[[2]string{col, id}] {
				touched[[2]string{col, id}] = true
				changed = append(changed, col+"/"+id)
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
			switch ch.Op {
			case "evict":
				if _, err := tx.ExecContext(ctx, core.Statement("server_evict"), cn, dn); err != nil {
					return err
				}
			default:
				var doc any
				if ch.Op == "upsert" && len(ch.Doc) > 0 && string(ch.Doc) != "null" {
					doc = string(ch.Doc)
					upserted[ch.Collection+"/"+ch.DocId] = true
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
				upserted[col+"/"+id] = false // dropped below
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
		if !page.HasMore { // the end of a full resync drops what it did not re-send
			resync, err := getMeta(ctx, tx, "resync")
			if err != nil {
				return err
			}
			if resync == "1" {
				if err := drop("docs_marked_all", "server_drop_marked_all"); err != nil {
					return err
				}
				if err := c.setMeta(ctx, tx, "resync", "0"); err != nil {
					return err
				}
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
			if err := rebaseKnown(ctx, tx, col, id, pending, !upserted[k]); err != nil {
				return err
			}
		}
		return c.setMeta(ctx, tx, "cursor", page.Cursor)
	})
	return changed, err
}
