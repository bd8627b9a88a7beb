package tideline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/tideline-dev/tideline/sdk/core"
	"github.com/tideline-dev/tideline/sdk/go/internal/api"
)

type outboxRow struct {
	id                int64
	collection, docID string
	op                string
	fields, ops       sql.NullString
	hlc               string
	baseVersion       int64
	size              int
}

// wireReceipt is api.Receipt with the document kept as the server's JSON.
type wireReceipt struct {
	api.Receipt
	Doc json.RawMessage `json:"doc"`
}

// push is the procedure "push" of docs/sdk-core.md: the outbox in batches bounded by
// count and bytes, oldest first, until it is empty. A batch is resent as it was after a
// failure (the server applies nothing twice); a 413 halves the batch; a mutation that is
// too large alone is rejected locally, so it never blocks the ones after it.
func (c *Client) push(ctx context.Context) error {
	limit := c.opts.PushBatch
	for {
		batch, err := c.nextBatch(ctx, limit)
		if err != nil || len(batch) == 0 {
			return err
		}
		if len(batch) == 1 && batch[0].size > c.opts.PushBytes {
			if err := c.rejectLocally(ctx, batch[0]); err != nil {
				return err
			}
			continue
		}
		c.setStatus(func(s *Status) { s.Uploading = true })
		receipts, err := c.send(ctx, batch)
		if errors.Is(err, errTooLarge) {
			if len(batch) == 1 {
				err = c.rejectLocally(ctx, batch[0])
			} else {
				limit = max(1, len(batch)/2)
				err = nil
			}
			if err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if err := c.applyReceipts(ctx, batch, receipts); err != nil {
			return err
		}
	}
}

// nextBatch is the longest prefix of the outbox's oldest limit mutations whose sizes sum
// to at most the byte budget (always at least one mutation).
func (c *Client) nextBatch(ctx context.Context, limit int) ([]outboxRow, error) {
	rows, err := c.db.QueryContext(ctx, core.Statement("outbox_batch"), sql.Named("limit", limit))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var batch []outboxRow
	bytes := 0
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.id, &r.collection, &r.docID, &r.op, &r.fields, &r.ops, &r.hlc, &r.baseVersion, &r.size); err != nil {
			return nil, err
		}
		if len(batch) > 0 && bytes+r.size > c.opts.PushBytes {
			break
		}
		bytes += r.size
		batch = append(batch, r)
	}
	return batch, rows.Err()
}

// send pushes one batch and returns its receipts.
func (c *Client) send(ctx context.Context, batch []outboxRow) ([]wireReceipt, error) {
	req := api.PushRequest{ClientId: c.id, Protocol: c.protocol()}
	for _, r := range batch {
		m := api.Mutation{Id: r.id, Collection: r.collection, DocId: r.docID, Op: api.MutationOp(r.op), Hlc: &r.hlc, BaseVersion: &r.baseVersion}
		if r.fields.Valid {
			f := map[string]any{}
			if err := decodeJSON([]byte(r.fields.String), &f); err != nil {
				return nil, err
			}
			m.Fields = &f
		}
		if r.ops.Valid {
			o := map[string]api.FieldOp{}
			if err := decodeJSON([]byte(r.ops.String), &o); err != nil {
				return nil, err
			}
			m.Ops = &o
		}
		req.Mutations = append(req.Mutations, m)
	}
	body, err := c.call(ctx, func(token string) (*http.Response, []byte, error) {
		res, err := c.api.SyncPushWithResponse(ctx, nil, req, bearer(token), c.identify())
		if err != nil {
			return nil, nil, err
		}
		return res.HTTPResponse, res.Body, nil
	})
	if err != nil {
		return nil, err
	}
	var out struct {
		Receipts []wireReceipt `json:"receipts"`
	}
	if err := decodeJSON(body, &out); err != nil {
		return nil, err
	}
	return out.Receipts, nil
}

// rejectLocally settles a mutation the server can never take (too large even alone): it
// leaves the outbox, the view is rebased without it, and the app gets a rejected receipt
// marked Local.
func (c *Client) rejectLocally(ctx context.Context, m outboxRow) error {
	ev := Receipt{MutationID: m.id, Collection: m.collection, DocID: m.docID, Status: "rejected", Code: "too_large",
		Message: fmt.Sprintf("The mutation is too large to push (about %d bytes, the budget is %d).", m.size, c.opts.PushBytes), Local: true}
	err := c.inTx(ctx, func(tx *stmtTx) error {
		if _, err := tx.ExecContext(ctx, core.Statement("ack_mutation"), sql.Named("id", m.id)); err != nil {
			return err
		}
		if err := rebase(ctx, tx, m.collection, m.docID, -1); err != nil {
			return err
		}
		return cancelUnwanted(ctx, tx, m.collection, m.docID)
	})
	if err != nil {
		return err
	}
	c.emit(Event{Receipt: &ev})
	c.emit(Event{Changed: []string{m.collection + "/" + m.docID}})
	return nil
}

