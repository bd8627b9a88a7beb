package sync

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Document values are JSON: nil never appears as a stored value (null unsets a field), numbers are
// int64 when integral and in range, else float64; objects are map[string]any, arrays []any.

// MaxDepth is the deepest nesting of objects and arrays accepted in a document.
const MaxDepth = 32

// Reserved field names: the server's own (_id, _sync) and the sharing ACL (_acl).
var reserved = map[string]bool{"_id": true, "_sync": true, "_acl": true}

// checkFieldName applies the rules for keys at any depth: not empty, at most 256 bytes,
// valid UTF-8, no leading '$', no '.', no NUL. Top-level keys must also not be reserved.
func checkFieldName(name string, top bool) error {
	switch {
	case name == "":
		return fmt.Errorf("an empty field name")
	case len(name) > 256:
		return fmt.Errorf("field name %.40q... is longer than 256 bytes", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("field name %q is not valid UTF-8", name)
	case strings.HasPrefix(name, "$"):
		return fmt.Errorf("field name %q begins with $", name)
	case strings.ContainsAny(name, ".\x00"):
		return fmt.Errorf("field name %q contains '.' or NUL", name)
	case top && reserved[name]:
		return fmt.Errorf("field name %q is reserved", name)
	}
	return nil
}

// normalize checks and converts a decoded JSON value: numbers to int64 or float64, nested
// keys checked, depth bounded. path names the value in errors.
func normalize(v any, path string, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%s: nested deeper than %d levels", path, MaxDepth)
	}
	switch x := v.(type) {
	case nil, bool:
		return x, nil
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("%s: not valid UTF-8", path)
		}
		return x, nil
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		f, err := x.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("%s: number %s is out of range", path, x)
		}
		return f, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return x, nil
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			n, err := normalize(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if err := checkFieldName(k, false); err != nil {
				return nil, fmt.Errorf("%s: %v", path, err)
			}
			n, err := normalize(e, path+"."+k, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = n
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: unsupported value %T", path, v)
}

// number returns v as int64 or float64, and whether it is a number.
func number(v any) (i int64, f float64, isInt, ok bool) {
	switch x := v.(type) {
	case int64:
		return x, float64(x), true, true
	case float64:
		return 0, x, false, true
	}
	return 0, 0, false, false
}

// equalValues compares JSON values by their canonical encoding.
func equalValues(a, b any) bool { return canonical(a) == canonical(b) }

// canonical is the JSON encoding of v with object keys sorted (encoding/json sorts map
// keys), used to compare and to key set elements.
func canonical(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// normalizeMeta converts the values inside metadata read back from a store (numbers may
// come back as float64, int32 or json.Number) to the forms the CRDT uses.
func normalizeMeta(m Meta) (Meta, error) {
	if len(m.Fields) == 0 {
		return m, nil
	}
	fields := make(map[string]FieldMeta, len(m.Fields))
	for name, fm := range m.Fields {
		var err error
		if fm.Base, err = normalizeStored(fm.Base); err != nil {
			return m, err
		}
		ops := make([]NumOp, len(fm.Ops))
		for i, op := range fm.Ops {
			if op.N, err = normalizeStored(op.N); err != nil {
				return m, err
			}
			ops[i] = op
		}
		if len(ops) > 0 {
			fm.Ops = ops
		}
		if len(fm.Elems) > 0 {
			elems := make(map[string]ElemOp, len(fm.Elems))
			for k, e := range fm.Elems {
				if e.Value, err = normalizeStored(e.Value); err != nil {
					return m, err
				}
				elems[k] = e
			}
			fm.Elems = elems
		}
		fields[name] = fm
	}
	m.Fields = fields
	return m, nil
}

// normalizeStored is normalize for values read back from a store, which may also hold
// int32 (from BSON) and nested documents of other map types.
func normalizeStored(v any) (any, error) {
	switch x := v.(type) {
	case int32:
		return int64(x), nil
	case map[string]any, []any:
		return normalize(x, "stored value", 0)
	}
	return normalize(v, "stored value", 0)
}

// normalizeInPlace converts the numbers of a value read back from a store (json.Number,
// int32, integral float64) to int64 or float64, changing maps and slices in place. The
// value was validated when it was written, so nothing else is checked.
func normalizeInPlace(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case int32:
		return int64(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
		return x
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeInPlace(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalizeInPlace(e)
		}
	}
	return v
}

// jsonSize estimates the size of v's JSON encoding without encoding it (strings count
// their bytes plus quotes; escaping is ignored), for page byte budgets.
func jsonSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x) + 2
	case map[string]any:
		n := 2
		for k, e := range x {
			n += len(k) + 4 + jsonSize(e)
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n += jsonSize(e) + 1
		}
		return n
	case bool:
		return 5
	case nil:
		return 4
	}
	return 12 // a number
}
