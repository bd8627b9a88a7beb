package sync

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/tideline-dev/tideline"
)

// Mutation is one change a client pushes.
type Mutation struct {
	// ID is the client's id of the mutation: a positive integer, strictly increasing for
	// each client, so the server can tell a retry from a new mutation.
	ID         int64
	Collection string
	DocID      string
	Op         string // put, patch or delete
	// Fields: for put, the whole document; for patch, the top-level fields to set (null
	// unsets). Values are decoded JSON.
	Fields map[string]any
	// Ops are commutative operations on top-level fields (patch only).
	Ops map[string]FieldOp
	// HLC is the client's hybrid logical clock stamp; "" lets the server stamp it.
	HLC string
	// BaseVersion is the document version the client last saw; nil if unknown.
	BaseVersion *int64
}

// fingerprint is a hash of everything the mutation says, so a retry (the same mutation
// resent) can be told from a reused id. Never 0, which stands for "not recorded".
func (m Mutation) fingerprint() int64 {
	b, err := json.Marshal(struct {
		C, D, O, H string
		F          map[string]any
		X          map[string]FieldOp
		B          *int64
	}{m.Collection, m.DocID, m.Op, m.HLC, m.Fields, m.Ops, m.BaseVersion})
	if err != nil { // decoded JSON always encodes; if not, no fingerprint
		return 0
	}
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(sum[:8])>>1) | 1
}

// FieldOp is one commutative operation; exactly one of its fields is set.
type FieldOp struct {
	Inc, Max, Min any   // a number
	Add, Remove   []any // elements of a set-like array: strings, numbers or booleans
}

// Receipt statuses.
const (
	Applied  = "applied"  // the mutation took effect as sent
	Merged   = "merged"   // it took effect in part (newer writes won some fields), or not at all under server-wins; Doc is the result
	Rejected = "rejected" // it was refused (Code, Message) and changed nothing
	Conflict = "conflict" // optimistic policy: its base version is stale; Doc is the server's document; nothing changed
)

// Receipt codes of rejected mutations.
const (
	RejectInvalid           = "invalid"
	RejectForbidden         = "forbidden"
	RejectTooLarge          = "too_large"
	RejectSchema            = "schema_violation"
	RejectUnknownCollection = "unknown_collection"
	// RejectIDReused: the mutation's id is the last one its client applied to the
	// document, but its content differs: a client bug, never a retry.
	RejectIDReused = "id_reused"
)

// Receipt is the outcome of one mutation.
type Receipt struct {
	ID     int64
	Status string
	// Seq and Version are the document's after the push (0 when rejected).
	Seq, Version int64
	// Code and Message explain a rejection.
	Code, Message string
	// Field names the offending field of a rejection, when there is one.
	Field string
	// Doc and Deleted are the document after the push, for merged and conflict receipts.
	Doc     map[string]any
	Deleted bool
	// Duplicate marks a mutation the server had processed already (a retry): nothing was
	// applied again.
	Duplicate bool
	// Clamped is set when the mutation's HLC was too far ahead and the server's was used.
	Clamped bool
}

