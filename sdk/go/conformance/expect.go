package conformance

import (
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// expect checks one expectation step against the client and the cache file.
func (r *runner) expect(where string, s step) {
	t := r.t
	t.Helper()
	ctx := t.Context()
	check := func(want json.RawMessage, got any, at string) {
		t.Helper()
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		if why := matchJSON(want, b, at); why != "" {
			t.Fatalf("%s: %s\n got %s", where, why, b)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
	}
	c := r.client(s.Client)
	switch s.Do {
	case "expectView":
		docs, err := c.Collection(s.Collection).Find(ctx, tideline.Query{})
		must(err)
		got, pending := map[string]any{}, map[string]int{}
		for _, d := range docs {
			got[d.ID] = d.Fields
			pending[d.ID] = d.Pending
		}
		check(s.Docs, got, "view")
		if !maps.Equal(pending, s.Pending) {
			t.Fatalf("%s: pending writes %v, want %v", where, pending, s.Pending)
		}
	case "expectOutbox":
		rows, err := r.inspect.QueryContext(ctx, `SELECT id, collection, doc_id, op, fields, ops, hlc, base_version FROM tl_outbox ORDER BY id`)
		must(err)
		got := []mutation{}
		for rows.Next() {
			var m mutation
			var fields, ops sql.NullString
			must(rows.Scan(&m.ID, &m.Collection, &m.DocID, &m.Op, &fields, &ops, &m.HLC, &m.BaseVersion))
			if fields.Valid {
				m.Fields = json.RawMessage(fields.String)
			}
			if ops.Valid {
				m.Ops = json.RawMessage(ops.String)
			}
			got = append(got, m)
		}
		rows.Close()
		must(rows.Err())
		check(s.Mutations, got, "outbox")
		if st := c.Status(); st.Pending != len(got) {
			t.Fatalf("%s: status pending %d, outbox %d", where, st.Pending, len(got))
		}
	case "expectReceipts":
		recv := r.recv[cmpName(s.Client)]
		got := []map[string]any{}
		for _, rc := range *recv {
			got = append(got, receiptJSON(rc))
		}
		*recv = nil
		check(s.Receipts, got, "receipts")
	case "expectServer":
		var doc sql.NullString
		var version, seq int64
		var buckets string
		err := r.inspect.QueryRowContext(ctx, `SELECT doc, version, seq, buckets FROM tl_server WHERE collection = ? AND doc_id = ?`, s.Collection, s.DocID).
			Scan(&doc, &version, &seq, &buckets)
		var got any
		if !errors.Is(err, sql.ErrNoRows) {
			must(err)
			var d any = nil
			if doc.Valid {
				d = json.RawMessage(doc.String)
			}
			got = map[string]any{"doc": d, "version": version, "seq": seq, "buckets": json.RawMessage(buckets)}
		}
		check(s.Copy, got, "server copy")
	case "expectMeta":
		for _, k := range sortedKeys(s.Meta) {
			var v sql.NullString
			err := r.inspect.QueryRowContext(ctx, `SELECT value FROM tl_meta WHERE key = ?`, k).Scan(&v)
			if !errors.Is(err, sql.ErrNoRows) {
				must(err)
			}
			var got any
			if v.Valid {
				got = v.String
			}
			if want := s.Meta[k]; got != want && !(want == "$any" && got != nil) {
				t.Fatalf("%s: meta %s = %v, want %v", where, k, got, s.Meta[k])
			}
		}
		if s.CacheVersion != nil {
			var v int
			must(r.inspect.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v))
			if v != *s.CacheVersion {
				t.Fatalf("%s: cache version %d, want %d", where, v, *s.CacheVersion)
			}
		}
	case "expectStatus":
		st := c.Status()
		check(s.Status, map[string]any{"pending": st.Pending, "signedIn": st.SignedIn, "userId": st.UserID, "hasSyncedOnce": st.HasSyncedOnce}, "status")
	case "expectQuery":
		q, err := s.Query.build()
		must(err)
		docs, err := c.Collection(s.Collection).Find(ctx, q)
		if why := errorMismatch(s.Error, err); why != "" {
			t.Fatalf("%s: %s", where, why)
		}
		ids := []string{}
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, s.IDs) && !(len(ids) == 0 && len(s.IDs) == 0) {
			t.Fatalf("%s: query found %v, want %v", where, ids, s.IDs)
		}
	case "expectWatch":
		got := []map[string]any{}
		for _, sn := range *r.watches[s.Watch] {
			ids := []string{}
			for _, d := range sn.Docs {
				ids = append(ids, d.ID)
			}
			got = append(got, map[string]any{"ids": ids, "added": orEmpty(sn.Added), "changed": orEmpty(sn.Changed), "removed": orEmpty(sn.Removed)})
		}
		*r.watches[s.Watch] = nil
		check(s.Snapshots, got, "snapshots")
	default:
		t.Fatalf("%s: unknown step", where)
	}
}

func cmpName(n string) string {
	if n == "" {
		return "a"
	}
	return n
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// receiptJSON is a receipt as scenarios write it: id, collection, docId and status always;
// code, message, field and doc when set; deleted, duplicate, hlcClamped, local when true.
func receiptJSON(rc tideline.Receipt) map[string]any {
	m := map[string]any{"id": rc.MutationID, "collection": rc.Collection, "docId": rc.DocID, "status": rc.Status}
	for k, v := range map[string]string{"code": rc.Code, "message": rc.Message, "field": rc.Field} {
		if v != "" {
			m[k] = v
		}
	}
	if rc.Doc != nil {
		m["doc"] = rc.Doc
	}
	for k, v := range map[string]bool{"deleted": rc.Deleted, "duplicate": rc.Duplicate, "hlcClamped": rc.HLCClamped, "local": rc.Local} {
		if v {
			m[k] = true
		}
	}
	return m
}
