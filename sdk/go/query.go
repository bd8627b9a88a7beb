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
// (a field path, then by id), at most Limit (0: all).
type Query struct {
	Where   []Filter
	OrderBy string
	Desc    bool
	Limit   int
}

// Filter compares a field with a value. Field is a path: "title", or "address.city" for a
// field of an object field (field names never contain "."). Op is one of
//
//	=  !=  <  <=  >  >=   compares with a string, number or boolean of the same kind
//	in                    the field equals one of Value's elements (a slice)
//	contains              the field is an array with an element equal to Value
//
// A string never equals a number, nor a boolean a number. A document without the field
// matches only != (docs/sdk-core.md "Queries").
type Filter struct {
	Field string
	Op    string
	Value any
}

// Where is a Filter.
func Where(field, op string, value any) Filter { return Filter{Field: field, Op: op, Value: value} }

var queryOps = []string{"=", "!=", "<", "<=", ">", ">=", "in", "contains"}

// scalar is v as the query binds it: its SQL value and its kind ("number", "text",
// "bool"), as json_each reports a field's value and type.
func scalar(v any) (any, string, error) {
	switch x := v.(type) {
	case bool:
		if x {
			return 1, "bool", nil
		}
		return 0, "bool", nil
	case string:
		return x, "text", nil
	case int:
		return int64(x), "number", nil
	case int64, float64:
		return x, "number", nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, "number", nil
		}
		f, err := x.Float64()
		return f, "number", err
	}
	return nil, "", fmt.Errorf("%w: a filter compares with a string, a number or a boolean", ErrInvalid)
}

// kindOf is the SQL that turns a json_each type into a filter kind.
const kindOf = "(CASE %[1]s.type WHEN 'integer' THEN 'number' WHEN 'real' THEN 'number' WHEN 'true' THEN 'bool' WHEN 'false' THEN 'bool' ELSE %[1]s.type END)"

// queryBuilder compiles a Query into SQL with every name and value bound.
type queryBuilder struct {
	args []any
}

func (b *queryBuilder) bind(v any) string {
	name := fmt.Sprintf("q%d", len(b.args))
	b.args = append(b.args, sql.Named(name, v))
	return ":" + name
}

// container is the SQL of the object that holds the last segment of path, and that
// segment: doc for "a", the object field a of doc for "a.b".
func (b *queryBuilder) container(path string) (string, string, error) {
	segs := strings.Split(path, ".")
	for _, s := range segs {
		if err := checkField(s); err != nil {
			return "", "", err
		}
	}
	expr := "tl_view.doc"
	for _, s := range segs[:len(segs)-1] {
		expr = fmt.Sprintf("(SELECT j.value FROM json_each(%s) j WHERE j.key = %s AND j.type = 'object')", expr, b.bind(s))
	}
	return expr, segs[len(segs)-1], nil
}

func (b *queryBuilder) filter(f Filter) (string, error) {
	if !slices.Contains(queryOps, f.Op) {
		return "", fmt.Errorf("%w: filter operator %q (one of %v)", ErrInvalid, f.Op, queryOps)
	}
	cont, last, err := b.container(f.Field)
	if err != nil {
		return "", err
	}
	key := b.bind(last)
	switch f.Op {
	case "in", "contains":
		var list []any
		if f.Op == "in" {
			rv := reflect.ValueOf(f.Value)
			if rv.Kind() != reflect.Slice || rv.Len() == 0 {
				return "", fmt.Errorf("%w: in takes a non-empty slice", ErrInvalid)
			}
			for i := range rv.Len() {
				list = append(list, rv.Index(i).Interface())
			}
		} else {
			list = []any{f.Value}
		}
		from, at := fmt.Sprintf("json_each(%s) f", cont), "f"
		if f.Op == "contains" {
			from, at = from+", json_each(CASE WHEN f.type = 'array' THEN f.value ELSE '[]' END) e", "e"
		}
		var alts []string
		for _, v := range list {
			val, kind, err := scalar(v)
			if err != nil {
				return "", err
			}
			alts = append(alts, fmt.Sprintf("(%s = %s AND %s.value = %s)", fmt.Sprintf(kindOf, at), b.bind(kind), at, b.bind(val)))
		}
		return fmt.Sprintf("EXISTS (SELECT 1 FROM %s WHERE f.key = %s AND (%s))", from, key, strings.Join(alts, " OR ")), nil
	}
	val, kind, err := scalar(f.Value)
	if err != nil {
		return "", err
	}
	op := f.Op
	if op == "!=" {
		op = "="
	}
	cond := fmt.Sprintf("EXISTS (SELECT 1 FROM json_each(%s) f WHERE f.key = %s AND %s = %s AND f.value %s %s)", cont, key, fmt.Sprintf(kindOf, "f"), b.bind(kind), op, b.bind(val))
	if f.Op == "!=" {
		cond = "NOT " + cond
	}
	return cond, nil
}

