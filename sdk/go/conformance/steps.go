package conformance

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// loadState writes a scenario's starting cache: migration 1, the rows, then the
// migrations up to the state's cache version (a version-1 cache keeps user_version 0, as
// core v1 left it).
func (r *runner) loadState(st state) {
	t := r.t
	db, err := sql.Open(r.driver.Name, r.driver.DSN(r.path))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("load state: %v\n%s", err, q)
		}
	}
	exec(core.Migrations[0])
	for k, v := range st.Meta {
		exec(core.Statement("set_meta"), sql.Named("key", k), sql.Named("value", v))
	}
	for _, d := range st.Server {
		var doc any
		if len(d.Doc) > 0 && string(d.Doc) != "null" {
			doc = string(d.Doc)
		}
		b, _ := json.Marshal(d.Buckets)
		exec(core.Statement("server_put"), sql.Named("collection", d.Collection), sql.Named("doc_id", d.DocID),
			sql.Named("doc", doc), sql.Named("version", d.Version), sql.Named("seq", d.Seq), sql.Named("buckets", string(b)))
	}
	for _, m := range st.Outbox {
		exec(`INSERT INTO tl_outbox (id, collection, doc_id, op, fields, ops, hlc, base_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)`,
			m.ID, m.Collection, m.DocID, m.Op, rawOrNil(m.Fields), rawOrNil(m.Ops), m.HLC, m.BaseVersion)
	}
	if st.View != nil {
		for _, v := range st.View {
			exec(`INSERT INTO tl_view (collection, doc_id, doc, version, pending) VALUES (?, ?, ?, ?, ?)`,
				v.Collection, v.DocID, string(v.Doc), v.Version, v.Pending)
		}
	} else {
		for _, d := range st.Server {
			exec(core.Statement("view_from_server"), sql.Named("collection", d.Collection), sql.Named("doc_id", d.DocID))
		}
	}
	for v := 1; v < st.CacheVersion; v++ {
		exec(core.Migrations[v])
		exec(fmt.Sprintf("PRAGMA user_version = %d", v+1))
	}
}

func rawOrNil(b json.RawMessage) any {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	return string(b)
}

func (r *runner) step(where string, s step) {
	t := r.t
	t.Helper()
	ctx := t.Context()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s", where, fmt.Sprintf(format, args...))
	}
	checkErr := func(err error) {
		t.Helper()
		if why := errorMismatch(s.Error, err); why != "" {
			fail("%s", why)
		}
	}
	exchange := func(call func() error) {
		t.Helper()
		r.srv.load(s.Exchanges)
		err := call()
		if why := r.srv.done(); why != "" {
			fail("%s (the call returned %v)", why, err)
		}
		checkErr(err)
	}
	switch s.Do {
	case "put", "patch", "delete":
		w := s.write
		w.Op = s.Do
		checkErr(r.client(s.Client).Write(ctx, func(tx *tideline.WriteTx) error { return apply(tx, w) }))
	case "write":
		checkErr(r.client(s.Client).Write(ctx, func(tx *tideline.WriteTx) error {
			for _, w := range s.Writes {
				if err := apply(tx, w); err != nil {
					return err
				}
			}
			return nil
		}))
	case "sync", "push", "pull":
		c := r.client(s.Client)
		call := map[string]func() error{"sync": func() error { return c.Sync(ctx) }, "push": func() error { return c.Push(ctx) }, "pull": func() error { return c.Pull(ctx) }}[s.Do]
		exchange(call)
	case "stream":
		c := r.client(s.Client)
		var reply []byte
		exchange(func() (err error) {
			reply, err = c.HandleStreamMessage(ctx, s.Message)
			return err
		})
		if why := matchJSON(s.Reply, reply, "reply"); why != "" {
			fail("%s", why)
		}
	case "reopen":
		name := cmp.Or(s.Client, "a")
		if c, ok := r.clients[name]; ok {
			c.Close()
			delete(r.clients, name)
		}
		c, err := r.open(s.Session, s.ClearOtherUser)
		checkErr(err)
		if err == nil {
			r.clients[name] = c
			r.client(name)
		}
	case "signIn":
		c := r.client(s.Client)
		exchange(func() error { return c.SignIn(ctx, s.Email, s.Password) })
	case "signOut":
		c := r.client(s.Client)
		exchange(func() error { return c.SignOut(ctx, s.ClearLocal) })
	case "clear":
		checkErr(r.client(s.Client).Clear(ctx))
	case "attach":
		f := s.File
		local := filepath.Join(r.src, f.Name)
		if err := os.WriteFile(local, []byte(f.Content), 0o600); err != nil {
			fail("%v", err)
		}
		_, err := r.client(s.Client).Attach(ctx, s.Collection, s.DocID, s.Field, local, f.ContentType)
		checkErr(err)
	case "upload":
		c := r.client(s.Client)
		exchange(func() error { return c.Upload(ctx) })
	case "openFile", "pin":
		c := r.client(s.Client)
		var v any
		if err := json.Unmarshal(s.Ref, &v); err != nil {
			fail("ref: %v", err)
		}
		ref, ok := tideline.AsFileRef(v)
		if !ok {
			fail("ref %s is not a file reference", s.Ref)
		}
		var got string
		exchange(func() (err error) {
			if s.Do == "pin" {
				got, err = c.Pin(ctx, s.Collection, s.DocID, ref)
			} else {
				got, err = c.OpenFile(ctx, s.Collection, s.DocID, ref)
			}
			return err
		})
		if s.Content != nil {
			b, err := os.ReadFile(got)
			if err != nil {
				fail("the file opened: %v", err)
			}
			if string(b) != *s.Content {
				fail("the file opened holds %q, want %q", b, *s.Content)
			}
		}
	case "unpin":
		checkErr(r.client(s.Client).Unpin(ctx, s.FileID))
	case "setClock":
		r.now = time.UnixMilli(s.Ms)
	case "watch":
		got := &[]tideline.Snapshot{}
		r.watches[s.Watch] = got
		q, err := s.Query.build()
		if err != nil {
			fail("%v", err)
		}
		if _, err := r.client(s.Client).Collection(s.Collection).Watch(ctx, q, func(sn tideline.Snapshot) { *got = append(*got, sn) }); err != nil {
			fail("%v", err)
		}
	default:
		r.expect(where, s)
	}
}

