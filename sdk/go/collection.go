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
	"unicode/utf8"

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

// checkDoc refuses collection names and document ids the server would reject.
func checkDoc(collection, id string) error {
	if !collectionForm.MatchString(collection) || strings.HasPrefix(collection, "tideline_") || strings.HasPrefix(collection, "system") {
		return fmt.Errorf("%w: collection name %q (lower-case letters, digits and _, starting with a letter)", ErrInvalid, collection)
	}
	if !docIDForm.MatchString(id) {
		return fmt.Errorf("%w: document id %q", ErrInvalid, id)
	}
	return nil
}

// checkField refuses a field name the protocol rejects (any byte but NUL and ".", not
// starting with "$"): quotes and apostrophes are fine, the core never pastes a name into
// SQL or into a JSON path.
func checkField(name string) error {
	switch {
	case name == "" || len(name) > 256 || strings.HasPrefix(name, "$") || strings.ContainsAny(name, ".\x00") || !utf8.ValidString(name):
		return fmt.Errorf("%w: field name %q (1 to 256 bytes of UTF-8, not starting with $, without . or NUL)", ErrInvalid, name)
	case name == "_id" || name == "_sync":
		return fmt.Errorf("%w: field name %q is reserved", ErrInvalid, name)
	}
	return nil
}

// Put replaces the document with fields (fields it lacks are removed).
func (col *Collection) Put(ctx context.Context, id string, fields map[string]any) error {
	return col.c.Write(ctx, func(tx *WriteTx) error { return tx.Put(col.name, id, fields) })
}

// PutValue replaces the document with v encoded as a JSON object (a struct or a map).
func (col *Collection) PutValue(ctx context.Context, id string, v any) error {
	return col.c.Write(ctx, func(tx *WriteTx) error { return tx.PutValue(col.name, id, v) })
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

// Op is a patch operation by name ("inc", "max", "min" with a number; "add", "remove" with
// a slice of elements): what a conformance runner reads from a scenario.
func Op(field, kind string, arg any) Change {
	if elems, ok := arg.([]any); ok && (kind == "add" || kind == "remove") {
		return Change{field: field, op: kind, value: elems}
	}
	return Change{field: field, op: kind, value: arg}
}

// Patch changes some fields of the document (creating it if missing, so an offline
// device can increment a counter nobody created yet).
func (col *Collection) Patch(ctx context.Context, id string, changes ...Change) error {
	return col.c.Write(ctx, func(tx *WriteTx) error { return tx.Patch(col.name, id, changes...) })
}

// patchParts checks a patch's changes and splits them into the mutation's fields and ops.
func patchParts(changes []Change) (map[string]any, map[string]map[string]any, error) {
	if len(changes) == 0 {
		return nil, nil, fmt.Errorf("%w: a patch needs at least one change", ErrInvalid)
	}
	fields, ops := map[string]any{}, map[string]map[string]any{}
	for _, ch := range changes {
		if err := checkField(ch.field); err != nil {
			return nil, nil, err
		}
		_, inFields := fields[ch.field]
		_, inOps := ops[ch.field]
		if inFields || inOps {
			return nil, nil, fmt.Errorf("%w: field %q changed twice in one patch", ErrInvalid, ch.field)
		}
		if ch.set {
			fields[ch.field] = ch.value
			continue
		}
		switch ch.op {
		case "inc", "max", "min":
			if !isNumber(ch.value) {
				return nil, nil, fmt.Errorf("%w: %s of field %q takes a number", ErrInvalid, ch.op, ch.field)
			}
		case "add", "remove":
			elems, _ := ch.value.([]any)
			if len(elems) == 0 || len(elems) > 1000 {
				return nil, nil, fmt.Errorf("%w: %s of field %q takes 1 to 1000 elements", ErrInvalid, ch.op, ch.field)
			}
			for _, e := range elems {
				if _, ok := e.(string); !ok && !isNumber(e) && !isBool(e) {
					return nil, nil, fmt.Errorf("%w: %s of field %q: elements are strings, numbers or booleans", ErrInvalid, ch.op, ch.field)
				}
			}
		default:
			return nil, nil, fmt.Errorf("%w: unknown operation %q", ErrInvalid, ch.op)
		}
		ops[ch.field] = map[string]any{ch.op: ch.value}
	}
	if len(ops) == 0 {
		ops = nil
	}
	return fields, ops, nil
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, int64, float64, json.Number:
		return true
	}
	return false
}

func isBool(v any) bool { _, ok := v.(bool); return ok }

// Delete removes the document.
func (col *Collection) Delete(ctx context.Context, id string) error {
	return col.c.Write(ctx, func(tx *WriteTx) error { return tx.Delete(col.name, id) })
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
