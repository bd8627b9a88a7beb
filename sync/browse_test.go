package sync_test

import (
	"context"
	"slices"
	"strings"
	stdsync "sync"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/enginetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

func TestBrowse(t *testing.T) {
	t.Parallel()
	eachEngine(t, testBrowse)
}

func testBrowse(t *testing.T, engine string) {
	e := newEnv(t, engine, func(c *datasync.Config) {
		c.Collections = []datasync.Collection{{Name: "posts", Read: datasync.PublicRead}, {Name: "empty", Policy: datasync.Optimistic}}
	})
	ctx := t.Context()
	e.push("ada", "phone", put(1, "notes", "n1", map[string]any{"t": "a"}), put(2, "notes", "n2", map[string]any{"t": "b"}),
		put(3, "posts", "p1", map[string]any{"t": "c"}))
	e.push("bob", "laptop", put(1, "notes", "n1", map[string]any{"t": "bob's"}))

	cols, err := e.svc.BrowseCollections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cols {
		got = append(got, c.Name+":"+string(c.Read)+":"+string(c.Policy)+":"+itoa(c.Live)+"/"+itoa(c.Deleted)+":"+map[bool]string{true: "configured", false: "default"}[c.Configured])
	}
	want := []string{"empty:owner:optimistic:0/0:configured", "notes:owner:lww:3/0:default", "posts:public-read:lww:1/0:configured"}
	if !slices.Equal(got, want) {
		t.Fatalf("BrowseCollections = %v, want %v", got, want)
	}

	docs, next, err := e.svc.BrowseDocuments(ctx, datasync.DocumentQuery{Collection: "notes", Limit: 2})
	if err != nil || len(docs) != 2 || docs[0].Owner != "bob" || docs[1].Ref.ID != "n2" || next != docs[1].Seq {
		t.Fatalf("first page: %+v, next %d, %v", docs, next, err)
	}
	docs, next, err = e.svc.BrowseDocuments(ctx, datasync.DocumentQuery{Collection: "notes", Limit: 2, Before: next})
	if err != nil || len(docs) != 1 || docs[0].Ref != (datasync.DocRef{Collection: "notes", Scope: "ada", ID: "n1"}) || next != 0 {
		t.Fatalf("last page: %+v, next %d, %v", docs, next, err)
	}
	for _, q := range []datasync.DocumentQuery{{Collection: "Notes"}, {Collection: "tideline_x"}, {Collection: "<script>"},
		{Collection: "notes", IDPrefix: "<script>"}, {Collection: "notes", IDPrefix: "a b"}, {IDPrefix: strings.Repeat("a", 129)}} {
		_, _, err := e.svc.BrowseDocuments(ctx, q)
		enginetest.WantCode(t, err, tideline.CodeInvalid)
	}

	ref := datasync.DocRef{Collection: "notes", Scope: "ada", ID: "n2"}
	d, err := e.svc.Document(ctx, ref)
	if err != nil || d.Fields["t"] != "b" || d.Owner != "ada" || d.Meta.Latest().Node() != "phone" {
		t.Fatalf("Document = %+v, %v", d, err)
	}
	_, err = e.svc.Document(ctx, datasync.DocRef{Collection: "notes", Scope: "bob", ID: "n2"})
	enginetest.WantCode(t, err, tideline.CodeNotFound)
	for _, bad := range []datasync.DocRef{{Collection: "no.tes", Scope: "ada", ID: "n2"}, {Collection: "tideline_sync_clients", ID: "phone"},
		{Collection: "notes", Scope: "ada", ID: "<script>"}, {Collection: "notes", Scope: "a\x00da", ID: "n2"}, {Collection: "notes", Scope: "ada", ID: ""}} {
		_, err = e.svc.Document(ctx, bad)
		enginetest.WantCode(t, err, tideline.CodeNotFound)
		_, _, err = e.svc.DeleteDocument(ctx, bad)
		enginetest.WantCode(t, err, tideline.CodeNotFound)
	}

	// Deleting: ada's device drops it at its next pull; the tombstone is the server's.
	_, cursor := e.pullAll("ada", "", 100)
	tomb, wrote, err := e.svc.DeleteDocument(ctx, ref)
	if err != nil || !wrote || !tomb.Deleted || tomb.Version != 2 || tomb.Seq == 0 || tomb.Meta.Latest().Node() != "tideline" {
		t.Fatalf("DeleteDocument = %+v, %v, %v", tomb, wrote, err)
	}
	changes, _ := e.pullAll("ada", cursor, 100)
	if len(changes) != 1 || changes[0].DocID != "n2" || changes[0].Op != datasync.OpDelete {
		t.Fatalf("ada's device after the delete: %+v", changes)
	}
	if again, wrote, err := e.svc.DeleteDocument(ctx, ref); err != nil || wrote || again.Seq != tomb.Seq {
		t.Fatalf("deleting a tombstone: %+v, wrote %v, %v", again, wrote, err)
	}
	_, _, err = e.svc.DeleteDocument(ctx, datasync.DocRef{Collection: "notes", Scope: "ada", ID: "nope"})
	enginetest.WantCode(t, err, tideline.CodeNotFound)
	if docs, _, _ := e.svc.BrowseDocuments(ctx, datasync.DocumentQuery{Collection: "notes", State: datasync.DeletedDocs}); len(docs) != 1 || docs[0].Ref != ref {
		t.Fatalf("the deleted documents: %+v", docs)
	}
}

// racingStore is a real store whose first Commit another device's write precedes: the
// commit then meets a version it did not read.
type racingStore struct {
	datasync.Store
	once   stdsync.Once
	before func()
}

func (s *racingStore) Commit(ctx context.Context, c datasync.Commit) ([]datasync.CommitResult, error) {
	s.once.Do(s.before)
	return s.Store.Commit(ctx, c)
}

// A delete that meets a device's write made since it read the document reads it again and
// deletes what is there.
func TestDeleteDocumentRetriesOnConflict(t *testing.T) {
	t.Parallel()
	e := newEnv(t, enginetest.SQLite, nil)
	e.push("ada", "phone", put(1, "notes", "n1", map[string]any{"t": "a"}))
	racing := &racingStore{Store: e.store}
	svc, err := datasync.New(t.Context(), racing, datasync.Config{Clock: e.clock, Secrets: e.secrets})
	if err != nil {
		t.Fatal(err)
	}
	racing.before = func() { e.push("ada", "phone", patch(2, "notes", "n1", map[string]any{"t": "b"})) }
	tomb, wrote, err := svc.DeleteDocument(t.Context(), datasync.DocRef{Collection: "notes", Scope: "ada", ID: "n1"})
	if err != nil || !wrote || tomb.Version != 3 {
		t.Fatalf("DeleteDocument after a racing write: version %d, wrote %v, %v; want version 3 (1 put, 2 the racing patch)", tomb.Version, wrote, err)
	}
	d, err := e.svc.Document(t.Context(), tomb.Ref)
	if err != nil || !d.Deleted || len(d.Fields) != 0 {
		t.Fatalf("stored: %+v, %v", d, err)
	}
}

func TestMetaLatest(t *testing.T) {
	t.Parallel()
	h := func(ms int, node string) datasync.HLC { return datasync.HLC(hlc(ms, node)) }
	for _, c := range []struct {
		name string
		meta datasync.Meta
		want datasync.HLC
	}{
		{"Empty", datasync.Meta{}, ""},
		{"Touch", datasync.Meta{Replace: h(1, "a"), Touch: h(2, "b")}, h(2, "b")},
		{"Field", datasync.Meta{Touch: h(2, "b"), Fields: map[string]datasync.FieldMeta{"x": {Clock: h(3, "c")}}}, h(3, "c")},
		{"NumOp", datasync.Meta{Touch: h(2, "b"), Fields: map[string]datasync.FieldMeta{"n": {Ops: []datasync.NumOp{{Clock: h(5, "d")}}}}}, h(5, "d")},
		{"SetOp", datasync.Meta{Fields: map[string]datasync.FieldMeta{"s": {Elems: map[string]datasync.ElemOp{"1": {Clock: h(6, "e")}}}}}, h(6, "e")},
		{"Delete", datasync.Meta{Touch: h(2, "b"), Delete: h(9, "tideline")}, h(9, "tideline")},
	} {
		if got := c.meta.Latest(); got != c.want {
			t.Errorf("%s: Latest = %q, want %q", c.name, got, c.want)
		}
	}
	if n := h(1, "phone-7").Node(); n != "phone-7" {
		t.Errorf("Node = %q", n)
	}
	if n := datasync.HLC("nonsense").Node(); n != "" {
		t.Errorf("the node of a malformed stamp: %q", n)
	}
}
