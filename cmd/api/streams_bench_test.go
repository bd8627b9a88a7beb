package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	stdsync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkIdleStreams measures what idle realtime streams cost a node: the server runs as
// its own process (the real binary), this process opens the streams, and the server's
// resident memory and Go heap are read from its /metrics before and after. It then pushes
// one change that pokes every stream and times until all have their poke.
//
//	go test ./cmd/api -run '^$' -bench IdleStreams -benchtime 1x
func BenchmarkIdleStreams(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint("streams=", n), func(b *testing.B) {
			for b.Loop() {
				idleStreams(b, n)
			}
		})
	}
}

func idleStreams(b *testing.B, n int) {
	p := startAPI(b, []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + b.TempDir()}, "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	status, up := callJSON(b, "POST", base+"/v1/auth/signup", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	if status != 201 {
		b.Fatalf("signup %d %v", status, up)
	}
	token := up["accessToken"].(string)
	runtimeSettle()
	rss0, heap0 := serverMemory(b, base)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := "ws" + strings.TrimPrefix(base, "http") + "/v1/sync/stream"
	conns := make([]*websocket.Conn, n)
	var poked atomic.Int64
	allPoked := make(chan struct{})
	var wg stdsync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
			if err != nil {
				errs <- err
				return
			}
			c.SetReadLimit(1 << 10)
			if _, _, err := c.Read(ctx); err != nil { // hello
				errs <- err
				return
			}
			conns[i] = c
			go func() {
				for {
					_, msg, err := c.Read(ctx)
					if err != nil {
						return
					}
					if strings.Contains(string(msg), `"poke"`) && poked.Add(1) == int64(n) {
						close(allPoked)
					}
				}
			}()
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("dial: %v", err)
	}
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	// Let the server settle: idle means idle. A benchmark's measuring method, not a wait
	// for an event: no test runs it.
	time.Sleep(2 * time.Second)
	rss1, heap1 := serverMemory(b, base)
	b.ReportMetric(float64(rss1-rss0)/float64(n), "rss-bytes/stream")
	b.ReportMetric(float64(heap1-heap0)/float64(n), "heap-bytes/stream")
	b.ReportMetric(float64(rss1)/(1<<20), "rss-MiB-total")

	start := time.Now()
	status, pushed := callJSON(b, "POST", base+"/v1/sync/push", token, map[string]any{"clientId": "bench", "mutations": []map[string]any{{"id": 1, "collection": "todos", "docId": "t", "op": "put", "fields": map[string]any{"v": 1}}}})
	if status != 200 {
		b.Fatalf("push %d %v", status, pushed)
	}
	select {
	case <-allPoked:
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms-to-poke-all")
	case <-time.After(60 * time.Second):
		b.Fatalf("%d of %d streams poked within 60s", poked.Load(), n)
	}
}

// runtimeSettle gives the fresh server a moment to finish start-up work.
func runtimeSettle() { time.Sleep(time.Second) }

// serverMemory reads the server's resident memory and in-use heap from its /metrics.
func serverMemory(b *testing.B, base string) (rss, heap int64) {
	b.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			rss = int64(f)
		case "go_memstats_heap_inuse_bytes":
			heap = int64(f)
		}
	}
	if rss == 0 || heap == 0 {
		b.Fatal("/metrics lacks process_resident_memory_bytes or go_memstats_heap_inuse_bytes")
	}
	return rss, heap
}