// compile is the query's SQL and arguments (docs/sdk-core.md "Queries").
func (q Query) compile(collection string) (string, []any, error) {
	b := &queryBuilder{}
	var sb strings.Builder
	fmt.Fprintf(&sb, "SELECT doc_id, doc, version, pending FROM tl_view WHERE collection = %s", b.bind(collection))
	for _, f := range q.Where {
		cond, err := b.filter(f)
		if err != nil {
			return "", nil, err
		}
		sb.WriteString(" AND " + cond)
	}
	if q.OrderBy != "" {
		cont, last, err := b.container(q.OrderBy)
		if err != nil {
			return "", nil, err
		}
		dir := "ASC"
		if q.Desc {
			dir = "DESC"
		}
		fmt.Fprintf(&sb, " ORDER BY (SELECT f.value FROM json_each(%s) f WHERE f.key = %s) %s, doc_id", cont, b.bind(last), dir)
	} else {
		sb.WriteString(" ORDER BY doc_id")
	}
	if q.Limit > 0 {
		fmt.Fprintf(&sb, " LIMIT %s", b.bind(q.Limit))
	}
	return sb.String(), b.args, nil
}

// Find returns the documents of the local view that match q. It reads only the local
// database: it works offline, and shows local writes at once.
func (col *Collection) Find(ctx context.Context, q Query) ([]Doc, error) {
	query, args, err := q.compile(col.name)
	if err != nil {
		return nil, err
	}
	rows, err := col.c.db.QueryContext(ctx, query, args...)
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

// Snapshot is a live query's result and how it differs from the one before (the first
// snapshot lists every document as added).
type Snapshot struct {
	Docs                    []Doc
	Added, Changed, Removed []string // document ids
}

// Watch is a live query: it calls fn with q's result now, and again whenever the result
// changes (a local write, a pull, a receipt), with the ids of the documents added,
// changed and removed, until ctx ends or the returned function is called. fn runs on the
// goroutine that made the change.
func (col *Collection) Watch(ctx context.Context, q Query, fn func(Snapshot)) (stop func(), err error) {
	if _, _, err := q.compile(col.name); err != nil {
		return nil, err
	}
	var (
		last map[string]Doc
		mu   sync.Mutex
	)
	run := func() {
		mu.Lock()
		defer mu.Unlock()
		docs, err := col.Find(context.WithoutCancel(ctx), q)
		if err != nil {
			return
		}
		s := Snapshot{Docs: docs}
		if s.Docs == nil {
			s.Docs = []Doc{}
		}
		now := make(map[string]Doc, len(docs))
		for _, d := range docs {
			now[d.ID] = d
			old, ok := last[d.ID]
			switch {
			case !ok:
				s.Added = append(s.Added, d.ID)
			case !reflect.DeepEqual(old, d):
				s.Changed = append(s.Changed, d.ID)
			}
		}
		for id := range last {
			if _, ok := now[id]; !ok {
				s.Removed = append(s.Removed, id)
			}
		}
		slices.Sort(s.Removed)
		first := last == nil
		if !first && len(s.Added)+len(s.Changed)+len(s.Removed) == 0 {
			return
		}
		last = now
		fn(s)
	}
	run()
	prefix := col.name + "/"
	cancel := col.c.Subscribe(func(e Event) {
		if ctx.Err() != nil {
			return
		}
		if slices.ContainsFunc(e.Changed, func(k string) bool { return k == "*" || strings.HasPrefix(k, prefix) }) {
			run()
		}
	})
	go func() { <-ctx.Done(); cancel() }()
	return cancel, nil
}
