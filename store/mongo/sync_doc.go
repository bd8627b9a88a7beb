package mongo

import (
	"maps"
	"slices"
	"time"

	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// A synced document is stored as a MongoDB user would store it: the user's fields at the top
// level, and Tideline's metadata in one subdocument, _sync:
//
//	{_id: docKey, <user fields>..., _sync: {scope, docId, owner, version, seq, fence,
//	 deleted, buckets: [string], evicted: [string], evictSeq, reach: [string], updatedAt,
//	 purgeAt, meta, files: [string]}}
//
// A tombstone has no user fields. seq is the number of the document's last write. fence
// bars writes: a write numbered s needs fence < s, and sets fence = s; the watermark
// advancer raises it to fence off a stalled writer (see sync_sequence.go). A placeholder is
// {_id, _sync: {scope, docId, version: 0, fence}}: a fence on a document that does not
// exist (it did not exist yet, or it was a tombstone that was purged: purgeOne). It is no
// document to readers (FindDocuments skips it, no scan matches it), and the document's
// creation replaces it.
//
// evicted are the buckets the document left (sync.Document.Evicted), evictSeq the seq of the
// write that last added one (sync.Document.EvictSeq); reach is buckets ∪
// evicted, the buckets whose scans return the document, so that one index, {reach, seq},
// serves ScanBucket. purgeAt is updatedAt, present only on what a purge will change (a
// tombstone, or a document with evictions), so that its sparse index holds only those.
//
// The _id is the document id, prefixed with the scope and ':' in scoped collections. Ids
// may contain ':', so an unscoped id could spell a scoped key if a collection changed from
// scoped to unscoped; reads compare the stored scope and id with the ref asked for, so
// such a clash shows as a conflict, never as another user's document.
//
// User field names are checked by package sync (no leading '$', no '.', no NUL, never _id
// or _sync), so they are valid MongoDB keys.

// docKey is a document's _id: unique per scope and id within a collection. The scope (a
// user id) comes first; scope and id are also stored in _sync, and read from there.
func docKey(r sync.DocRef) string {
	if r.Scope == "" {
		return r.ID
	}
	return r.Scope + ":" + r.ID
}

// docRecord is a stored document: the metadata, and every other key (the user's fields,
// and _id, which decode drops) through the inline map.
type docRecord struct {
	Sync   syncRecord     `bson:"_sync"`
	Fields map[string]any `bson:",inline"`
}

type syncRecord struct {
	Scope     string     `bson:"scope"`
	DocID     string     `bson:"docId"`
	Owner     string     `bson:"owner,omitempty"`
	Version   int64      `bson:"version"`
	Seq       int64      `bson:"seq,omitempty"`
	Fence     int64      `bson:"fence"`
	Deleted   bool       `bson:"deleted"`
	Buckets   []string   `bson:"buckets"`
	Evicted   []string   `bson:"evicted"`
	EvictSeq  int64      `bson:"evictSeq,omitempty"`
	Reach     []string   `bson:"reach"`
	UpdatedAt time.Time  `bson:"updatedAt"`
	PurgeAt   *time.Time `bson:"purgeAt,omitempty"`
	Meta      metaRecord `bson:"meta"`
	// Files are the ids of the files the fields refer to (files.Refs), for the files
	// sweeper; absent when none, so that its sparse index holds only documents with some.
	Files []string `bson:"files,omitempty"`
}

// metaRecord is sync.Meta as stored. It differs in one place: a field's set elements are
// an array of {k, c, a, v} instead of a map keyed by each element's canonical JSON, because
// such keys hold '.' ("1.5", "\"a.b\""), which MongoDB tools cannot address and FerretDB
// refuses. Field names and client ids are valid keys as they are.
type metaRecord struct {
	Replace sync.HLC               `bson:"r,omitempty"`
	Delete  sync.HLC               `bson:"d,omitempty"`
	Touch   sync.HLC               `bson:"t,omitempty"`
	Fields  map[string]fieldRecord `bson:"f,omitempty"`
	Clients map[string]int64       `bson:"c,omitempty"`
	Sums    map[string]int64       `bson:"s,omitempty"`
}

type fieldRecord struct {
	Clock sync.HLC     `bson:"c,omitempty"`
	Base  any          `bson:"b,omitempty"` // omitted only when nil, as encoding/json does
	Ops   []sync.NumOp `bson:"n,omitempty"`
	Elems []elemRecord `bson:"e,omitempty"`
}

type elemRecord struct {
	Key   string   `bson:"k"`
	Clock sync.HLC `bson:"c"`
	Add   bool     `bson:"a,omitempty"`
	Value any      `bson:"v"`
}

// encodeDoc is the stored form of d after a write numbered seq: the whole document, for an
// insert or a replacement. Keys are sorted so that the stored order is stable.
func encodeDoc(d sync.Document, seq int64) bson.D {
	out := make(bson.D, 0, len(d.Fields)+2)
	out = append(out, bson.E{Key: "_id", Value: docKey(d.Ref)})
	for _, k := range slices.Sorted(maps.Keys(d.Fields)) {
		out = append(out, bson.E{Key: k, Value: d.Fields[k]})
	}
	// Empty arrays, not null, for anyone reading the collection.
	buckets, evicted := append([]string{}, d.Buckets...), append([]string{}, d.Evicted...)
	reach := slices.Clone(buckets)
	for _, b := range evicted {
		if !slices.Contains(reach, b) {
			reach = append(reach, b)
		}
	}
	if d.EvictSeq == 0 && len(evicted) > 0 {
		d.EvictSeq = seq // this write evicts
	}
	updated := d.UpdatedAt.UTC()
	var purgeAt *time.Time
	if d.Deleted || len(evicted) > 0 {
		purgeAt = &updated
	}
	out = append(out, bson.E{Key: "_sync", Value: syncRecord{
		Scope: d.Ref.Scope, DocID: d.Ref.ID, Owner: d.Owner, Version: d.Version, Seq: seq, Fence: seq,
		Deleted: d.Deleted, Buckets: buckets, Evicted: evicted, EvictSeq: d.EvictSeq, Reach: reach, UpdatedAt: updated,
		PurgeAt: purgeAt, Meta: encodeMeta(d.Meta), Files: docFiles(d),
	}})
	return out
}

// docFiles are the files d refers to; a tombstone refers to none.
func docFiles(d sync.Document) []string {
	if d.Deleted {
		return nil
	}
	return files.Refs(d.Fields)
}

func encodeMeta(m sync.Meta) metaRecord {
	r := metaRecord{Replace: m.Replace, Delete: m.Delete, Touch: m.Touch, Clients: m.Clients, Sums: m.Sums}
	if len(m.Fields) > 0 {
		r.Fields = make(map[string]fieldRecord, len(m.Fields))
	}
	for name, f := range m.Fields {
		fr := fieldRecord{Clock: f.Clock, Base: f.Base, Ops: f.Ops}
		for _, k := range slices.Sorted(maps.Keys(f.Elems)) {
			e := f.Elems[k]
			fr.Elems = append(fr.Elems, elemRecord{Key: k, Clock: e.Clock, Add: e.Add, Value: e.Value})
		}
		r.Fields[name] = fr
	}
	return r
}

// document is r as a sync.Document of collection. BSON documents and arrays inside values
// come back as map[string]any and []any, the forms sync.Normalize takes; numbers stay as
// stored (int32, int64 or float64), for Normalize to convert.
func (r docRecord) document(collection string) sync.Document {
	fields := make(map[string]any, len(r.Fields))
	for k, v := range r.Fields {
		if k != "_id" {
			fields[k] = plain(v)
		}
	}
	s := r.Sync
	return sync.Document{
		Ref:   sync.DocRef{Collection: collection, Scope: s.Scope, ID: s.DocID},
		Owner: s.Owner, Version: s.Version, Seq: s.Seq, Deleted: s.Deleted,
		Fields: fields, Buckets: s.Buckets, Evicted: s.Evicted, EvictSeq: s.EvictSeq, Meta: s.Meta.meta(), UpdatedAt: s.UpdatedAt.UTC(),
	}
}

func (r metaRecord) meta() sync.Meta {
	m := sync.Meta{Replace: r.Replace, Delete: r.Delete, Touch: r.Touch, Clients: r.Clients, Sums: r.Sums}
	if len(r.Fields) > 0 {
		m.Fields = make(map[string]sync.FieldMeta, len(r.Fields))
	}
	for name, fr := range r.Fields {
		f := sync.FieldMeta{Clock: fr.Clock, Base: plain(fr.Base)}
		for _, op := range fr.Ops {
			f.Ops = append(f.Ops, sync.NumOp{Clock: op.Clock, Kind: op.Kind, N: plain(op.N)})
		}
		if len(fr.Elems) > 0 {
			f.Elems = make(map[string]sync.ElemOp, len(fr.Elems))
		}
		for _, e := range fr.Elems {
			f.Elems[e.Key] = sync.ElemOp{Clock: e.Clock, Add: e.Add, Value: plain(e.Value)}
		}
		m.Fields[name] = f
	}
	return m
}

// plain converts a decoded BSON value to plain Go: documents to map[string]any, arrays to
// []any, recursively; scalars are returned as they are.
func plain(v any) any {
	switch x := v.(type) {
	case bson.D:
		m := make(map[string]any, len(x))
		for _, e := range x {
			m[e.Key] = plain(e.Value)
		}
		return m
	case bson.M:
		return plainMap(x)
	case map[string]any:
		return plainMap(x)
	case bson.A:
		return plainSlice(x)
	case []any:
		return plainSlice(x)
	}
	return v
}

func plainMap(x map[string]any) map[string]any {
	m := make(map[string]any, len(x))
	for k, e := range x {
		m[k] = plain(e)
	}
	return m
}

func plainSlice(x []any) []any {
	s := make([]any, len(x))
	for i, e := range x {
		s[i] = plain(e)
	}
	return s
}

// refRecord names a document in a ledger entry, so that the watermark advancer can fence it.
type refRecord struct {
	Collection string `bson:"c"`
	Scope      string `bson:"s"`
	ID         string `bson:"d"`
}

func (r refRecord) ref() sync.DocRef {
	return sync.DocRef{Collection: r.Collection, Scope: r.Scope, ID: r.ID}
}
