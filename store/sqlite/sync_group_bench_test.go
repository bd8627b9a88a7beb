package sqlite

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/tideline-dev/tideline"
	datasync "github.com/tideline-dev/tideline/sync"
)

// BenchmarkPushConcurrent: 64 clients (each its own user and client id) push one mutation
// at a time, each waiting for its answer before the next (a closed loop), through the
// service on the embedded engine. Concurrent single-mutation pushes share a commit (group
// commit); before, each paid a transaction and an fsync of its own. See docs/benchmarks.md.
func BenchmarkPushConcurrent(b *testing.B) {
	const clients = 64
	_, svc := benchDB(b)
	var next, n atomic.Int64
	b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0))) // RunParallel runs parallelism x GOMAXPROCS goroutines
	b.RunParallel(func(pb *testing.PB) {
		c := next.Add(1)
		user, client := tideline.NewID(), fmt.Sprint("bench-", c)
		id := int64(0)
		for pb.Next() {
			id++
			muts := []datasync.Mutation{{ID: id, Collection: "todos", DocID: fmt.Sprint("t", id), Op: "put", Fields: benchFields}}
			r, err := svc.Push(b.Context(), datasync.Caller{UserID: user}, client, muts)
			if err != nil {
				b.Error(err)
				return
			}
			if r[0].Status != datasync.Applied || r[0].Seq == 0 {
				b.Errorf("receipt %+v", r[0])
				return
			}
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "mutations/s")
}
