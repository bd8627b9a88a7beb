package tideline

import "context"

// Typed is a collection whose documents are values of T (a struct with json tags, or a
// map): typed access over the same local view.
type Typed[T any] struct{ col *Collection }

// TypedCollection returns the collection name with documents of type T.
func TypedCollection[T any](c *Client, name string) Typed[T] {
	return Typed[T]{col: c.Collection(name)}
}

// Untyped is the same collection with untyped access (Patch, Delete, Watch...).
func (t Typed[T]) Untyped() *Collection { return t.col }

// Put replaces the document with v.
func (t Typed[T]) Put(ctx context.Context, id string, v T) error { return t.col.PutValue(ctx, id, v) }

// Get returns the document decoded as T; ok is false when it does not exist.
func (t Typed[T]) Get(ctx context.Context, id string) (v T, ok bool, err error) {
	d, ok, err := t.col.Get(ctx, id)
	if err != nil || !ok {
		return v, ok, err
	}
	err = d.Decode(&v)
	return v, err == nil, err
}

// Item is a document of a typed query: its id and its value.
type Item[T any] struct {
	ID    string
	Value T
}

// Find returns the documents that match q, decoded as T.
func (t Typed[T]) Find(ctx context.Context, q Query) ([]Item[T], error) {
	docs, err := t.col.Find(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]Item[T], len(docs))
	for i, d := range docs {
		out[i].ID = d.ID
		if err := d.Decode(&out[i].Value); err != nil {
			return nil, err
		}
	}
	return out, nil
}
