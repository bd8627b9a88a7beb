package sync

import (
	"math"
	"sort"
)

// Meta is a document's CRDT state beside its visible fields. Engines store it as they
// like, but must give back exactly what they were given.
//
// A document has three clocks: Replace (the latest put: fields assigned before it are
// gone), Delete (the latest delete) and Touch (the latest put or patch). Their maximum,
// the floor, hides every field assignment and operation older than it. The document is
// deleted when its latest delete is later than its latest put or patch.
type Meta struct {
	Replace HLC                  `json:"r,omitempty" bson:"r,omitempty"`
	Delete  HLC                  `json:"d,omitempty" bson:"d,omitempty"`
	Touch   HLC                  `json:"t,omitempty" bson:"t,omitempty"`
	Fields  map[string]FieldMeta `json:"f,omitempty" bson:"f,omitempty"`
	// Clients maps a client id to the highest mutation id of that client applied to the
	// document, written with the document: a retried mutation is recognised even when the
	// server crashed before recording the client's high mark.
	Clients map[string]int64 `json:"c,omitempty" bson:"c,omitempty"`
	// Sums maps a client id to the fingerprint of that client's mutation whose id is in
	// Clients: a resent id with other content is told from a retry (id_reused).
	Sums map[string]int64 `json:"s,omitempty" bson:"s,omitempty"`
}

// FieldMeta is one top-level field's state: the last assignment's clock, and the
// commutative operations later than it.
type FieldMeta struct {
	// Clock is the HLC of the winning assignment (put, patch, or unset); "" if none.
	Clock HLC `json:"c,omitempty" bson:"c,omitempty"`
	// Base is the assigned value, kept only while Ops or Elems change it (otherwise the
	// visible value is the base). nil: unset.
	Base any `json:"b,omitempty" bson:"b,omitempty"`
	// Ops are the numeric operations (inc, max, min) later than Clock, in clock order.
	Ops []NumOp `json:"n,omitempty" bson:"n,omitempty"`
	// Elems are the set operations (add, remove) later than Clock, the latest per element,
	// by the element's canonical JSON.
	Elems map[string]ElemOp `json:"e,omitempty" bson:"e,omitempty"`
}

// NumOp is a numeric operation on a field.
type NumOp struct {
	Clock HLC    `json:"c" bson:"c"`
	Kind  string `json:"k" bson:"k"` // inc, max or min
	N     any    `json:"n" bson:"n"` // int64 or float64
}

// ElemOp is the latest add or remove of one element of a set-like array field.
type ElemOp struct {
	Clock HLC  `json:"c" bson:"c"`
	Add   bool `json:"a,omitempty" bson:"a,omitempty"`
	Value any  `json:"v" bson:"v"`
}

// maxNumOps bounds a field's numeric history; past it the oldest half is folded into the
// base. An operation arriving later than maxNumOps newer operations on the same field is
// then applied on top of them: exact for counters (inc commutes), approximate for a field
// that mixes inc with max or min.
const maxNumOps = 256

// maxHistoryBytes bounds a document's history: the numeric and set operations kept beside
// its fields (historySize), every element ever added to or removed from a set among them.
// Past it, the oldest half of the largest field's history is folded into that field's
// base, until the history fits: a document's metadata stays within a few times its
// visible size, and a write to it stays cheap. Operations older than the retention
// horizon are folded at every save too (clients offline longer than that reset anyway).
// A folded operation can no longer be ordered against one that arrives later with an
// older clock: the late one is applied on top of the folded ones (exact for inc; for sets,
// a late add or remove of an element whose later remove or add was folded wins).
const maxHistoryBytes = 1 << 20

// maxClients bounds Meta.Clients; past it the clients with the lowest marks are dropped
// (their retries are still recognised by the client high mark).
const maxClients = 64

// docState is a document's CRDT state being changed: the metadata and every field's base.
type docState struct {
	meta Meta
	base map[string]any
}

