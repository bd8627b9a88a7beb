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
// is dropped (it can never become visible again), numeric histories are bounded, and bases
// are kept only where operations change them.
func (s *docState) save() Meta {
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
		if len(fm.Ops) > maxNumOps {
			fold := len(fm.Ops) - maxNumOps/2
			s.base[name] = applyNum(s.base[name], fm.Ops[:fold])
			fm.Ops = append([]NumOp(nil), fm.Ops[fold:]...)
		}
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
func applySet(base any, elems map[string]ElemOp) any {
	arr, _ := base.([]any)
	out := append(make([]any, 0, len(arr)), arr...)
	ops := make([]ElemOp, 0, len(elems))
	for _, e := range elems {
		ops = append(ops, e)
	}
	sort.Slice(ops, func(i, j int) bool {
		if ops[i].Clock != ops[j].Clock {
			return ops[j].Clock.After(ops[i].Clock)
		}
		return canonical(ops[i].Value) < canonical(ops[j].Value)
	})
	for _, op := range ops {
		key := canonical(op.Value)
		kept := out[:0]
		found := false
		for _, v := range out {
			if canonical(v) == key {
				found = true
				if !op.Add {
					continue
				}
			}
			kept = append(kept, v)
		}
		out = kept
		if op.Add && !found {
			out = append(out, op.Value)
		}
	}
	return out
}
