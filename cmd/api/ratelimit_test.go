package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/internal/testkit"
	"github.com/tideline-dev/tideline/store/storetest"
)

// serveNode runs serve in this process with args and env vars until the test ends, and
// returns its base URL.
func serveNode(t *testing.T, vars map[string]string, args ...string) string {
	t.Helper()
	cfg, err := loadConfig(append([]string{"--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...), env(vars), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	logs := testkit.NewLogSink()
	ctx, cancel := context.WithCancel(t.Context())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := serve(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))); err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-stopped })
	return logs.WaitFor(t, "tideline listening", stopped)["addr"].(string)
}

// TestRateLimitsSharedByNodesOverHTTP: two nodes on one MongoDB database allow a client
// the configured number of sign-ups between them, then answer 429 with Retry-After.
func TestRateLimitsSharedByNodesOverHTTP(t *testing.T) {
	uri := storetest.MongoURI(t)
	key, _ := strings.CutPrefix(testMasterKeyEnv, "TIDELINE_MASTER_KEY=")
	vars := map[string]string{"TIDELINE_MONGODB_URI": uri, "TIDELINE_MONGODB_DATABASE": "ratelimits_" + strings.ReplaceAll(tideline.NewID(), "-", "")[:16],
		"TIDELINE_MASTER_KEY": key, "TIDELINE_AUTH_LIMITS_SIGNUP": "2/24h"}
	a, b := serveNode(t, vars), serveNode(t, vars)
	window := time.Now().Truncate(24 * time.Hour)
	signUp := func(base, email string) *http.Response {
		body, _ := json.Marshal(map[string]string{"email": email, "password": "correct horse battery staple"})
		resp, err := http.Post(base+"/v1/auth/signup", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i, node := range []string{a, b} {
		if resp := signUp(node, "user"+strconv.Itoa(i)+"@example.com"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("sign-up %d within the limit: %d", i+1, resp.StatusCode)
		}
	}
	resp := signUp(a, "user2@example.com")
	if time.Now().Truncate(24*time.Hour) != window {
		t.Skip("the sign-ups straddled the edge of the limit's window (midnight UTC)")
	}
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("3rd sign-up (2nd on node A): %d, want 429", resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 || s > 24*3600 {
		t.Fatalf("Retry-After %q, want whole seconds within the day", resp.Header.Get("Retry-After"))
	}
}