func newState(fields map[string]any, meta Meta) *docState {
	s := &docState{meta: meta, base: map[string]any{}}
	if s.meta.Fields == nil {
		s.meta.Fields = map[string]FieldMeta{}
	}
	for name, fm := range s.meta.Fields {
		if len(fm.Ops) > 0 || len(fm.Elems) > 0 {
			s.base[name] = fm.Base
		} else {
			s.base[name] = fields[name]
		}
	}
	return s
}

func (s *docState) floor() HLC { return maxHLC(s.meta.Replace, s.meta.Delete) }

// assign sets field name to v (nil unsets it) at h, and reports whether the assignment
// is visible: it is later than the field's last assignment and than the floor.
func (s *docState) assign(name string, v any, h HLC) bool {
	fm := s.meta.Fields[name]
	if !h.After(fm.Clock) {
		return false
	}
	fm.Clock = h
	s.base[name] = v
	fm.Ops = dropOpsBefore(fm.Ops, h)
	fm.Elems = dropElemsBefore(fm.Elems, h)
	s.meta.Fields[name] = fm
	return !s.floor().After(h)
}

// numOp records a numeric operation at h and reports whether it is visible.
func (s *docState) numOp(name, kind string, n any, h HLC) bool {
	fm := s.meta.Fields[name]
	if !h.After(fm.Clock) || s.floor().After(h) {
		return false
	}
	i := sort.Search(len(fm.Ops), func(i int) bool { return !h.After(fm.Ops[i].Clock) })
	if i < len(fm.Ops) && fm.Ops[i].Clock == h {
		return true // the same operation again
	}
	fm.Ops = append(fm.Ops, NumOp{})
	copy(fm.Ops[i+1:], fm.Ops[i:])
	fm.Ops[i] = NumOp{Clock: h, Kind: kind, N: n}
	if _, ok := s.base[name]; !ok {
		s.base[name] = nil
	}
	s.meta.Fields[name] = fm
	return true
}

// elemOps records adds (add) or removes of elements at h and reports whether all are
// visible.
func (s *docState) elemOps(name string, elems []any, add bool, h HLC) bool {
	fm := s.meta.Fields[name]
	if !h.After(fm.Clock) || s.floor().After(h) {
		return false
	}
	if fm.Elems == nil {
		fm.Elems = map[string]ElemOp{}
	}
	won := true
	for _, e := range elems {
		key := canonical(e)
		if old, ok := fm.Elems[key]; ok && !h.After(old.Clock) {
			won = won && old.Clock == h
			continue
		}
		fm.Elems[key] = ElemOp{Clock: h, Add: add, Value: e}
	}
	if _, ok := s.base[name]; !ok {
		s.base[name] = nil
	}
	s.meta.Fields[name] = fm
	return won
}

// put replaces the document at h: the given fields are assigned, all others older than h
// are gone. It reports whether every given field won.
func (s *docState) put(fields map[string]any, h HLC) bool {
	s.meta.Replace = maxHLC(s.meta.Replace, h)
	s.meta.Touch = maxHLC(s.meta.Touch, h)
	won := !s.meta.Delete.After(h)
	for name, v := range fields {
		won = s.assign(name, v, h) && won
	}
	return won
}

// touch records a patch at h.
func (s *docState) touch(h HLC) bool {
	s.meta.Touch = maxHLC(s.meta.Touch, h)
	return !s.floor().After(h)
}

// del deletes the document at h and reports whether the delete is visible (no later put
// or patch).
func (s *docState) del(h HLC) bool {
	s.meta.Delete = maxHLC(s.meta.Delete, h)
	return !s.meta.Touch.After(h)
}

// visible computes the document's fields and whether it is deleted.
func (s *docState) visible() (map[string]any, bool) {
	floor := s.floor()
	out := map[string]any{}
	for name, fm := range s.meta.Fields {
		var v any
		if !floor.After(fm.Clock) {
			v = s.base[name]
		}
		if ops := dropOpsBefore(fm.Ops, floor); len(ops) > 0 {
			v = applyNum(v, ops)
		}
		if elems := dropElemsBefore(fm.Elems, floor); len(elems) > 0 {
			v = applySet(v, elems)
		}
		if v != nil {
			out[name] = v
		}
	}
	return out, s.meta.Delete.After(s.meta.Touch)
}

