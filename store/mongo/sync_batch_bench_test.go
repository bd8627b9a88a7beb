package mongo

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// BenchmarkSyncConcurrentPushes: 16 clients push one mutation (a new document) at a time
// through the sync service, closed loop, on one node: grouped (sync_batch.go) and solo
// (every commit alone, as before grouping). It reports mutations/s and the driver's
// commands per mutation. On FerretDB (one connection, in process, every command a SQLite
// transaction) the numbers say what grouping saves in commands; they say nothing of a real
// MongoDB's latencies (set TIDELINE_TEST_MONGODB_URI for that).
//
//	go test ./store/mongo -run '^$' -bench SyncConcurrentPushes -benchtime 2000x
func BenchmarkSyncConcurrentPushes(b *testing.B) {
	for _, mode := range []string{"solo", "grouped"} {
		b.Run(mode, func(b *testing.B) {
			clock := tideline.NewManualClock(storetest.Epoch)
			uri := storetest.MongoURI(b)
			log := &commandLog{}
			db, err := Open(b.Context(), Options{URI: uri, Database: newDatabaseName(b, uri), Clock: clock, monitor: log.monitor()})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			db.syncer.batch.solo = mode == "solo"
			svc, err := datasync.New(b.Context(), db.Sync(), datasync.Config{Clock: clock, Secrets: db.Secrets()})
			if err != nil {
				b.Fatal(err)
			}
			const clients = 16
			var next atomic.Int64
			push := func(c int, id int64) error {
				client := fmt.Sprint("c", c)
				h := datasync.MakeHLC(clock.Now(), int(id), client)
				rs, err := svc.Push(b.Context(), datasync.Caller{UserID: fmt.Sprint("u", c%16)}, client, []datasync.Mutation{{ID: id,
					Collection: "notes", DocID: fmt.Sprint(client, "-", id), Op: "put", Fields: map[string]any{"n": id}, HLC: string(h)}})
				if err == nil && rs[0].Status != datasync.Applied {
					err = fmt.Errorf("receipt %+v", rs[0])
				}
				return err
			}
			for c := range clients { // every client known, the collection prepared
				if err := push(c, 1); err != nil {
					b.Fatal(err)
				}
			}
			var groups atomic.Int64
			if mode == "grouped" {
				db.syncer.batch.hook = func(stage string, _ int) {
					if stage == "taken" {
						groups.Add(1)
					}
				}
			}
			b.ResetTimer()
			start := time.Now()
			cmds := log.during(func() {
				var wg sync.WaitGroup
				for c := range clients {
					wg.Go(func() {
						for id := int64(2); next.Add(1) <= int64(b.N); id++ {
							if err := push(c, id); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
			})
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "mutations/s")
			b.ReportMetric(float64(len(cmds))/float64(b.N), "cmds/mutation")
			if g := groups.Load(); g > 0 {
				b.ReportMetric(float64(b.N)/float64(g), "commits/group")
			}
		})
	}
}
