package sync

import "strconv"

// MaxStoredBytes is the largest a document may be as a store keeps it, its fields and its
// merge metadata (Meta) together, by StoredSize: MongoDB's limit on one document (16 MiB).
// Both engines refuse a write past it (the service rejects the mutation with too_large,
// a final receipt), so that the embedded engine accepts nothing MongoDB would refuse and a
// deployment can move between them. A collection's MaxDocBytes bounds the visible fields
// alone, as JSON; this bounds what is stored, where numbers and short array elements cost
// several times their JSON size.
const MaxStoredBytes = 16 << 20

// storedEnvelope is what StoredSize counts for the stored form's fixed keys (_id and the
// scalars of _sync), beyond the strings it counts one by one.
const storedEnvelope = 256

// StoredSize is the size of d in BSON as the MongoDB engine lays it out (the user's fields
// at the top level, the metadata under _sync: docs/architecture.md), or a little more: the
// engine checks that its encoding never exceeds it (store/mongo TestStoredSizeBoundsBSON).
func StoredSize(d Document) int {
	n := storedEnvelope + 2*(len(d.Ref.Scope)+len(d.Ref.ID)) + len(d.Owner)
	for k, v := range d.Fields {
		n += bsonElem(k, bsonValueSize(v))
	}
	// buckets, evicted, and reach (both together, at most)
	n += 2 * (bsonStrings(d.Buckets) + bsonStrings(d.Evicted))
	return n + metaSize(d.Meta)
}

// metaSize is the BSON size of m as the MongoDB engine stores it: elements as an array of
// {k: canonical JSON, c, a, v}.
func metaSize(m Meta) int {
	n := 5 + bsonElem("r", bsonStr(string(m.Replace))) + bsonElem("d", bsonStr(string(m.Delete))) +
		bsonElem("t", bsonStr(string(m.Touch)))
	for key, clients := range map[string]map[string]int64{"c": m.Clients, "s": m.Sums} {
		if len(clients) > 0 {
			c := 5
			for id := range clients {
				c += bsonElem(id, 8)
			}
			n += bsonElem(key, c)
		}
	}
	if len(m.Fields) > 0 {
		f := 5
		for name, fm := range m.Fields {
			f += bsonElem(name, fieldMetaSize(fm))
		}
		n += bsonElem("f", f)
	}
	return n
}

// fieldMetaSize is the BSON size of one field's metadata.
func fieldMetaSize(fm FieldMeta) int {
	n := 5 + bsonElem("c", bsonStr(string(fm.Clock))) + historySize(fm)
	if fm.Base != nil {
		n += bsonElem("b", bsonValueSize(fm.Base))
	}
	return n
}

// historySize is the BSON size of a field's operations, the part of its metadata that
// grows with every numeric or set operation until it is folded (docState.save).
func historySize(fm FieldMeta) int {
	n := 0
	if len(fm.Ops) > 0 {
		a := 5
		for i, op := range fm.Ops {
			a += bsonElem(strconv.Itoa(i), 5+bsonElem("c", bsonStr(string(op.Clock)))+bsonElem("k", bsonStr(op.Kind))+bsonElem("n", 8))
		}
		n += bsonElem("n", a)
	}
	if len(fm.Elems) > 0 {
		a, i := 5, 0
		for k, e := range fm.Elems {
			a += bsonElem(strconv.Itoa(i), 5+bsonElem("k", bsonStr(k))+bsonElem("c", bsonStr(string(e.Clock)))+
				bsonElem("a", 1)+bsonElem("v", bsonValueSize(e.Value)))
			i++
		}
		n += bsonElem("e", a)
	}
	return n
}

// bsonValueSize is the BSON size of a normalised value (as Normalize leaves it).
func bsonValueSize(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		return 1
	case string:
		return bsonStr(x)
	case map[string]any:
		n := 5
		for k, e := range x {
			n += bsonElem(k, bsonValueSize(e))
		}
		return n
	case []any:
		n := 5
		for i, e := range x {
			n += bsonElem(strconv.Itoa(i), bsonValueSize(e))
		}
		return n
	}
	return 8 // a number: int64 or float64 (an int32 takes less)
}

// bsonElem is the size of an element with key k and a value of size v.
func bsonElem(k string, v int) int { return 1 + len(k) + 1 + v }

func bsonStr(s string) int { return 4 + len(s) + 1 }

// bsonStrings is the BSON size of an array of strings.
func bsonStrings(ss []string) int {
	n := 5
	for i, s := range ss {
		n += bsonElem(strconv.Itoa(i), bsonStr(s))
	}
	return n
}