// save returns the metadata to store with the visible fields: state older than the floor
// is dropped (it can never become visible again), operations older than horizon (the
// retention horizon; "" for none) are folded into their bases, histories are bounded
// (maxNumOps, maxHistoryBytes), and bases are kept only where operations change them.
func (s *docState) save(horizon HLC) Meta {
	floor := s.floor()
	m := s.meta
	fields := make(map[string]FieldMeta, len(m.Fields))
	for name, fm := range m.Fields {
		fm.Ops = dropOpsBefore(fm.Ops, floor)
		fm.Elems = dropElemsBefore(fm.Elems, floor)
		if floor.After(fm.Clock) {
			if len(fm.Ops) == 0 && len(fm.Elems) == 0 {
				continue // hidden for good
			}
			fm.Clock, s.base[name] = "", nil
		}
		fold := sort.Search(len(fm.Ops), func(i int) bool { return !horizon.After(fm.Ops[i].Clock) })
		if len(fm.Ops) > maxNumOps {
			fold = max(fold, len(fm.Ops)-maxNumOps/2)
		}
		s.foldOps(name, &fm, fold)
		s.foldElems(name, &fm, func(e ElemOp) bool { return horizon.After(e.Clock) })
		fields[name] = fm
	}
	for {
		total, largest, size := 0, "", 0
		for name, fm := range fields {
			n := historySize(fm)
			total += n
			if n > size || (n == size && name < largest) {
				largest, size = name, n
			}
		}
		if total <= maxHistoryBytes {
			break
		}
		fm := fields[largest]
		s.foldOps(largest, &fm, (len(fm.Ops)+1)/2)
		if len(fm.Elems) > 0 {
			ops := elemsInOrder(fm.Elems)
			cut := ops[(len(ops)-1)/2]
			s.foldElems(largest, &fm, func(e ElemOp) bool { return !elemAfter(keyedElemOp{e, canonical(e.Value)}, cut) })
		}
		fields[largest] = fm
	}
	for name, fm := range fields {
		fm.Base = nil
		if len(fm.Ops) > 0 || len(fm.Elems) > 0 {
			fm.Base = s.base[name]
		}
		if len(fm.Elems) == 0 {
			fm.Elems = nil
		}
		fields[name] = fm
	}
	m.Fields = fields
	if len(fields) == 0 {
		m.Fields = nil
	}
	return m
}

// foldOps folds field name's first n numeric operations into its base.
func (s *docState) foldOps(name string, fm *FieldMeta, n int) {
	if n <= 0 {
		return
	}
	s.base[name] = applyNum(s.base[name], fm.Ops[:n])
	fm.Ops = append([]NumOp(nil), fm.Ops[n:]...)
}

// foldElems folds field name's element operations that fold selects into its base. They
// must be older than every one it keeps, as applySet applies operations in clock order.
func (s *docState) foldElems(name string, fm *FieldMeta, fold func(ElemOp) bool) {
	var folded, kept map[string]ElemOp
	for k, e := range fm.Elems {
		if fold(e) {
			if folded == nil {
				folded = map[string]ElemOp{}
			}
			folded[k] = e
		} else {
			if kept == nil {
				kept = map[string]ElemOp{}
			}
			kept[k] = e
		}
	}
	if len(folded) > 0 {
		s.base[name] = applySet(s.base[name], folded)
		fm.Elems = kept
	}
}