// applyReceipts is the procedure "receipts": it settles the pushed mutations in one
// transaction, then tells the app.
func (c *Client) applyReceipts(ctx context.Context, batch []outboxRow, receipts []wireReceipt) error {
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
		chained := map[string]int64{} // documents whose copy an applied receipt of this answer wrote, at that seq
		for _, rc := range receipts {
			m, ok := byID[rc.Id]
			if !ok {
				return fmt.Errorf("tideline: a receipt for mutation %d, which was not sent", rc.Id)
			}
			ev, settled, err := c.settle(ctx, tx, m, rc, chained)
			if err != nil {
				return err
			}
			if settled {
				events = append(events, ev)
				changed = append(changed, m.collection+"/"+m.docID)
			}
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
	if len(changed) > 0 {
		c.emit(Event{Changed: changed})
	}
	return nil
}

// settle applies one receipt; settled is false when another process on the cache had
// settled the mutation already. chained is the answer's: the documents whose server copy
// an applied receipt of this answer wrote, with the seq it wrote.
func (c *Client) settle(ctx context.Context, tx *stmtTx, m outboxRow, rc wireReceipt, chained map[string]int64) (Receipt, bool, error) {
	cn, dn := sql.Named("collection", m.collection), sql.Named("doc_id", m.docID)
	ev := Receipt{MutationID: rc.Id, Collection: m.collection, DocID: m.docID, Status: string(rc.Status),
		Code: deref(rc.Code), Message: deref(rc.Message), Field: deref(rc.Field), Deleted: deref(rc.Deleted),
		Duplicate: deref(rc.Duplicate), HLCClamped: deref(rc.HlcClamped)}
	res, err := tx.ExecContext(ctx, core.Statement("ack_mutation"), sql.Named("id", m.id))
	if err != nil {
		return ev, false, err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return ev, false, err
	}
	hasDoc := len(rc.Doc) > 0 && string(rc.Doc) != "null"
	serverPut := func(statement string, doc any) (int64, error) {
		res, err := tx.ExecContext(ctx, core.Statement(statement), cn, dn, sql.Named("doc", doc),
			sql.Named("version", *rc.Version), sql.Named("seq", *rc.Seq), sql.Named("buckets", nil))
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	switch {
	case (hasDoc || ev.Deleted) && rc.Seq != nil && rc.Version != nil:
		// The server's document: it replaces the server copy.
		var doc any
		if hasDoc && !ev.Deleted {
			if ev.Doc, err = decodeObject(string(rc.Doc)); err != nil {
				return ev, false, err
			}
			doc = string(rc.Doc)
		}
		if _, err := serverPut("server_put", doc); err != nil {
			return ev, false, err
		}
		delete(chained, m.collection+"/"+m.docID)
	case ev.Status == "applied" && !ev.Duplicate && rc.Seq != nil && rc.Version != nil:
		// Applied as sent, now: the server copy is the old one with this mutation on top,
		// and the view (that copy with the rest of the outbox) does not change. (Not for
		// a duplicate: it was applied earlier, and the document may have changed since.)
		// Mutations of one document in one batch share a seq: a copy an applied receipt
		// of this answer wrote at this seq takes the next one on top (server_put). A copy
		// at this seq from elsewhere already has it (server_put_applied keeps it): a
		// merged or duplicate receipt before this one carried the document after the
		// whole batch, or a pull came first; then the view is rebased on it.
		old, err := serverDoc(ctx, tx, m.collection, m.docID)
		if err != nil {
			return ev, false, err
		}
		doc, err := applyMutation(ctx, tx, old, m.op, nullable(m.fields), nullable(m.ops))
		if err != nil {
			return ev, false, err
		}
		key, statement := m.collection+"/"+m.docID, "server_put_applied"
		if seq, ok := chained[key]; ok && seq == *rc.Seq {
			statement = "server_put"
		}
		n, err := serverPut(statement, nullable(doc))
		if err != nil {
			return ev, false, err
		}
		if n == 1 {
			chained[key] = *rc.Seq
			_, err := tx.ExecContext(ctx, core.Statement("view_settled"), cn, dn)
			return ev, true, err
		}
	}
	if err := rebase(ctx, tx, m.collection, m.docID, -1); err != nil {
		return ev, false, err
	}
	if ev.Duplicate && !hasDoc {
		// The copy may be older than the server's: a pending reference this mutation
		// wrote may be missing from the view until the next page, which brings it back.
		return ev, true, nil
	}
	return ev, true, cancelUnwanted(ctx, tx, m.collection, m.docID)
}
