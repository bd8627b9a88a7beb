package sync_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	datasync "github.com/tideline-dev/tideline/sync"
	"pgregory.net/rapid"
)

// TestServiceConverges pushes the same random mutations through the whole service (checks,
// normalisation, merge, commit) in two orders into two fresh stores: both must end with
// the same document. Each mutation comes from its own client, so its id is fresh in every
// order.
func TestServiceConverges(t *testing.T) {
	t.Parallel()
	a, b := newEnv(t, "sqlite", nil), newEnv(t, "sqlite", nil)
	doc := 0
	rapid.Check(t, func(rt *rapid.T) {
		doc++
		docID := fmt.Sprint("d", doc)
		n := rapid.IntRange(1, 10).Draw(rt, "n")
		muts := make([]datasync.Mutation, n)
		for i := range muts {
			node := fmt.Sprint("client", i)
			m := datasync.Mutation{ID: 1, Collection: "docs", DocID: docID, HLC: hlc(rapid.IntRange(0, 5).Draw(rt, "ms"), node)}
			switch rapid.IntRange(0, 7).Draw(rt, "kind") {
			case 0:
				m.Op = "delete"
			case 1:
				m.Op, m.Fields = "put", map[string]any{"a": json.Number(fmt.Sprint(rapid.IntRange(0, 3).Draw(rt, "v"))), "b": "put"}
			case 2, 3:
				m.Op, m.Fields = "patch", map[string]any{rapid.SampledFrom([]string{"a", "b", "c"}).Draw(rt, "f"): rapid.SampledFrom([]any{"x", json.Number("7"), nil}).Draw(rt, "v")}
			case 4:
				m.Op, m.Ops = "patch", map[string]datasync.FieldOp{"n": {Inc: json.Number(fmt.Sprint(rapid.IntRange(-3, 3).Draw(rt, "inc")))}}
			case 5:
				m.Op, m.Ops = "patch", map[string]datasync.FieldOp{"n": {Max: json.Number(fmt.Sprint(rapid.IntRange(-3, 3).Draw(rt, "max")))}}
			case 6:
				m.Op, m.Ops = "patch", map[string]datasync.FieldOp{"tags": {Add: []any{rapid.SampledFrom([]string{"p", "q"}).Draw(rt, "add")}}}
			case 7:
				m.Op, m.Ops = "patch", map[string]datasync.FieldOp{"tags": {Remove: []any{rapid.SampledFrom([]string{"p", "q"}).Draw(rt, "rm")}}}
			}
			muts[i] = m
		}
		order := rapid.Permutation(muts).Draw(rt, "order")
		final := func(e *env, ms []datasync.Mutation) (map[string]any, bool) {
			for i, m := range ms {
				if _, err := e.svc.Push(rt.Context(), datasync.Caller{UserID: "alice"}, fmt.Sprint(docID, "-", hlcNode(m.HLC), "-", i), []datasync.Mutation{m}); err != nil {
					rt.Fatalf("push: %v", err)
				}
			}
			docs, err := e.store.FindDocuments(rt.Context(), []datasync.DocRef{{Collection: "docs", Scope: "alice", ID: docID}})
			if err != nil || len(docs) != 1 {
				rt.Fatalf("find: %v %d", err, len(docs))
			}
			d := docs[0]
			if err := datasync.Normalize(&d); err != nil {
				rt.Fatal(err)
			}
			return d.Fields, d.Deleted
		}
		fa, da := final(a, muts)
		fb, db := final(b, order)
		if diff := cmp.Diff(fa, fb); diff != "" || da != db {
			rt.Fatalf("orders diverge: deleted %v vs %v (-first +second):\n%s", da, db, diff)
		}
	})
}

// hlcNode is the node of a stamp: the client that made it.
func hlcNode(h string) string { return h[20:] }
