package conformance

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// expect checks one expectation step against the client and the cache file.
func (r *runner) expect(where string, s step) {
	r.t.Helper()
	checks := map[string]func(*tideline.Client, step) (string, error){
		"expectView": r.expectView, "expectOutbox": r.expectOutbox, "expectReceipts": r.expectReceipts,
		"expectServer": r.expectServer, "expectMeta": r.expectMeta, "expectStatus": r.expectStatus,
		"expectQuery": r.expectQuery, "expectWatch": r.expectWatch, "expectAttachments": r.expectAttachments,
		"expectFiles": r.expectFiles,
	}
	check, ok := checks[s.Do]
	if !ok {
		r.t.Fatalf("%s: unknown step", where)
	}
	why, err := check(r.client(s.Client), s)
	if err != nil {
		r.t.Fatalf("%s: %v", where, err)
	}
	if why != "" {
		r.t.Fatalf("%s: %s", where, why)
	}
}

// compare matches got, as JSON, with a scenario's want.
func compare(want json.RawMessage, got any, at string) (string, error) {
	b, err := json.Marshal(got)
	if err != nil {
		return "", err
	}
	if why := matchJSON(want, b, at); why != "" {
		return fmt.Sprintf("%s\n got %s", why, b), nil
	}
	return "", nil
}

func (r *runner) expectView(c *tideline.Client, s step) (string, error) {
	docs, err := c.Collection(s.Collection).Find(r.t.Context(), tideline.Query{})
	if err != nil {
		return "", err
	}
	got, pending := map[string]any{}, map[string]int{}
	for _, d := range docs {
		got[d.ID] = d.Fields
		pending[d.ID] = d.Pending
	}
	if why, err := compare(s.Docs, got, "view"); why != "" || err != nil {
		return why, err
	}
	if !maps.Equal(pending, s.Pending) {
		return fmt.Sprintf("pending writes %v, want %v", pending, s.Pending), nil
	}
	return "", nil
}

func (r *runner) expectOutbox(c *tideline.Client, s step) (string, error) {
	rows, err := r.inspect.QueryContext(r.t.Context(), `SELECT id, collection, doc_id, op, fields, ops, hlc, base_version FROM tl_outbox ORDER BY id`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	got := []mutation{}
	for rows.Next() {
		var m mutation
		var fields, ops sql.NullString
		if err := rows.Scan(&m.ID, &m.Collection, &m.DocID, &m.Op, &fields, &ops, &m.HLC, &m.BaseVersion); err != nil {
			return "", err
		}
		if fields.Valid {
			m.Fields = json.RawMessage(fields.String)
		}
		if ops.Valid {
			m.Ops = json.RawMessage(ops.String)
		}
		got = append(got, m)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if why, err := compare(s.Mutations, got, "outbox"); why != "" || err != nil {
		return why, err
	}
	if st := c.Status(); st.Pending != len(got) {
		return fmt.Sprintf("status pending %d, outbox %d", st.Pending, len(got)), nil
	}
	return "", nil
}

func (r *runner) expectReceipts(_ *tideline.Client, s step) (string, error) {
	recv := r.recv[cmpName(s.Client)]
	got := []map[string]any{}
	for _, rc := range *recv {
		got = append(got, receiptJSON(rc))
	}
	*recv = nil
	return compare(s.Receipts, got, "receipts")
}

func (r *runner) expectServer(_ *tideline.Client, s step) (string, error) {
	var doc sql.NullString
	var version, seq int64
	var buckets string
	err := r.inspect.QueryRowContext(r.t.Context(), `SELECT doc, version, seq, buckets FROM tl_server WHERE collection = ? AND doc_id = ?`, s.Collection, s.DocID).
		Scan(&doc, &version, &seq, &buckets)
	var got any
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return "", err
	default:
		var d any
		if doc.Valid {
			d = json.RawMessage(doc.String)
		}
		got = map[string]any{"doc": d, "version": version, "seq": seq, "buckets": json.RawMessage(buckets)}
	}
	return compare(s.Copy, got, "server copy")
}

func (r *runner) expectMeta(_ *tideline.Client, s step) (string, error) {
	ctx := r.t.Context()
	for _, k := range sortedKeys(s.Meta) {
		var v sql.NullString
		err := r.inspect.QueryRowContext(ctx, `SELECT value FROM tl_meta WHERE key = ?`, k).Scan(&v)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", err
		}
		var got any
		if v.Valid {
			got = v.String
		}
		if want := s.Meta[k]; got != want && !(want == "$any" && got != nil) {
			return fmt.Sprintf("meta %s = %v, want %v", k, got, want), nil
		}
	}
	if s.CacheVersion != nil {
		var v int
		if err := r.inspect.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return "", err
		}
		if v != *s.CacheVersion {
			return fmt.Sprintf("cache version %d, want %d", v, *s.CacheVersion), nil
		}
	}
	return "", nil
}

func (r *runner) expectStatus(c *tideline.Client, s step) (string, error) {
	st := c.Status()
	got := map[string]any{"pending": st.Pending, "signedIn": st.SignedIn, "userId": st.UserID, "hasSyncedOnce": st.HasSyncedOnce}
	var want map[string]json.RawMessage
	if json.Unmarshal(s.Status, &want) == nil && want["live"] != nil {
		got["live"] = st.Live // compared only when the scenario says
	}
	return compare(s.Status, got, "status")
}

