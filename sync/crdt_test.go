package sync

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

func hlcAt(ms int, node string) HLC {
	return MakeHLC(time.UnixMilli(int64(1_700_000_000_000+ms)), 0, node)
}

// crdtOp is one mutation's effect on a document state, for tests.
type crdtOp struct {
	Kind   string // put, patch, delete
	H      HLC
	Fields map[string]any
	Num    map[string][2]any // field -> {kind, n}
	Add    map[string][]any
	Remove map[string][]any
}

func (o crdtOp) apply(s *docState) bool {
	switch o.Kind {
	case "put":
		return s.put(o.Fields, o.H)
	case "delete":
		return s.del(o.H)
	}
	won := s.touch(o.H)
	for f, v := range o.Fields {
		won = s.assign(f, v, o.H) && won
	}
	for f, n := range o.Num {
		won = s.numOp(f, n[0].(string), n[1], o.H) && won
	}
	for f, e := range o.Add {
		won = s.elemOps(f, e, true, o.H) && won
	}
	for f, e := range o.Remove {
		won = s.elemOps(f, e, false, o.H) && won
	}
	return won
}

// run applies ops in order to an empty document, saving and reloading after each, as the
// server does, and returns the visible result.
func run(ops []crdtOp) (map[string]any, bool, Meta) {
	fields, meta := map[string]any{}, Meta{}
	for _, o := range ops {
		s := newState(fields, meta)
		o.apply(s)
		fields, _ = s.visible()
		meta = s.save()
	}
	s := newState(fields, meta)
	f, del := s.visible()
	return f, del, meta
}

func TestCRDT(t *testing.T) {
	t.Parallel()
	h := func(ms int) HLC { return hlcAt(ms, "a") }
	tests := []struct {
		name    string
		ops     []crdtOp
		want    map[string]any
		deleted bool
	}{
		{"PutThenPatch", []crdtOp{
			{Kind: "put", H: h(1), Fields: map[string]any{"title": "a", "done": false}},
			{Kind: "patch", H: h(2), Fields: map[string]any{"done": true}},
		}, map[string]any{"title": "a", "done": true}, false},
		{"OlderPatchLoses", []crdtOp{
			{Kind: "patch", H: h(5), Fields: map[string]any{"title": "new"}},
			{Kind: "patch", H: h(3), Fields: map[string]any{"title": "old"}},
		}, map[string]any{"title": "new"}, false},
		{"PutReplacesOlderFieldsOnly", []crdtOp{
			{Kind: "patch", H: h(1), Fields: map[string]any{"a": int64(1)}},
			{Kind: "patch", H: h(9), Fields: map[string]any{"b": int64(2)}},
			{Kind: "put", H: h(5), Fields: map[string]any{"c": int64(3)}},
		}, map[string]any{"b": int64(2), "c": int64(3)}, false},
		{"NullUnsets", []crdtOp{
			{Kind: "put", H: h(1), Fields: map[string]any{"a": int64(1), "b": int64(2)}},
			{Kind: "patch", H: h(2), Fields: map[string]any{"a": nil}},
		}, map[string]any{"b": int64(2)}, false},
		{"DeleteAfterUpdate", []crdtOp{
			{Kind: "put", H: h(1), Fields: map[string]any{"a": int64(1)}},
			{Kind: "delete", H: h(2)},
		}, map[string]any{}, true},
		{"UpdateAfterDeleteResurrects", []crdtOp{
			{Kind: "put", H: h(1), Fields: map[string]any{"a": int64(1), "b": int64(2)}},
			{Kind: "delete", H: h(2)},
			{Kind: "patch", H: h(3), Fields: map[string]any{"b": int64(3)}},
		}, map[string]any{"b": int64(3)}, false},
		{"LateUpdateBeforeDeleteStaysDeleted", []crdtOp{
			{Kind: "delete", H: h(5)},
			{Kind: "patch", H: h(3), Fields: map[string]any{"b": int64(3)}},
		}, map[string]any{}, true},
		{"IncsSumInAnyOrder", []crdtOp{
			{Kind: "patch", H: h(3), Num: map[string][2]any{"n": {"inc", int64(5)}}},
			{Kind: "patch", H: h(1), Num: map[string][2]any{"n": {"inc", int64(2)}}},
			{Kind: "patch", H: h(2), Num: map[string][2]any{"n": {"inc", int64(-1)}}},
		}, map[string]any{"n": int64(6)}, false},
		{"IncOnAssignedValue", []crdtOp{
			{Kind: "patch", H: h(1), Fields: map[string]any{"n": int64(10)}},
			{Kind: "patch", H: h(2), Num: map[string][2]any{"n": {"inc", int64(1)}}},
		}, map[string]any{"n": int64(11)}, false},
		{"AssignmentDropsOlderIncs", []crdtOp{
			{Kind: "patch", H: h(1), Num: map[string][2]any{"n": {"inc", int64(1)}}},
			{Kind: "patch", H: h(4), Num: map[string][2]any{"n": {"inc", int64(1)}}},
			{Kind: "patch", H: h(2), Fields: map[string]any{"n": int64(100)}},
		}, map[string]any{"n": int64(101)}, false},
		{"IncFloatsAndOverflow", []crdtOp{
			{Kind: "patch", H: h(1), Fields: map[string]any{"n": int64(9223372036854775807)}},
			{Kind: "patch", H: h(2), Num: map[string][2]any{"n": {"inc", int64(1)}}},
		}, map[string]any{"n": 9223372036854775808.0}, false},
		{"MaxMin", []crdtOp{
			{Kind: "patch", H: h(1), Num: map[string][2]any{"hi": {"max", int64(3)}, "lo": {"min", int64(3)}}},
			{Kind: "patch", H: h(2), Num: map[string][2]any{"hi": {"max", int64(1)}, "lo": {"min", 2.5}}},
		}, map[string]any{"hi": int64(3), "lo": 2.5}, false},
		{"SetAddRemove", []crdtOp{
			{Kind: "patch", H: h(1), Fields: map[string]any{"tags": []any{"a", "b"}}},
			{Kind: "patch", H: h(3), Add: map[string][]any{"tags": {"c", "a"}}},
			{Kind: "patch", H: h(2), Remove: map[string][]any{"tags": {"b", "c"}}},
		}, map[string]any{"tags": []any{"a", "c"}}, false},
		{"SetRemoveLaterWins", []crdtOp{
			{Kind: "patch", H: h(2), Add: map[string][]any{"tags": {"x"}}},
			{Kind: "patch", H: h(3), Remove: map[string][]any{"tags": {"x"}}},
			{Kind: "patch", H: h(1), Add: map[string][]any{"tags": {"x"}}},
		}, map[string]any{"tags": []any{}}, false},
		{"TieBrokenByNode", []crdtOp{
			{Kind: "patch", H: hlcAt(1, "b"), Fields: map[string]any{"v": "from b"}},
			{Kind: "patch", H: hlcAt(1, "a"), Fields: map[string]any{"v": "from a"}},
		}, map[string]any{"v": "from b"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, deleted, _ := run(tt.ops)
			if diff := cmp.Diff(tt.want, got); diff != "" || deleted != tt.deleted {
				t.Fatalf("deleted=%v (want %v), fields (-want +got):\n%s", deleted, tt.deleted, diff)
			}
		})
	}
}

