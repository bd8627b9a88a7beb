package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// BenchmarkSDKInitialSync100k: a new device of a user with 100,000 documents syncs them
// all, end to end: the server binary on the embedded engine, HTTP on loopback, and the Go
// SDK writing its local database. See docs/benchmarks.md.
func BenchmarkSDKInitialSync100k(b *testing.B) {
	const docs = 100000
	p := startAPI(b, []string{"TIDELINE_AUTH_ARGON2_MEMORY=64KiB", "TIDELINE_DATA_DIR=" + b.TempDir(), "TIDELINE_AUTH_ACCESS_TOKEN_TTL=1h"}, "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	status, up := callJSON(b, "POST", base+"/v1/auth/signup", "", map[string]string{"email": "ada@example.com", "password": "correct horse battery staple"})
	if status != 201 {
		b.Fatalf("signup %d %v", status, up)
	}
	token := up["accessToken"].(string)
	for batch := range docs / 500 {
		muts := make([]map[string]any, 500)
		for i := range muts {
			n := batch*500 + i
			muts[i] = map[string]any{"id": n + 1, "collection": "todos", "docId": fmt.Sprint("t", n), "op": "put",
				"fields": map[string]any{"title": "Buy milk and bread", "done": false, "priority": 3, "tags": []string{"home", "errand"}}}
		}
		if status, body := callJSON(b, "POST", base+"/v1/sync/push", token, map[string]any{"clientId": "loader", "mutations": muts}); status != 200 {
			b.Fatalf("load: %d %v", status, body)
		}
	}
	b.ResetTimer()
	for i := range b.N {
		c, err := tideline.Open(b.Context(), filepath.Join(b.TempDir(), fmt.Sprint("device", i, ".db")), base, tideline.Token(token),
			tideline.Options{PullLimit: 5000})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := c.Sync(b.Context()); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		got, err := c.Collection("todos").Find(b.Context(), tideline.Query{Limit: docs + 1})
		if err != nil || len(got) != docs {
			b.Fatalf("synced %d documents (%v)", len(got), err)
		}
		c.Close()
		b.ReportMetric(elapsed.Seconds(), "s/sync")
		b.ReportMetric(docs/elapsed.Seconds(), "docs/s")
	}
}
