package tideline

import (
	"errors"
	"path/filepath"
	"testing"
)

type todo struct {
	Title string   `json:"title"`
	Done  bool     `json:"done"`
	Tags  []string `json:"tags,omitempty"`
	Count int64    `json:"count"`
}

func TestTypedAndQueries(t *testing.T) {
	t.Parallel()
	c, err := Open(t.Context(), filepath.Join(t.TempDir(), "l.db"), "http://127.0.0.1:1", Token("t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	todos := TypedCollection[todo](c, "todos")
	for id, v := range map[string]todo{"a": {Title: "Milk", Count: 9007199254740993}, "b": {Title: "Bread", Done: true}, "c": {Title: "Apples"}} {
		if err := todos.Put(t.Context(), id, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := todos.Untyped().Patch(t.Context(), "c", Add("tags", "fruit"), IncInt("count", 2)); err != nil {
		t.Fatal(err)
	}
	got, ok, err := todos.Get(t.Context(), "a")
	if err != nil || !ok || got.Count != 9007199254740993 {
		t.Fatalf("get: %+v %v %v (integers must stay exact)", got, ok, err)
	}
	open, err := todos.Find(t.Context(), Query{Where: []Filter{Where("done", "=", false)}, OrderBy: "title"})
	if err != nil || len(open) != 2 || open[0].ID != "c" || open[0].Value.Tags[0] != "fruit" || open[0].Value.Count != 2 || open[1].ID != "a" {
		t.Fatalf("open todos: %+v %v", open, err)
	}
	last, err := todos.Find(t.Context(), Query{OrderBy: "title", Desc: true, Limit: 1})
	if err != nil || len(last) != 1 || last[0].ID != "a" {
		t.Fatalf("last: %+v %v", last, err)
	}
	notB, err := todos.Untyped().Find(t.Context(), Query{Where: []Filter{Where("done", "!=", true)}})
	if err != nil || len(notB) != 2 {
		t.Fatalf("!=: %d %v", len(notB), err)
	}
	// Bad input is refused locally, before the outbox.
	for name, err := range map[string]error{
		"operator field": todos.Untyped().Patch(t.Context(), "a", Set("$where", 1)),
		"dotted field":   todos.Untyped().Patch(t.Context(), "a", Set("a.b", 1)),
		"twice":          todos.Untyped().Patch(t.Context(), "a", Set("x", 1), IncInt("x", 1)),
		"bad doc id":     todos.Untyped().Delete(t.Context(), "../etc"),
		"bad collection": c.Collection("System").Put(t.Context(), "a", map[string]any{}),
		"object element": todos.Untyped().Patch(t.Context(), "a", Add("tags", map[string]any{"$gt": 1})),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	if _, err := todos.Untyped().Find(t.Context(), Query{Where: []Filter{Where("title", "; DROP", "x")}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("hostile operator: %v", err)
	}
	if st := c.Status(); st.Pending != 4 {
		t.Fatalf("pending %d, want 4 (refused writes are not in the outbox)", st.Pending)
	}
}