func TestCRDTReceipts(t *testing.T) {
	t.Parallel()
	s := newState(nil, Meta{})
	if !s.put(map[string]any{"a": int64(1)}, hlcAt(5, "a")) {
		t.Fatal("the first put did not win")
	}
	s.touch(hlcAt(3, "b"))
	if s.assign("a", int64(2), hlcAt(3, "b")) {
		t.Fatal("an older assignment won")
	}
	if s.del(hlcAt(4, "b")) {
		t.Fatal("a delete older than the last put won")
	}
	if !s.del(hlcAt(6, "b")) {
		t.Fatal("a newer delete lost")
	}
}

func TestCRDTFoldsLongHistories(t *testing.T) {
	t.Parallel()
	var ops []crdtOp
	for i := range 1000 {
		ops = append(ops, crdtOp{Kind: "patch", H: hlcAt(i+1, "a"), Num: map[string][2]any{"n": {"inc", int64(1)}}})
	}
	got, _, meta := run(ops)
	if got["n"] != int64(1000) {
		t.Fatalf("n = %v after 1000 increments", got["n"])
	}
	if n := len(meta.Fields["n"].Ops); n > maxNumOps {
		t.Fatalf("%d operations kept, bound %d", n, maxNumOps)
	}
	// An increment arriving older than the folded ones still counts.
	got, _, _ = run(append(ops, crdtOp{Kind: "patch", H: hlcAt(0, "late"), Num: map[string][2]any{"n": {"inc", int64(5)}}}))
	if got["n"] != int64(1005) {
		t.Fatalf("a late increment was lost: n = %v", got["n"])
	}
}

func TestCRDTDropsHiddenState(t *testing.T) {
	t.Parallel()
	_, _, meta := run([]crdtOp{
		{Kind: "put", H: hlcAt(1, "a"), Fields: map[string]any{"a": int64(1), "b": int64(2)}},
		{Kind: "patch", H: hlcAt(2, "a"), Num: map[string][2]any{"c": {"inc", int64(1)}}},
		{Kind: "delete", H: hlcAt(3, "a")},
	})
	if len(meta.Fields) != 0 {
		t.Fatalf("state older than the delete was kept: %+v", meta.Fields)
	}
}

