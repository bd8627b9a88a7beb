package tideline

import (
	"bytes"
	"cmp"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline/sdk/core"
)

// The conformance scenarios of sdk/core/conformance, run against this SDK: each gives
// the local state, the app's calls, the server's answers in order, and what the client
// must send and end with. Every SDK runs the same files.

type scenario struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	State       *struct {
		Server []struct {
			Collection string         `json:"collection"`
			DocID      string         `json:"docId"`
			Doc        map[string]any `json:"doc"`
			Version    int64          `json:"version"`
			Seq        int64          `json:"seq"`
			Buckets    []string       `json:"buckets"`
		} `json:"server"`
		Cursor string `json:"cursor"`
	} `json:"state"`
	Steps []step `json:"steps"`
}

type step struct {
	Do         string                    `json:"do"`
	Collection string                    `json:"collection"`
	DocID      string                    `json:"docId"`
	Fields     map[string]any            `json:"fields"`
	Ops        map[string]map[string]any `json:"ops"`
	Docs       map[string]map[string]any `json:"docs"`    // expectView: docId -> fields
	Pending    map[string]int            `json:"pending"` // expectView: docId -> pending writes
	IDs        []int64                   `json:"ids"`     // expectOutbox
	Receipts   []map[string]any          `json:"receipts"`
	Exchanges  []exchange                `json:"exchanges"`
	Error      bool                      `json:"error"`   // sync: it must fail
	Cursor     *string                   `json:"cursor"`  // expectCursor
	Version    *int64                    `json:"version"` // expectServer
	Deleted    bool                      `json:"deleted"` // expectServer: a tombstone
	Absent     bool                      `json:"absent"`  // expectServer: no copy at all
}

type exchange struct {
	Request struct {
		Path string `json:"path"`
		Body any    `json:"body"`
	} `json:"request"`
	Response struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
		Drop   bool            `json:"drop"` // the connection drops before an answer
	} `json:"response"`
}

func TestConformance(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(core.Scenarios, "conformance/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, f := range files {
		raw, err := core.Scenarios.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var sc scenario
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		dec.UseNumber()
		if err := dec.Decode(&sc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) { runScenario(t, sc) })
	}
}

// script is the scripted server: it answers the exchanges of the current sync step in
// order and fails the test on any request it did not expect.
type script struct {
	t    *testing.T
	mu   sync.Mutex
	next []exchange
	errs []string
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	if len(s.next) == 0 {
		s.errs = append(s.errs, fmt.Sprintf("unexpected request %s %s %s", r.Method, r.URL.Path, body))
		http.Error(w, "unexpected", http.StatusTeapot)
		return
	}
	ex := s.next[0]
	s.next = s.next[1:]
	if r.URL.Path != ex.Request.Path {
		s.errs = append(s.errs, fmt.Sprintf("request to %s, want %s", r.URL.Path, ex.Request.Path))
	}
	if ex.Request.Body != nil {
		var got any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			s.errs = append(s.errs, fmt.Sprintf("request body %s: %v", body, err))
		} else if why := match(ex.Request.Body, got, "body"); why != "" {
			s.errs = append(s.errs, fmt.Sprintf("request to %s: %s\n got %s", r.URL.Path, why, body))
		}
	}
	if ex.Response.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			conn, _, _ := hj.Hijack()
			conn.Close()
		}
		return
	}
	status := cmp.Or(ex.Response.Status, 200)
	w.Header().Set("Content-Type", "application/json")
	if status >= 400 {
		w.Header().Set("Content-Type", "application/problem+json")
	}
	w.WriteHeader(status)
	w.Write(ex.Response.Body)
}

