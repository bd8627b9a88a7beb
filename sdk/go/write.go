package tideline

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tideline-dev/tideline/sdk/core"
)

// WriteTx is an atomic group of local writes (Client.Write): all of them reach the outbox
// and the view in one transaction, or none does. The server applies them in order, each
// with its own receipt.
type WriteTx struct {
	ctx     context.Context
	c       *Client
	tx      *stmtTx
	changed []string
}

// Write runs fn's writes as one local transaction: the app sees all of them at once (or
// none, when fn returns an error), and a crash keeps all or none.
func (c *Client) Write(ctx context.Context, fn func(tx *WriteTx) error) error {
	var changed []string
	err := c.inTx(ctx, func(tx *stmtTx) error {
		w := &WriteTx{ctx: ctx, c: c, tx: tx}
		if err := fn(w); err != nil {
			return err
		}
		changed = w.changed
		return nil
	})
	if err != nil {
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	if len(changed) > 0 {
		c.emit(Event{Changed: changed, Local: true})
	}
	return nil
}

// Put replaces the document with fields (fields it lacks are removed).
func (w *WriteTx) Put(collection, id string, fields map[string]any) error {
	if err := checkDoc(collection, id); err != nil {
		return err
	}
	for k := range fields {
		if err := checkField(k); err != nil {
			return err
		}
	}
	return w.write(collection, id, "put", fields, nil)
}

// PutValue replaces the document with v encoded as a JSON object (a struct or a map).
func (w *WriteTx) PutValue(collection, id string, v any) error {
	fields, err := toFields(v)
	if err != nil {
		return err
	}
	return w.Put(collection, id, fields)
}

// Patch changes some fields of the document (creating it if missing, so an offline
// device can increment a counter nobody created yet).
func (w *WriteTx) Patch(collection, id string, changes ...Change) error {
	if err := checkDoc(collection, id); err != nil {
		return err
	}
	fields, ops, err := patchParts(changes)
	if err != nil {
		return err
	}
	return w.write(collection, id, "patch", fields, ops)
}

// Delete removes the document.
func (w *WriteTx) Delete(collection, id string) error {
	if err := checkDoc(collection, id); err != nil {
		return err
	}
	return w.write(collection, id, "delete", nil, nil)
}

// write is the procedure "write" of docs/sdk-core.md: the HLC read and advanced in the
// transaction, the mutation added to the outbox, and only this mutation folded onto the
// document's current view (its cost does not grow with the pending writes).
func (w *WriteTx) write(collection, id, op string, fields map[string]any, ops map[string]map[string]any) error {
	ctx, tx, c := w.ctx, w.tx, w.c
	var fj, oj any
	if op != "delete" {
		b, err := json.Marshal(fields)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		fj = string(b)
	}
	if ops != nil {
		b, err := json.Marshal(ops)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrInvalid, err)
		}
		oj = string(b)
	}
	last, err := getMeta(ctx, tx, "hlc")
	if err != nil {
		return err
	}
	stamp := nextHLC(last, c.opts.Now().UnixMilli(), c.id)
	if err := setMeta(ctx, tx, "hlc", stamp); err != nil {
		return err
	}
	cn, dn := sql.Named("collection", collection), sql.Named("doc_id", id)
	if _, err := tx.ExecContext(ctx, core.Statement("add_mutation"), cn, dn, sql.Named("op", op),
		sql.Named("fields", fj), sql.Named("ops", oj), sql.Named("hlc", stamp),
		sql.Named("now", c.opts.Now().UnixMilli())); err != nil {
		return err
	}
	var current sql.NullString
	var version int64
	var pending int
	err = tx.QueryRowContext(ctx, core.Statement("view_get"), cn, dn).Scan(&current, &version, &pending)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	doc, err := applyMutation(ctx, tx, current, op, fj, oj)
	if err != nil {
		return err
	}
	if err := putView(ctx, tx, collection, id, doc); err != nil {
		return err
	}
	if err := cancelUnwanted(ctx, tx, collection, id); err != nil {
		return err
	}
	w.changed = append(w.changed, collection+"/"+id)
	return nil
}