// apply runs one write of a scenario in the transaction.
func apply(tx *tideline.WriteTx, w write) error {
	switch w.Op {
	case "put":
		return tx.Put(w.Collection, w.DocID, w.Fields)
	case "delete":
		return tx.Delete(w.Collection, w.DocID)
	}
	var chs []tideline.Change
	for _, k := range sortedKeys(w.Fields) {
		chs = append(chs, tideline.Set(k, w.Fields[k]))
	}
	for _, k := range sortedKeys(w.Ops) {
		for kind, arg := range w.Ops[k] {
			chs = append(chs, tideline.Op(k, kind, arg))
		}
	}
	return tx.Patch(w.Collection, w.DocID, chs...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (q *query) build() (tideline.Query, error) {
	var out tideline.Query
	if q == nil {
		return out, nil
	}
	for _, w := range q.Where {
		out.Where = append(out.Where, tideline.Where(w.Field, w.Op, w.Value))
	}
	out.OrderBy, out.Desc, out.Limit = q.OrderBy, q.Desc, q.Limit
	return out, nil
}

// errorKind is how the runner names an error (docs/sdk-core.md "Errors").
func errorKind(err error) (kind string, status int, retryAfter time.Duration) {
	var se *tideline.ServerError
	switch {
	case errors.As(err, &se):
		kind = "server"
		if se.Status == 403 {
			kind = "otherUser"
		}
		return kind, se.Status, se.RetryAfter
	case errors.Is(err, tideline.ErrOtherUser):
		return "otherUser", 0, 0
	case errors.Is(err, tideline.ErrSignedOut):
		return "signedOut", 0, 0
	case errors.Is(err, tideline.ErrInvalid):
		return "invalid", 0, 0
	case errors.Is(err, tideline.ErrNoFile):
		return "noFile", 0, 0
	}
	return "network", 0, 0
}

func errorMismatch(want *wantError, err error) string {
	if want == nil {
		if err != nil {
			return fmt.Sprintf("error %v, want none", err)
		}
		return ""
	}
	if err == nil {
		return fmt.Sprintf("no error, want %+v", *want)
	}
	kind, status, ra := errorKind(err)
	switch {
	case kind != want.Kind:
		return fmt.Sprintf("error %v is %s, want %s", err, kind, want.Kind)
	case want.Status != 0 && status != want.Status:
		return fmt.Sprintf("error %v has status %d, want %d", err, status, want.Status)
	case want.RetryAfterMs != nil && ra.Milliseconds() != *want.RetryAfterMs:
		return fmt.Sprintf("error %v has Retry-After %v, want %d ms", err, ra, *want.RetryAfterMs)
	}
	return ""
}

// matchJSON compares want (a scenario's JSON; empty or null: no value) with got exactly:
// objects have the same keys, arrays the same elements in order, numbers the same text,
// and the string "$any" matches any value that is present.
func matchJSON(want json.RawMessage, got []byte, at string) string {
	wv, err := decode(want)
	if err != nil {
		return fmt.Sprintf("%s: the scenario's JSON: %v", at, err)
	}
	gv, err := decode(got)
	if err != nil {
		return fmt.Sprintf("%s: %v in %s", at, err, got)
	}
	return match(wv, gv, at)
}

func decode(b []byte) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func match(want, got any, at string) string {
	if w, ok := want.(string); ok && w == "$any" {
		if got == nil {
			return at + ": missing"
		}
		return ""
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %s", at, js(got))
		}
		for k := range g {
			if _, ok := w[k]; !ok {
				return fmt.Sprintf("%s.%s: unexpected (%s)", at, k, js(g[k]))
			}
		}
		for _, k := range sortedKeys(w) {
			gv, ok := g[k]
			if !ok {
				return fmt.Sprintf("%s.%s: missing", at, k)
			}
			if why := match(w[k], gv, at+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %s, got %s", at, js(w), js(got))
		}
		for i := range w {
			if why := match(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); why != "" {
				return why
			}
		}
		return ""
	}
	// Scalars: the same JSON type and text (json.Number keeps a number's text).
	if fmt.Sprintf("%T %v", want, want) != fmt.Sprintf("%T %v", got, got) {
		return fmt.Sprintf("%s: want %s, got %s", at, js(want), js(got))
	}
	return ""
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