// match says how got differs from want: objects match when every key of want matches (got
// may have more), arrays element by element, "*" matches anything present.
func match(want, got any, at string) string {
	switch w := want.(type) {
	case string:
		if w == "*" {
			if got == nil {
				return at + ": missing"
			}
			return ""
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: want an object, got %v", at, got)
		}
		for k, wv := range w {
			if why := match(wv, g[k], at+"."+k); why != "" {
				return why
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s: want %d elements, got %v", at, len(w), got)
		}
		for i := range w {
			if why := match(w[i], g[i], fmt.Sprintf("%s[%d]", at, i)); why != "" {
				return why
			}
		}
		return ""
	}
	if fmt.Sprint(want) != fmt.Sprint(got) {
		return fmt.Sprintf("%s: want %v, got %v", at, want, got)
	}
	return ""
}

func runScenario(t *testing.T, sc scenario) {
	srv := &script{t: t}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	path := filepath.Join(t.TempDir(), "local.db")
	now := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	auth := Session("access-1", "refresh-1")
	open := func() *Client {
		c, err := Open(t.Context(), path, ts.URL, auth, Options{Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var receipts []Receipt
	listen := func(c *Client) {
		c.Subscribe(func(e Event) {
			if e.Receipt != nil {
				receipts = append(receipts, *e.Receipt)
			}
		})
	}
	c := open()
	listen(c)
	defer func() { c.Close() }()
	if st := sc.State; st != nil {
		loadState(t, c, st.Server, st.Cursor)
	}
	ctx := t.Context()
	for i, s := range sc.Steps {
		where := fmt.Sprintf("step %d (%s)", i+1, s.Do)
		now = now.Add(time.Second)
		switch s.Do {
		case "put":
			must(t, c.Collection(s.Collection).Put(ctx, s.DocID, s.Fields), where)
		case "patch":
			var chs []Change
			for k, v := range s.Fields {
				chs = append(chs, Set(k, v))
			}
			for k, op := range s.Ops {
				for kind, arg := range op {
					chs = append(chs, Change{field: k, op: kind, value: arg})
				}
			}
			must(t, c.Collection(s.Collection).Patch(ctx, s.DocID, chs...), where)
		case "delete":
			must(t, c.Collection(s.Collection).Delete(ctx, s.DocID), where)
		case "sync", "pull":
			srv.mu.Lock()
			srv.next, srv.errs = s.Exchanges, nil
			srv.mu.Unlock()
			var err error
			if s.Do == "sync" {
				err = c.Sync(ctx)
			} else {
				err = c.Pull(ctx)
			}
			srv.mu.Lock()
			left, errs := len(srv.next), srv.errs
			srv.mu.Unlock()
			if len(errs) > 0 {
				t.Fatalf("%s: %s", where, strings.Join(errs, "\n"))
			}
			if left > 0 {
				t.Fatalf("%s: %d exchanges left unused (sync error: %v)", where, left, err)
			}
			if s.Error != (err != nil) {
				t.Fatalf("%s: error %v, want error: %v", where, err, s.Error)
			}
		case "reopen": // the app restarts
			c.Close()
			c = open()
			listen(c)
		case "expectView":
			got := map[string]map[string]any{}
			pending := map[string]int{}
			docs, err := c.Collection(s.Collection).Find(ctx, Query{})
			must(t, err, where)
			for _, d := range docs {
				got[d.ID] = d.Fields
				pending[d.ID] = d.Pending
			}
			if why := match(toAny(s.Docs), toAny(got), "view"); why != "" || len(got) != len(s.Docs) {
				t.Fatalf("%s: %s\n got %s", where, why, js(got))
			}
			for id, n := range s.Pending {
				if pending[id] != n {
					t.Fatalf("%s: %s has %d pending writes, want %d", where, id, pending[id], n)
				}
			}
		case "expectOutbox":
			var ids []int64
			rows, err := c.db.QueryContext(ctx, `SELECT id FROM tl_outbox ORDER BY id`)
			must(t, err, where)
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				ids = append(ids, id)
			}
			rows.Close()
			if !slices.Equal(ids, s.IDs) && !(len(ids) == 0 && len(s.IDs) == 0) {
				t.Fatalf("%s: outbox %v, want %v", where, ids, s.IDs)
			}
			if st := c.Status(); st.Pending != len(s.IDs) {
				t.Fatalf("%s: status pending %d, want %d", where, st.Pending, len(s.IDs))
			}
		case "expectReceipts":
			var got []any
			for _, r := range receipts {
				got = append(got, toAny(map[string]any{"id": r.MutationID, "status": r.Status, "code": r.Code, "docId": r.DocID, "doc": r.Doc, "duplicate": r.Duplicate}))
			}
			if why := match(toAny(s.Receipts), got, "receipts"); why != "" {
				t.Fatalf("%s: %s\n got %s", where, why, js(got))
			}
			receipts = nil
		case "expectCursor":
			cur, err := c.meta(ctx, "cursor")
			must(t, err, where)
			if cur != *s.Cursor {
				t.Fatalf("%s: cursor %q, want %q", where, cur, *s.Cursor)
			}
		case "expectServer":
			var doc sql.NullString
			var version int64
			err := c.db.QueryRowContext(ctx, `SELECT doc, version FROM tl_server WHERE collection = ? AND doc_id = ?`, s.Collection, s.DocID).Scan(&doc, &version)
			switch {
			case s.Absent:
				if err != sql.ErrNoRows {
					t.Fatalf("%s: server copy of %s present (%v)", where, s.DocID, err)
				}
			case err != nil:
				t.Fatalf("%s: %v", where, err)
			case s.Deleted != !doc.Valid || (s.Version != nil && *s.Version != version):
				t.Fatalf("%s: server copy %v version %d, want deleted %v version %v", where, doc, version, s.Deleted, deref(s.Version))
			}
		default:
			t.Fatalf("%s: unknown step", where)
		}
	}
}

// loadState writes a scenario's starting server copies and cursor.
func loadState(t *testing.T, c *Client, server []struct {
	Collection string         `json:"collection"`
	DocID      string         `json:"docId"`
	Doc        map[string]any `json:"doc"`
	Version    int64          `json:"version"`
	Seq        int64          `json:"seq"`
	Buckets    []string       `json:"buckets"`
}, cursor string) {
	t.Helper()
	ctx := t.Context()
	err := c.inTx(ctx, func(tx *stmtTx) error {
		for _, d := range server {
			var doc any
			if d.Doc != nil {
				b, _ := json.Marshal(d.Doc)
				doc = string(b)
			}
			b, _ := json.Marshal(d.Buckets)
			if _, err := tx.ExecContext(ctx, core.Statement("server_put"), sql.Named("collection", d.Collection), sql.Named("doc_id", d.DocID),
				sql.Named("doc", doc), sql.Named("version", d.Version), sql.Named("seq", d.Seq), sql.Named("buckets", string(b))); err != nil {
				return err
			}
			if err := rebase(ctx, tx, d.Collection, d.DocID); err != nil {
				return err
			}
		}
		if cursor != "" {
			return c.setMeta(ctx, tx, "cursor", cursor)
		}
		return nil
	})
	must(t, err, "load state")
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// toAny round-trips v through JSON (numbers as json.Number), so values compare by text.
func toAny(v any) any {
	b, _ := json.Marshal(v)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	dec.Decode(&out)
	return out
}

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
