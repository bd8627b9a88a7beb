package tideline

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Query selects documents of the local view: every filter must hold; ordered by OrderBy
// (then by id), at most Limit (0: all).
type Query struct {
	Where   []Filter
	OrderBy string
	Desc    bool
	Limit   int
}

// Filter compares a top-level field with a value: Op is =, !=, <, <=, > or >=. A document
// without the field matches only !=.
type Filter struct {
	Field string
	Op    string
	Value any
}

// Where is a Filter.
func Where(field, op string, value any) Filter { return Filter{Field: field, Op: op, Value: value} }

var queryOps = []string{"=", "!=", "<", "<=", ">", ">="}

func path(field string) string { return `'$."` + field + `"'` }

// sqlValue is v as SQLite compares it with json_extract's result (booleans are 1 and 0).
func sqlValue(v any) (any, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string, int, int64, float64:
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	}
	return nil, fmt.Errorf("%w: a filter compares with a string, a number or a boolean", ErrInvalid)
}

// Find returns the documents of the local view that match q. It reads only the local
// database: it works offline, and shows local writes at once.
func (col *Collection) Find(ctx context.Context, q Query) ([]Doc, error) {
	var (
		sb   strings.Builder
		args = []any{sql.Named("collection", col.name)}
	)
	sb.WriteString(`SELECT doc_id, doc, version, pending FROM tl_view WHERE collection = :collection`)
	for i, f := range q.Where {
		if err := checkField(f.Field); err != nil {
			return nil, err
		}
		if !slices.Contains(queryOps, f.Op) {
			return nil, fmt.Errorf("%w: filter operator %q (one of %v)", ErrInvalid, f.Op, queryOps)
		}
		v, err := sqlValue(f.Value)
		if err != nil {
			return nil, err
		}
		name := fmt.Sprintf("w%d", i)
		if f.Op == "!=" {
			fmt.Fprintf(&sb, " AND (json_extract(doc, %s) IS NULL OR json_extract(doc, %s) != :%s)", path(f.Field), path(f.Field), name)
		} else {
			fmt.Fprintf(&sb, " AND json_extract(doc, %s) %s :%s", path(f.Field), f.Op, name)
		}
		args = append(args, sql.Named(name, v))
	}
	if q.OrderBy != "" {
		if err := checkField(q.OrderBy); err != nil {
			return nil, err
		}
		dir := "ASC"
		if q.Desc {
			dir = "DESC"
		}
		fmt.Fprintf(&sb, " ORDER BY json_extract(doc, %s) %s, doc_id", path(q.OrderBy), dir)
	} else {
		sb.WriteString(" ORDER BY doc_id")
	}
	if q.Limit > 0 {
		fmt.Fprintf(&sb, " LIMIT %d", q.Limit)
	}
	rows, err := col.c.db.QueryContext(ctx, sb.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Doc
	for rows.Next() {
		var d Doc
		var raw string
		if err := rows.Scan(&d.ID, &raw, &d.Version, &d.Pending); err != nil {
			return nil, err
		}
		if d.Fields, err = decodeObject(raw); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Watch is a live query: it calls fn with q's result now, and again whenever the result
// changes (a local write, a pull, a receipt), until ctx ends or the returned function is
// called. fn runs on the goroutine that made the change.
func (col *Collection) Watch(ctx context.Context, q Query, fn func([]Doc)) (stop func(), err error) {
	var (
		last []Doc
		mu   sync.Mutex
	)
	run := func() {
		mu.Lock()
		defer mu.Unlock()
		docs, err := col.Find(context.WithoutCancel(ctx), q)
		if err != nil || (last != nil && reflect.DeepEqual(docs, last)) {
			return
		}
		if docs == nil {
			docs = []Doc{}
		}
		last = docs
		fn(docs)
	}
	run()
	prefix := col.name + "/"
	cancel := col.c.Subscribe(func(e Event) {
		if ctx.Err() != nil {
			return
		}
		if slices.ContainsFunc(e.Changed, func(k string) bool { return strings.HasPrefix(k, prefix) }) {
			run()
		}
	})
	go func() { <-ctx.Done(); cancel() }()
	return cancel, nil
}