// markClient records that mutation id of client, whose fingerprint is sum, was applied
// to the document.
func (s *docState) markClient(client string, id, sum int64) {
	if s.meta.Clients == nil {
		s.meta.Clients = map[string]int64{}
	}
	if s.meta.Sums == nil {
		s.meta.Sums = map[string]int64{}
	}
	if id > s.meta.Clients[client] {
		s.meta.Clients[client] = id
		s.meta.Sums[client] = sum
	}
	for len(s.meta.Clients) > maxClients {
		lowest, low := "", int64(math.MaxInt64)
		for c, v := range s.meta.Clients {
			if v < low || (v == low && c < lowest) {
				lowest, low = c, v
			}
		}
		delete(s.meta.Clients, lowest)
		delete(s.meta.Sums, lowest)
	}
}

func dropOpsBefore(ops []NumOp, h HLC) []NumOp {
	i := sort.Search(len(ops), func(i int) bool { return !h.After(ops[i].Clock) })
	if i == 0 {
		return ops
	}
	return append([]NumOp(nil), ops[i:]...)
}

func dropElemsBefore(elems map[string]ElemOp, h HLC) map[string]ElemOp {
	var out map[string]ElemOp
	for k, e := range elems {
		if !h.After(e.Clock) {
			if out == nil {
				out = map[string]ElemOp{}
			}
			out[k] = e
		}
	}
	return out
}

// applyNum applies numeric operations (in clock order) to base. When base is not a number,
// inc starts from 0 and max or min takes its operand. Integers stay integers until a float
// or an overflow.
func applyNum(base any, ops []NumOp) any {
	i, f, isInt, has := number(base)
	for _, op := range ops {
		oi, of, oInt, _ := number(op.N)
		if !has {
			has = true
			if op.Kind != "inc" {
				i, f, isInt = oi, of, oInt
				continue
			}
			i, f, isInt = 0, 0, true
		}
		switch op.Kind {
		case "inc":
			if isInt && oInt && !(oi > 0 && i > math.MaxInt64-oi) && !(oi < 0 && i < math.MinInt64-oi) {
				i += oi
				f = float64(i)
			} else {
				f, isInt = f+of, false
			}
		case "max", "min":
			greater, less := of > f, of < f
			if isInt && oInt {
				greater, less = oi > i, oi < i
			}
			if (op.Kind == "max" && greater) || (op.Kind == "min" && less) {
				i, f, isInt = oi, of, oInt
			}
		}
	}
	if isInt {
		return i
	}
	return f
}

// applySet applies element operations (in clock order) to base, an array (anything else
// counts as empty): adds append missing elements, removes drop every equal element.
//
// An element has at most one operation (elems is keyed by its canonical value), so a
// remove drops every equal element, and an add appends the element unless base has it:
// each element and operation is encoded once, and a large set with a long history costs
// linear time, not their product.
func applySet(base any, elems map[string]ElemOp) any {
	arr, _ := base.([]any)
	ops := elemsInOrder(elems)
	byKey := make(map[string]bool, len(ops)) // canonical value -> add
	for _, op := range ops {
		byKey[op.key] = op.Add
	}
	out := make([]any, 0, len(arr)+len(ops))
	inBase := make(map[string]bool, len(arr))
	for _, v := range arr {
		key := canonical(v)
		if add, ok := byKey[key]; ok && !add {
			continue
		}
		inBase[key] = true
		out = append(out, v)
	}
	for _, op := range ops {
		if op.Add && !inBase[op.key] {
			out = append(out, op.Value)
		}
	}
	return out
}

// keyedElemOp is an element operation with its element's canonical value.
type keyedElemOp struct {
	ElemOp
	key string
}

// elemsInOrder returns element operations in the order applySet applies them: by clock,
// then by canonical value.
func elemsInOrder(elems map[string]ElemOp) []keyedElemOp {
	ops := make([]keyedElemOp, 0, len(elems))
	for _, e := range elems {
		ops = append(ops, keyedElemOp{e, canonical(e.Value)})
	}
	sort.Slice(ops, func(i, j int) bool { return elemAfter(ops[j], ops[i]) })
	return ops
}

// elemAfter reports whether a comes after b in applySet's order.
func elemAfter(a, b keyedElemOp) bool {
	if a.Clock != b.Clock {
		return a.Clock.After(b.Clock)
	}
	return a.key > b.key
}
