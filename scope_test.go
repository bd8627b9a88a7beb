package tideline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

// TestLogHandler: a record logged with a request's context gets its request_id, whatever
// logger attributes come first; one that has its own keeps it; work outside a request has
// none.
func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "sync")
	ctx := WithRequestID(context.Background(), "req-42")
	log.InfoContext(ctx, "in a request", "n", 1)
	log.InfoContext(ctx, "its own", "request_id", "other")
	log.Info("outside")
	log.InfoContext(context.Background(), "outside too")
	var recs []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records", len(recs))
	}
	if recs[0]["request_id"] != "req-42" || recs[0]["component"] != "sync" || recs[0]["n"] != float64(1) {
		t.Fatalf("in a request: %v", recs[0])
	}
	if recs[1]["request_id"] != "other" || strings.Count(buf.String(), `"request_id"`) != 2 {
		t.Fatalf("a record's own request_id was not kept alone: %s", buf.String())
	}
	for _, r := range recs[2:] {
		if _, has := r["request_id"]; has {
			t.Fatalf("outside a request: %v", r)
		}
	}
	if RequestID(context.Background()) != "" || RequestID(ctx) != "req-42" {
		t.Fatal("RequestID")
	}
}