func (r *runner) expectQuery(c *tideline.Client, s step) (string, error) {
	q, err := s.Query.build()
	if err != nil {
		return "", err
	}
	docs, err := c.Collection(s.Collection).Find(r.t.Context(), q)
	if why := errorMismatch(s.Error, err); why != "" {
		return why, nil
	}
	ids := []string{}
	for _, d := range docs {
		ids = append(ids, d.ID)
	}
	if !slices.Equal(ids, s.IDs) && !(len(ids) == 0 && len(s.IDs) == 0) {
		return fmt.Sprintf("query found %v, want %v", ids, s.IDs), nil
	}
	return "", nil
}

func (r *runner) expectWatch(_ *tideline.Client, s step) (string, error) {
	got := []map[string]any{}
	for _, sn := range *r.watches[s.Watch] {
		ids := []string{}
		for _, d := range sn.Docs {
			ids = append(ids, d.ID)
		}
		got = append(got, map[string]any{"ids": ids, "added": orEmpty(sn.Added), "changed": orEmpty(sn.Changed), "removed": orEmpty(sn.Removed)})
	}
	*r.watches[s.Watch] = nil
	return compare(s.Snapshots, got, "snapshots")
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
	for k, v := range map[string]string{"code": rc.Code, "message": rc.Message, "field": rc.Field, "attachment": rc.Attachment} {
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

// expectAttachments compares the upload queue, oldest first, and checks that each copy is
// on disk.
func (r *runner) expectAttachments(c *tideline.Client, s step) (string, error) {
	queue, err := c.Attachments(r.t.Context())
	if err != nil {
		return "", err
	}
	got := []map[string]any{}
	for _, a := range queue {
		var u any
		if a.UploadURL != "" {
			u = a.UploadURL
		}
		got = append(got, map[string]any{"localId": a.LocalID, "collection": a.Collection, "docId": a.DocID, "field": a.Field,
			"state": a.State, "attempts": a.Attempts, "uploadUrl": u, "offset": a.Offset})
	}
	if why, err := compare(s.Attachments, got, "attachments"); why != "" || err != nil {
		return why, err
	}
	if st := c.Status(); st.Uploads != len(queue) {
		return fmt.Sprintf("status uploads %d, queue %d", st.Uploads, len(queue)), nil
	}
	return r.filesOnDisk(c)
}

// expectFiles compares the download cache (by file id) and checks that every cached file
// is on disk with its size.
func (r *runner) expectFiles(c *tideline.Client, s step) (string, error) {
	files, err := c.CachedFiles(r.t.Context())
	if err != nil {
		return "", err
	}
	got := []map[string]any{}
	for _, f := range files {
		got = append(got, map[string]any{"fileId": f.ID, "collection": f.Collection, "docId": f.DocID, "size": f.Size, "pinned": f.Pinned})
	}
	if why, err := compare(s.Files, got, "files"); why != "" || err != nil {
		return why, err
	}
	if s.Partials != nil {
		parts, err := r.partials()
		if err != nil {
			return "", err
		}
		got := []map[string]any{}
		for _, p := range parts {
			got = append(got, map[string]any{"fileId": p.id, "collection": p.collection, "docId": p.docID, "size": p.size})
		}
		if why, err := compare(s.Partials, got, "partials"); why != "" || err != nil {
			return why, err
		}
	}
	return r.filesOnDisk(c)
}

// partial is a row of tl_downloads, with its file's size on disk (-1: missing).
type partial struct {
	id, collection, docID, path string
	size                        int64
}

// partials reads the partial downloads (tl_downloads), by file id.
func (r *runner) partials() ([]partial, error) {
	rows, err := r.inspect.QueryContext(r.t.Context(), `SELECT file_id, collection, doc_id, path FROM tl_downloads ORDER BY file_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []partial
	for rows.Next() {
		p := partial{size: -1}
		if err := rows.Scan(&p.id, &p.collection, &p.docID, &p.path); err != nil {
			return nil, err
		}
		p.path = filepath.Join(r.path+".files", filepath.FromSlash(p.path))
		if info, err := os.Stat(p.path); err == nil {
			p.size = info.Size()
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// filesOnDisk: the files directory holds exactly the queue's copies, the cached files and
// the partial downloads (a dropped or evicted file is removed from disk, not only from the
// tables).
func (r *runner) filesOnDisk(c *tideline.Client) (string, error) {
	ctx := r.t.Context()
	want := map[string]int64{}
	files, err := c.CachedFiles(ctx)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		want[f.Path] = f.Size
	}
	rows, err := r.inspect.QueryContext(ctx, `SELECT path, size FROM tl_attachments`)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		var n int64
		if err := rows.Scan(&p, &n); err != nil {
			return "", err
		}
		want[filepath.Join(r.path+".files", filepath.FromSlash(p))] = n
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	parts, err := r.partials()
	if err != nil {
		return "", err
	}
	for _, p := range parts {
		want[p.path] = p.size // on disk, whatever its length
	}
	have := map[string]int64{}
	filepath.WalkDir(r.path+".files", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				have[p] = info.Size()
			}
		}
		return nil
	})
	if !maps.Equal(have, want) {
		return fmt.Sprintf("the files directory holds %v, want %v", have, want), nil
	}
	return "", nil
}