var (
	clientIDForm = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	docIDForm    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._:@~-]{0,127}$`)
)

// prepared is a mutation that passed validation, ready to apply to its document.
type prepared struct {
	index   int // in the batch
	m       Mutation
	ref     DocRef
	col     Collection
	fields  map[string]any
	hlc     HLC
	clamped bool
	dup     bool // the client's mark says it was processed before
	setsACL bool // it changes an owner-shared document's _acl
}

// rejection is why a mutation was refused.
type rejection struct{ code, field, msg string }

func reject(code, field, format string, args ...any) *rejection {
	return &rejection{code: code, field: field, msg: fmt.Sprintf(format, args...)}
}

// prepare checks a mutation and normalises its values.
func (s *Service) prepare(i int, m Mutation, user, client string, all map[string]Collection) (prepared, *rejection) {
	p, r := s.prepareChecks(i, m, user, client, all)
	if r == nil {
		_, p.setsACL = p.fields[ACLField]
		if m.Op == "put" && p.col.Read == OwnerShared {
			p.setsACL = true // a put replaces the whole document, _acl included
		}
	}
	return p, r
}

func (s *Service) prepareChecks(i int, m Mutation, user, client string, all map[string]Collection) (prepared, *rejection) {
	p := prepared{index: i, m: m}
	if err := checkCollectionName(m.Collection); err != nil {
		return p, reject(RejectInvalid, "collection", "%v", err)
	}
	col, configured := s.collection(all, m.Collection)
	if !configured && s.cfg.StrictCollections {
		return p, reject(RejectUnknownCollection, "collection", "The collection %q is not configured, and this server accepts only configured collections.", m.Collection)
	}
	if !docIDForm.MatchString(m.DocID) {
		return p, reject(RejectInvalid, "docId", "The document id must be 1 to 128 letters, digits or ._:@~- (not starting with one of .:@~-).")
	}
	p.col, p.ref = col, DocRef{Collection: m.Collection, Scope: col.scope(user), ID: m.DocID}
	if m.BaseVersion != nil && *m.BaseVersion < 0 {
		return p, reject(RejectInvalid, "baseVersion", "The base version must not be negative.")
	}
	switch m.Op {
	case "put", "patch":
	case "delete":
		if len(m.Fields) > 0 || len(m.Ops) > 0 {
			return p, reject(RejectInvalid, "op", "A delete carries no fields or ops.")
		}
	default:
		return p, reject(RejectInvalid, "op", "The op must be put, patch or delete.")
	}
	if m.Op == "put" && len(m.Ops) > 0 {
		return p, reject(RejectInvalid, "ops", "Ops are for patch; a put sets the whole document.")
	}
	if m.Op == "patch" && len(m.Fields)+len(m.Ops) == 0 {
		return p, reject(RejectInvalid, "fields", "A patch needs fields or ops.")
	}
	p.fields = map[string]any{}
	for name, v := range m.Fields {
		if name == ACLField && col.Read == OwnerShared {
			if err := checkACL(v); err != nil {
				return p, reject(RejectInvalid, "fields."+ACLField, "%v", err)
			}
		} else if err := checkFieldName(name, true); err != nil {
			if name == ACLField {
				err = fmt.Errorf("_acl shares documents of owner-shared collections only")
			}
			return p, reject(RejectInvalid, "fields", "%v", err)
		}
		n, err := normalize(v, name, 1)
		if err != nil {
			return p, reject(RejectInvalid, "fields."+name, "%v", err)
		}
		if n == nil && m.Op == "put" {
			continue // a null in a put is an absent field
		}
		p.fields[name] = n
	}
	for name, op := range m.Ops {
		if err := checkFieldName(name, true); err != nil {
			return p, reject(RejectInvalid, "ops", "%v", err)
		}
		if _, both := m.Fields[name]; both {
			return p, reject(RejectInvalid, "ops."+name, "The field %q is both set and operated on in one mutation.", name)
		}
		if r := checkOp(name, op); r != nil {
			return p, r
		}
	}
	if m.HLC == "" {
		p.hlc = s.hlc.now(client)
	} else {
		h, err := ParseHLC(m.HLC)
		if err != nil {
			return p, reject(RejectInvalid, "hlc", "%v", err)
		}
		p.hlc, p.clamped = s.hlc.accept(h, client)
	}
	return p, nil
}

// maxSetElems bounds the elements of one add or remove.
const maxSetElems = 1000

func checkOp(name string, op FieldOp) *rejection {
	kinds := 0
	for _, set := range []bool{op.Inc != nil, op.Max != nil, op.Min != nil, op.Add != nil, op.Remove != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return reject(RejectInvalid, "ops."+name, "An op is exactly one of inc, max, min, add, remove.")
	}
	for _, n := range []any{op.Inc, op.Max, op.Min} {
		if n == nil {
			continue
		}
		if v, err := normalize(n, name, 1); err != nil || !isNumber(v) {
			return reject(RejectInvalid, "ops."+name, "inc, max and min take a number.")
		}
	}
	for _, elems := range [][]any{op.Add, op.Remove} {
		if elems == nil {
			continue
		}
		if len(elems) == 0 || len(elems) > maxSetElems {
			return reject(RejectInvalid, "ops."+name, "add and remove take 1 to %d elements.", maxSetElems)
		}
		for _, e := range elems {
			v, err := normalize(e, name, 1)
			switch v.(type) {
			case string, int64, float64, bool:
			default:
				err = fmt.Errorf("not a scalar")
			}
			if err != nil {
				return reject(RejectInvalid, "ops."+name, "Set elements are strings, numbers or booleans.")
			}
		}
	}
	return nil
}

func isNumber(v any) bool {
	_, _, _, ok := number(v)
	return ok
}

// errBatch builds the error of a malformed batch (the whole push is refused).
func errBatch(code tideline.Code, field, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	return &tideline.Error{Code: code, Message: msg, Fields: map[string]string{field: msg}}
}
