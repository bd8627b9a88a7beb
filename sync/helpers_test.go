package sync_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// eachEngine runs test once per engine (enginetest.Each).
var eachEngine = enginetest.Each

// env is a sync Service on a real store with a manual clock.
type env struct {
	t       *testing.T
	svc     *datasync.Service
	store   datasync.Store
	secrets tideline.SecretStore
	clock   *tideline.ManualClock
}

var t0 = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, engine string, change func(*datasync.Config)) *env {
	t.Helper()
	db := enginetest.Open(t, engine, nil)
	e := &env{t: t, store: db.Sync(), secrets: db.Secrets(), clock: tideline.NewManualClock(t0)}
	cfg := datasync.Config{Clock: e.clock, Secrets: e.secrets}
	if change != nil {
		change(&cfg)
	}
	var err error
	if e.svc, err = datasync.New(t.Context(), e.store, cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// hlc is a client stamp ms milliseconds after t0.
func hlc(ms int, node string) string {
	return string(datasync.MakeHLC(t0.Add(time.Duration(ms)*time.Millisecond), 0, node))
}

func (e *env) push(user, client string, muts ...datasync.Mutation) []datasync.Receipt {
	e.t.Helper()
	r, err := e.svc.Push(e.t.Context(), datasync.Caller{UserID: user}, client, muts)
	if err != nil {
		e.t.Fatalf("Push: %v", err)
	}
	return r
}

// pullAll pulls from cursor until nothing is left and returns the changes and the cursor.
func (e *env) pullAll(user, cursor string, limit int) ([]datasync.Change, string) {
	e.t.Helper()
	var all []datasync.Change
	for i := 0; ; i++ {
		p, err := e.svc.Pull(e.t.Context(), datasync.Caller{UserID: user}, datasync.PullRequest{Cursor: cursor, Limit: limit, Fresh: cursor == ""})
		if err != nil {
			e.t.Fatalf("Pull: %v", err)
		}
		all, cursor = append(all, p.Changes...), p.Cursor
		if !p.HasMore {
			return all, cursor
		}
		if i > 10000 {
			e.t.Fatal("Pull never ends")
		}
	}
}

func put(id int64, coll, doc string, fields map[string]any) datasync.Mutation {
	return datasync.Mutation{ID: id, Collection: coll, DocID: doc, Op: "put", Fields: fields}
}

func patch(id int64, coll, doc string, fields map[string]any) datasync.Mutation {
	return datasync.Mutation{ID: id, Collection: coll, DocID: doc, Op: "patch", Fields: fields}
}

func inc(id int64, coll, doc, field string, n int64) datasync.Mutation {
	return datasync.Mutation{ID: id, Collection: coll, DocID: doc, Op: "patch", Ops: map[string]datasync.FieldOp{field: {Inc: json.Number(itoa(n))}}}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func wantStatus(t *testing.T, r datasync.Receipt, status string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("receipt %+v, want status %s", r, status)
	}
}

func ptr[T any](v T) *T { return &v }

// docOf returns the visible fields of a change list's last state of doc.
func docOf(changes []datasync.Change, coll, doc string) (map[string]any, bool, bool) {
	var fields map[string]any
	found, deleted := false, false
	for _, c := range changes {
		if c.Collection == coll && c.DocID == doc {
			found, deleted, fields = true, c.Op == datasync.OpDelete, c.Fields
		}
	}
	return fields, deleted, found
}

var _ = context.Background
