package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func testConfig(t *testing.T, base, run string) *config {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &config{server: u, devices: 4, users: 2, duration: 2 * time.Second, writesPerSec: 10, streamShare: 0.5,
		pollEvery: 500 * time.Millisecond, run: run, password: "loadgen correct horse battery staple", shareCollection: "loadgen_shared"}
}

// TestTokenRefresh runs the load generator against a server whose access tokens live 1 s
// for longer than they, and the server's 10 s clock leeway, last: the sessions are
// refreshed, the streams answer "expired" with a new token, and nothing fails.
func TestTokenRefresh(t *testing.T) {
	base := startServer(t, "--auth-access-token-ttl", "1s", "--auth-limits-refresh", "off")
	cfg := testConfig(t, base, "ttl")
	cfg.devices, cfg.duration = 6, 12*time.Second
	rep, text, _ := runClean(t, cfg)
	if rep.Run.AccessTokenLifetimeSec != 1 {
		t.Errorf("access token lifetime %d s, want 1", rep.Run.AccessTokenLifetimeSec)
	}
	// Each user refreshes about every 0.67 s for 12 s and more (on a quiet machine about
	// 36 in all); a busy machine may manage fewer, but every user refreshes.
	if rep.Auth.Refreshes < int64(cfg.users) || rep.Auth.StreamReauths == 0 {
		t.Errorf("auth = %+v, want refreshes and stream re-auths", rep.Auth)
	}
	if rep.Throughput.Mutations == 0 || rep.Latency.PropagationStream.Count == 0 {
		t.Errorf("throughput = %+v, propagation %+v", rep.Throughput, rep.Latency.PropagationStream)
	}
	if !strings.Contains(text, "refreshes ") {
		t.Errorf("the text report lacks the refreshes:\n%s", text)
	}
}

// TestRenewOn401: requests of one user's devices refused with 401 at once share one
// refresh and are sent again; a stream refused with 401 renews and connects.
func TestRenewOn401(t *testing.T) {
	base := startServer(t)
	g := newLoadgen(testConfig(t, base, "renew"))
	ctx := context.Background()
	if err := g.signup(ctx, io.Discard); err != nil {
		t.Fatal(err)
	}
	u := g.users[0]
	spoil := func() { // as if the token had expired
		u.mu.Lock()
		u.access = "expired-token"
		u.mu.Unlock()
	}
	spoil()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out pullResponse
			status, body, err := g.authPost(ctx, u, "/v1/sync/pull", map[string]any{"collections": g.collections, "fresh": true}, &out)
			if err != nil || status != 200 {
				t.Errorf("pull: HTTP %d %v %s", status, err, body)
			}
		}()
	}
	wg.Wait()
	// A request sent after the refresh finished gets no 401: between 1 and 8 are resent.
	resent := g.retriedAfter401.Load()
	if r, o := g.refreshes.Load(), g.refreshesOnDemand.Load(); r != 1 || o != 1 || resent < 1 || resent > 8 {
		t.Errorf("refreshes %d, on demand %d, resent after a 401 %d; want 1, 1, 1 to 8", r, o, resent)
	}

	spoil()
	d := &device{user: u, stream: true, wake: make(chan struct{}, 1), seen: map[string]string{}}
	sctx, cancel := context.WithCancel(ctx)
	hello, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); g.stream(sctx, d, make(chan struct{}, 1), hello) }()
	select {
	case <-hello:
	case <-time.After(10 * time.Second):
		t.Error("no hello within 10 s from a stream dialled with a refused token")
	}
	cancel()
	<-done
	if r, a := g.refreshes.Load(), g.retriedAfter401.Load(); r != 2 || a != resent+1 {
		t.Errorf("after the stream: refreshes %d, resent after a 401 %d; want 2, %d", r, a, resent+1)
	}
	if len(g.errs) != 0 {
		t.Errorf("errors: %v", g.errs)
	}
}

// TestStreamReauthCutByTheEnd: a stream told "expired" just before the run ends renews
// its token; the run's end cancelling that renewal is not an error of the server's.
func TestStreamReauthCutByTheEnd(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	returned := make(chan struct{}) // readStream is back: the refresh may answer
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/auth/refresh", func(w http.ResponseWriter, r *http.Request) {
		cancel() // the run ends while the refresh is under way
		<-returned
	})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		if c.Write(r.Context(), websocket.MessageText, []byte(`{"type":"expired"}`)) != nil {
			return
		}
		for { // until the client goes
			if _, _, err := c.Read(r.Context()); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	answer := sync.OnceFunc(func() { close(returned) })
	defer answer() // before srv.Close, whatever happens
	g := newLoadgen(testConfig(t, srv.URL, "end"))
	u := &user{access: "a1", refresh: "r1"}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	g.readStream(ctx, c, &device{user: u, wake: make(chan struct{}, 1)}, "a1", func() {})
	answer()
	if ctx.Err() == nil {
		t.Fatal("readStream returned before the refresh ended the run")
	}
	if g.errSum.Load() != 0 {
		t.Fatalf("errors %v, want none: the run's end is not a failed re-auth", g.errs)
	}
}