// cancelUnwanted cancels the attachments of a document whose pending reference left its
// view (attachments_cancel_unwanted): after a local write, a receipt with the server's
// document or a rejection, a page.
func cancelUnwanted(ctx context.Context, tx execer, collection, id string) error {
	_, err := tx.ExecContext(ctx, core.Statement("attachments_cancel_unwanted"), sql.Named("collection", collection), sql.Named("doc_id", id))
	return err
}

// applyMutation runs the core's apply_mutation: doc with one mutation on top (NULL:
// deleted).
func applyMutation(ctx context.Context, tx execer, doc sql.NullString, op string, fields, ops any) (sql.NullString, error) {
	var d any
	if doc.Valid {
		d = doc.String
	}
	var out sql.NullString
	err := tx.QueryRowContext(ctx, core.Statement("apply_mutation"), sql.Named("doc", d), sql.Named("op", op),
		sql.Named("fields", fields), sql.Named("ops", ops)).Scan(&out)
	return out, err
}

// putView stores a document's view (view_set), or removes it when doc is NULL.
func putView(ctx context.Context, tx execer, collection, id string, doc sql.NullString) error {
	cn, dn := sql.Named("collection", collection), sql.Named("doc_id", id)
	if !doc.Valid {
		_, err := tx.ExecContext(ctx, core.Statement("view_delete"), cn, dn)
		return err
	}
	_, err := tx.ExecContext(ctx, core.Statement("view_set"), cn, dn, sql.Named("doc", doc.String))
	return err
}

// rebase is the procedure "rebase": the view recomputed from the server copy with every
// pending mutation of the document folded on top, in order. pending 0 says the caller
// knows the document has none (the outbox is empty); -1: look.
func rebase(ctx context.Context, tx execer, collection, id string, pending int) error {
	cn, dn := sql.Named("collection", collection), sql.Named("doc_id", id)
	if pending < 0 {
		if err := tx.QueryRowContext(ctx, core.Statement("pending_of_doc"), cn, dn).Scan(&pending); err != nil {
			return err
		}
	}
	if pending == 0 { // the view is the server copy: no fold needed
		if _, err := tx.ExecContext(ctx, core.Statement("view_delete"), cn, dn); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, core.Statement("view_from_server"), cn, dn)
		return err
	}
	doc, err := serverDoc(ctx, tx, collection, id)
	if err != nil {
		return err
	}
	type mut struct {
		op          string
		fields, ops sql.NullString
	}
	var muts []mut
	rows, err := tx.QueryContext(ctx, core.Statement("outbox_of_doc"), cn, dn)
	if err != nil {
		return err
	}
	for rows.Next() {
		var m mut
		var id int64
		if err := rows.Scan(&id, &m.op, &m.fields, &m.ops); err != nil {
			rows.Close()
			return err
		}
		muts = append(muts, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, m := range muts {
		if doc, err = applyMutation(ctx, tx, doc, m.op, nullable(m.fields), nullable(m.ops)); err != nil {
			return err
		}
	}
	return putView(ctx, tx, collection, id, doc)
}

// serverDoc is the server copy's document (NULL: deleted or absent).
func serverDoc(ctx context.Context, tx execer, collection, id string) (sql.NullString, error) {
	var doc sql.NullString
	var version, seq int64
	var buckets string
	var mark int
	err := tx.QueryRowContext(ctx, core.Statement("server_get"), sql.Named("collection", collection), sql.Named("doc_id", id)).
		Scan(&doc, &version, &seq, &buckets, &mark)
	if errors.Is(err, sql.ErrNoRows) {
		return sql.NullString{}, nil
	}
	return doc, err
}

func nullable(s sql.NullString) any {
	if s.Valid {
		return s.String
	}
	return nil
}
