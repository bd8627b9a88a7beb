package mongo

import (
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestSyncCausalSessions: once the node has seen an operation time (as a replica set
// reports one with every reply, the advance's watermark read among them), every read of an
// advance and of a scan asks MongoDB for a snapshot that includes it
// (readConcern.afterClusterTime): a scan cannot miss a write below the watermark read
// before it, whichever member is primary now. FerretDB reports no operation times, so the
// test gives the node one; and it refuses a read concern on findAndModify, which the driver
// sends with every write of a causal session, so the commit (whose W3 depends on it: see
// sync_causal.go) is checked here only for running in a session, and on a replica set by
// TestSyncOrderingAcrossStepDown.
func TestSyncCausalSessions(t *testing.T) {
	t.Parallel()
	db, log := openMonitored(t, tideline.NewManualClock(storetest.Epoch))
	s := db.Sync()
	var commitCmds []bson.Raw
	commitCmds = log.rawDuring(func() {
		put(t, s, note("a", 1, "A"), 0)
		put(t, s, note("b", 1, "B"), 0)
	})
	lsids := map[string]bool{}
	for _, c := range commitCmds {
		if id, err := c.LookupErr("lsid"); err == nil {
			lsids[id.String()] = true
		}
	}
	if len(lsids) == 0 {
		t.Fatal("the commits ran in no session")
	}
	if _, err := s.Watermark(t.Context()); err != nil {
		t.Fatal(err)
	}
	seen := bson.Timestamp{T: 1, I: 7}
	db.syncer.opTime.raise(&seen)
	cmds := log.rawDuring(func() {
		w, err := s.Watermark(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if docs, err := s.ScanBucket(t.Context(), datasync.BucketScan{Buckets: []string{"user:u1"}, Through: w, Limit: 10}); err != nil || len(docs) != 2 {
			t.Fatalf("scan: %d documents, %v", len(docs), err)
		}
	})
	reads := 0
	for _, c := range cmds {
		if name := c.Index(0).Key(); name != "find" {
			continue
		}
		reads++
		v, err := c.LookupErr("readConcern", "afterClusterTime")
		if err != nil {
			t.Errorf("a read of the advance or the scan is not causally after the node's operation time: %s", c)
			continue
		}
		if ts, i, ok := v.TimestampOK(); !ok || ts != seen.T || i != seen.I {
			t.Errorf("afterClusterTime %s, want %v", v, seen)
		}
	}
	if reads < 2 { // the advance's watermark read, the scan
		t.Fatalf("%d reads seen", reads)
	}
}
