package tideline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tideline-dev/tideline/sdk/core"
)

// Collection is one collection of documents: writes go to the local database at once and
// to the server at the next sync.
type Collection struct {
	c    *Client
	name string
}

var (
	collectionForm = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	docIDForm      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._:@~-]{0,127}$`)
)

// Collection returns the collection name.
func (c *Client) Collection(name string) *Collection { return &Collection{c: c, name: name} }

// Name is the collection's name.
func (col *Collection) Name() string { return col.name }

// ErrInvalid is wrapped by the errors of writes the server would reject as malformed: they
// are refused locally, before they reach the outbox.
var ErrInvalid = errors.New("tideline: invalid")

func (col *Collection) check(id string) error {
	if !collectionForm.MatchString(col.name) || strings.HasPrefix(col.name, "tideline_") || strings.HasPrefix(col.name, "system") {
		return fmt.Errorf("%w: collection name %q (lower-case letters, digits and _, starting with a letter)", ErrInvalid, col.name)
	}
	if !docIDForm.MatchString(id) {
		return fmt.Errorf("%w: document id %q", ErrInvalid, id)
	}
	return nil
}

func checkField(name string) error {
	switch {
	case name == "" || len(name) > 256 || strings.HasPrefix(name, "$") || strings.ContainsAny(name, ".\x00\""):
		return fmt.Errorf("%w: field name %q (1 to 256 bytes, not starting with $, without . \" or NUL)", ErrInvalid, name)
	case name == "_id" || name == "_sync":
		return fmt.Errorf("%w: field name %q is reserved", ErrInvalid, name)
	}
	return nil
}

// Put replaces the document with fields (fields it lacks are removed).
func (col *Collection) Put(ctx context.Context, id string, fields map[string]any) error {
	if err := col.check(id); err != nil {
		return err
	}
	for k := range fields {
		if err := checkField(k); err != nil {
			return err
		}
	}
	return col.write(ctx, id, "put", fields, nil)
}

// PutValue replaces the document with v encoded as a JSON object (a struct or a map).
func (col *Collection) PutValue(ctx context.Context, id string, v any) error {
	fields, err := toFields(v)
	if err != nil {
		return err
	}
	return col.Put(ctx, id, fields)
}

// Change is one part of a patch: Set, Unset, Inc, Max, Min, Add or Remove.
type Change struct {
	field string
	set   bool
	value any    // Set's value (nil: Unset)
	op    string // inc, max, min, add, remove
}

// Set assigns a field.
func Set(field string, value any) Change { return Change{field: field, set: true, value: value} }

// Unset removes a field.
func Unset(field string) Change { return Change{field: field, set: true} }

// Inc adds n to a numeric field (from 0): concurrent increments from any device sum exactly.
func Inc(field string, n float64) Change { return Change{field: field, op: "inc", value: n} }

// IncInt adds n to an integer field.
func IncInt(field string, n int64) Change { return Change{field: field, op: "inc", value: n} }

// Max keeps the larger of the field and n.
func Max(field string, n float64) Change { return Change{field: field, op: "max", value: n} }

// Min keeps the smaller of the field and n.
func Min(field string, n float64) Change { return Change{field: field, op: "min", value: n} }

// Add adds elements (strings, numbers or booleans) to a set-like array field.
func Add(field string, elems ...any) Change { return Change{field: field, op: "add", value: elems} }

// Remove removes every equal element from an array field.
func Remove(field string, elems ...any) Change {
	return Change{field: field, op: "remove", value: elems}
}

// Patch changes some fields of the document (creating it if missing, so an offline
// device can increment a counter nobody created yet).
func (col *Collection) Patch(ctx context.Context, id string, changes ...Change) error {
	if err := col.check(id); err != nil {
		return err
	}
	if len(changes) == 0 {
		return fmt.Errorf("%w: a patch needs at least one change", ErrInvalid)
	}
	fields, ops := map[string]any{}, map[string]map[string]any{}
	for _, ch := range changes {
		if err := checkField(ch.field); err != nil {
			return err
		}
		_, inFields := fields[ch.field]
		_, inOps := ops[ch.field]
		if inFields || inOps {
			return fmt.Errorf("%w: field %q changed twice in one patch", ErrInvalid, ch.field)
		}
		if ch.set {
			fields[ch.field] = ch.value
			continue
		}
		if elems, ok := ch.value.([]any); ok {
			if len(elems) == 0 || len(elems) > 1000 {
				return fmt.Errorf("%w: %s of field %q takes 1 to 1000 elements", ErrInvalid, ch.op, ch.field)
			}
			for _, e := range elems {
				switch e.(type) {
				case string, bool, int, int64, float64, json.Number:
				default:
					return fmt.Errorf("%w: %s of field %q: elements are strings, numbers or booleans", ErrInvalid, ch.op, ch.field)
				}
			}
		}
		ops[ch.field] = map[string]any{ch.op: ch.value}
	}
	if len(ops) == 0 {
		ops = nil
	}
	return col.write(ctx, id, "patch", fields, ops)
}

// Delete removes the document.
func (col *Collection) Delete(ctx context.Context, id string) error {
	if err := col.check(id); err != nil {
		return err
	}
	return col.write(ctx, id, "delete", nil, nil)
}

// write stores a mutation in the outbox and rebases the document's view, in one
// transaction: the write is visible at once and survives a restart before it is sent.
func (col *Collection) write(ctx context.Context, id, op string, fields map[string]any, ops map[string]map[string]any) error {
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
	c := col.c
	stamp := c.clock.next()
	err := c.inTx(ctx, func(tx *stmtTx) error {
		var mid int64
		if err := tx.QueryRowContext(ctx, core.Statement("add_mutation"),
			sql.Named("collection", col.name), sql.Named("doc_id", id), sql.Named("op", op),
			sql.Named("fields", fj), sql.Named("ops", oj), sql.Named("hlc", stamp),
			sql.Named("now", c.opts.Now().UnixMilli())).Scan(&mid); err != nil {
			return err
		}
		if err := c.setMeta(ctx, tx, "hlc", stamp); err != nil {
			return err
		}
		return rebase(ctx, tx, col.name, id)
	})
	if err != nil {
		return err
	}
	if err := c.refreshStatus(ctx); err != nil {
		return err
	}
	c.emit(Event{Changed: []string{col.name + "/" + id}})
	return nil
}

// rebase recomputes the document's view: the server copy with the outbox on top.
func rebase(ctx context.Context, tx execer, collection, id string) error {
	return rebaseKnown(ctx, tx, collection, id, -1)
}

// rebaseKnown is rebase when the caller knows the document has no pending write
// (pending 0) and whether its server copy is deleted or absent (gone); pending -1: look.
func rebaseKnown(ctx context.Context, tx execer, collection, id string, pending int, gone ...bool) error {
	c, d := sql.Named("collection", collection), sql.Named("doc_id", id)
	if pending < 0 {
		if err := tx.QueryRowContext(ctx, core.Statement("pending_count"), c, d).Scan(&pending); err != nil {
			return err
		}
	}
	if pending == 0 { // the view is the server copy: no fold needed
		if len(gone) == 0 || gone[0] {
			if _, err := tx.ExecContext(ctx, core.Statement("view_delete"), c, d); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, core.Statement("view_from_server"), c, d)
		return err
	}
	doc, err := fold(ctx, tx, collection, id, -1)
	if err != nil {
		return err
	}
	if !doc.Valid {
		_, err := tx.ExecContext(ctx, core.Statement("view_delete"), c, d)
		return err
	}
	var version sql.NullInt64
	if err := tx.QueryRowContext(ctx, core.Statement("server_version"), c, d).Scan(&version); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, core.Statement("view_put"), c, d, sql.Named("doc", doc.String),
		sql.Named("version", version.Int64), sql.Named("pending", pending))
	return err
}

func fold(ctx context.Context, tx execer, collection, id string, upto int64) (sql.NullString, error) {
	var doc sql.NullString
	err := tx.QueryRowContext(ctx, core.Statement("fold_doc"), sql.Named("collection", collection),
		sql.Named("doc_id", id), sql.Named("upto", upto)).Scan(&doc)
	return doc, err
}

// Doc is a document of the local view.
type Doc struct {
	ID     string
	Fields map[string]any // numbers are json.Number: integers stay exact
	// Version is the server version the document is based on (0: never synced).
	Version int64
	// Pending is how many local writes of it are not acknowledged yet.
	Pending int
}

// Decode decodes the document's fields into v (a struct or a map).
func (d Doc) Decode(v any) error {
	b, err := json.Marshal(d.Fields)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// Get returns the document as the app sees it (the server copy with local writes on top);
// ok is false when it does not exist (or is deleted).
func (col *Collection) Get(ctx context.Context, id string) (d Doc, ok bool, err error) {
	var raw string
	err = col.c.db.QueryRowContext(ctx, core.Statement("view_get"), sql.Named("collection", col.name), sql.Named("doc_id", id)).
		Scan(&raw, &d.Version, &d.Pending)
	if errors.Is(err, sql.ErrNoRows) {
		return Doc{}, false, nil
	}
	if err != nil {
		return Doc{}, false, err
	}
	d.ID = id
	d.Fields, err = decodeObject(raw)
	return d, err == nil, err
}

func decodeObject(raw string) (map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	err := dec.Decode(&m)
	return m, err
}

func toFields(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: a document is a JSON object", ErrInvalid)
	}
	return m, nil
}