func TestMetaRoundTripsThroughJSON(t *testing.T) {
	t.Parallel()
	s := newState(nil, Meta{})
	s.put(map[string]any{"n": int64(1), "tags": []any{"x"}}, hlcAt(1, "a"))
	s.numOp("n", "inc", int64(2), hlcAt(2, "a"))
	s.elemOps("tags", []any{"y"}, true, hlcAt(3, "a"))
	s.markClient("c1", 7, 1)
	fields, _ := s.visible()
	meta := s.save()
	b, _ := json.Marshal(meta)
	var back Meta
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	normalized, _ := normalizeMeta(back)
	again, _ := newState(fields, normalized).visible()
	if diff := cmp.Diff(fields, again); diff != "" {
		t.Fatalf("visible after a JSON round trip (-before +after):\n%s", diff)
	}
}

// TestCRDTConvergesFound keeps the cases the property below once found (rapid's fail files,
// kept here instead of under testdata, where rapid ignores them after an upgrade): each
// must converge in both orders to the document given.
func TestCRDTConvergesFound(t *testing.T) {
	t.Parallel()
	at := func(node string) HLC { return hlcAt(0, node) } // one wall time: nodes order them
	del := func(node string) crdtOp { return crdtOp{Kind: "delete", H: at(node)} }
	tests := []struct {
		name   string
		ops    []crdtOp
		order  []int
		want   map[string]any
		delete bool
	}{
		// Deletes, an increment, then a later assignment of a string to the counter.
		{"AssignmentAfterIncrementAtOneWall", []crdtOp{
			del("node0"), del("node1"), del("node2"), del("node3"),
			{Kind: "patch", H: at("node4"), Num: map[string][2]any{"n": {"inc", int64(0)}}},
			{Kind: "patch", H: at("node5"), Fields: map[string]any{"n": "x"}},
		}, []int{0, 1, 2, 3, 5, 4}, map[string]any{"n": "x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reordered := make([]crdtOp, len(tt.order))
			for i, j := range tt.order {
				reordered[i] = tt.ops[j]
			}
			for _, ops := range [][]crdtOp{tt.ops, reordered} {
				got, deleted, _ := run(ops)
				if diff := cmp.Diff(tt.want, got); diff != "" || deleted != tt.delete {
					t.Fatalf("deleted %v, fields (-want +got):\n%s", deleted, diff)
				}
			}
		})
	}
}

// TestCRDTConverges is the property: any set of concurrent mutations, applied in any
// order, gives the same document.
func TestCRDTConverges(t *testing.T) {
	t.Parallel()
	rapid.Check(t, func(t *rapid.T) {
		fields := []string{"a", "b", "n", "tags"}
		genValue := rapid.OneOf(
			rapid.Map(rapid.Int64Range(-5, 5), func(i int64) any { return i }),
			rapid.Map(rapid.SampledFrom([]string{"x", "y", "z"}), func(s string) any { return s }),
			rapid.Just[any](nil),
		)
		genElems := rapid.Map(rapid.SliceOfN(rapid.SampledFrom([]string{"p", "q", "r"}), 1, 2), func(s []string) []any {
			out := make([]any, len(s))
			for i, e := range s {
				out[i] = e
			}
			return out
		})
		n := rapid.IntRange(1, 12).Draw(t, "n")
		var ops []crdtOp
		for i := range n {
			// Distinct clocks: nodes differ, walls may collide.
			o := crdtOp{H: hlcAt(rapid.IntRange(0, 6).Draw(t, "ms"), fmt.Sprint("node", i))}
			switch rapid.IntRange(0, 9).Draw(t, "kind") {
			case 0:
				o.Kind = "delete"
			case 1, 2:
				o.Kind, o.Fields = "put", map[string]any{}
				for _, f := range fields[:2] {
					if v := genValue.Draw(t, "v"); v != nil {
						o.Fields[f] = v
					}
				}
			default:
				o.Kind = "patch"
				switch rapid.IntRange(0, 4).Draw(t, "patch") {
				case 0:
					o.Fields = map[string]any{rapid.SampledFrom(fields).Draw(t, "f"): genValue.Draw(t, "v")}
				case 1:
					o.Num = map[string][2]any{"n": {"inc", rapid.Int64Range(-3, 3).Draw(t, "inc")}}
				case 2:
					o.Num = map[string][2]any{"n": {rapid.SampledFrom([]string{"max", "min"}).Draw(t, "mm"), rapid.Int64Range(-3, 3).Draw(t, "m")}}
				case 3:
					o.Add = map[string][]any{"tags": genElems.Draw(t, "add")}
				case 4:
					o.Remove = map[string][]any{"tags": genElems.Draw(t, "rm")}
				}
			}
			ops = append(ops, o)
		}
		want, wantDel, _ := run(ops)
		perm := rapid.Permutation(ops).Draw(t, "order")
		got, gotDel, _ := run(perm)
		if diff := cmp.Diff(want, got); diff != "" || wantDel != gotDel {
			t.Fatalf("orders diverge: deleted %v vs %v, fields (-first +second):\n%s", wantDel, gotDel, diff)
		}
	})
}
