package mongo

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestStoredSizeBoundsBSON: sync.StoredSize, by which the service refuses documents past
// MongoDB's 16 MiB on both engines, is never below this engine's encoding of a document,
// and not far above it.
func TestStoredSizeBoundsBSON(t *testing.T) {
	t.Parallel()
	small := make([]any, 100_000)
	for i := range small {
		small[i] = int64(i % 3)
	}
	h := func(n int, c string) datasync.HLC { return datasync.MakeHLC(storetest.Epoch, n, c) }
	rich := note("rich", 3, "A")
	rich.Fields = map[string]any{"by": "A", "n": int64(3), "ratio": 0.5, "ok": true, "none": nil,
		"tags": []any{"x", int64(2)}, "nested": map[string]any{"deep": map[string]any{"list": []any{true, "é✓"}}}}
	rich.Meta.Replace, rich.Meta.Delete = h(1, "c1"), h(0, "c9")
	rich.Meta.Clients = map[string]int64{"c1": 3, "phone-7f3a": 12}
	rich.Meta.Sums = map[string]int64{"c1": -7, "phone-7f3a": 1 << 60}
	rich.Meta.Fields["n"] = datasync.FieldMeta{Clock: h(0, "c1"), Base: int64(1),
		Ops: []datasync.NumOp{{Clock: h(5, "c2"), Kind: "inc", N: int64(2)}, {Clock: h(6, "c2"), Kind: "max", N: 2.5}}}
	rich.Meta.Fields["tags"] = datasync.FieldMeta{Clock: h(0, "c1"), Base: []any{"x"},
		Elems: map[string]datasync.ElemOp{`2`: {Clock: h(6, "c2"), Add: true, Value: int64(2)}, `"y"`: {Clock: h(7, "c2"), Value: "y"}}}
	rich.Buckets, rich.Evicted, rich.EvictSeq = []string{"user:u1", "group:g1"}, []string{"role:admin"}, 0
	numbers := note("numbers", 1, "A")
	numbers.Fields["points"] = small
	history := note("history", 1, "A")
	elems := map[string]datasync.ElemOp{}
	for i := range 5000 {
		v := fmt.Sprintf("element-%d", i)
		elems[`"`+v+`"`] = datasync.ElemOp{Clock: h(i, "c3"), Value: v}
	}
	history.Meta.Fields["tags"] = datasync.FieldMeta{Clock: h(0, "c1"), Base: []any{}, Elems: elems}
	tomb := tombstone("gone", 2)
	long := note(strings.Repeat("i", 200), 1, "A")
	long.Ref.Scope, long.Owner = strings.Repeat("s", 100), strings.Repeat("s", 100)
	for _, d := range []datasync.Document{rich, numbers, history, tomb, long} {
		raw, err := bson.Marshal(encodeDoc(d, 1<<40))
		if err != nil {
			t.Fatal(err)
		}
		est := datasync.StoredSize(d)
		if est < len(raw) || est > len(raw)+len(raw)/20+1024 {
			t.Errorf("%s: StoredSize %d, encoded %d bytes: want at least as much, and within 5%% + 1 KiB", d.Ref.ID, est, len(raw))
		}
	}
}
