package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tideline "github.com/tideline-dev/tideline/sdk/go"
)

// TestSDKAgainstServer runs the Go SDK against the real binary: two devices of one user
// with background syncers; a write on one reaches the other through the realtime stream
// (a live query fires), offline increments on both sum exactly, and a device restarted
// before it could send keeps its write and sends it.
func TestSDKAgainstServer(t *testing.T) {
	onEngines(t, "e2e_sdk", nil, func(t *testing.T, p *proc, base string) {
		ada := signUp(t, base, "ada@example.com")
		dir := t.TempDir()
		open := func(name string) *tideline.Client { return openSDK(t, dir, name, base, ada.token) }
		phone, laptop := open("phone"), open("laptop")
		defer phone.Close()
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		done := make(chan error, 2)
		for _, c := range []*tideline.Client{phone, laptop} {
			go func() { done <- c.Start(ctx, tideline.Backoff{Min: 50 * time.Millisecond, Max: time.Second}) }()
		}
		seen := make(chan []tideline.Doc, 16)
		if _, err := laptop.Collection("todos").Watch(ctx, tideline.Query{OrderBy: "title"}, func(s tideline.Snapshot) { seen <- s.Docs }); err != nil {
			t.Fatal(err)
		}
		select {
		case first := <-seen:
			if len(first) != 0 {
				t.Fatalf("a new device's view: %v", first)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a live query did not report its first result")
		}
		// Protocol 2: each device's pull that names its stream hands the stream over; from
		// then on the phone's write reaches the laptop on the stream, not by a pull.
		waitLive(t, laptop)
		waitLive(t, phone)
		// Local calls are bounded: a hang fails the test instead of stalling the suite.
		wctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		if err := phone.Collection("todos").Put(wctx, "t1", map[string]any{"title": "Buy milk", "count": 0}); err != nil {
			t.Fatal(err)
		}
		deadline := time.After(10 * time.Second)
	wait:
		for {
			select {
			case ds := <-seen:
				if len(ds) == 1 && ds[0].Fields["title"] == "Buy milk" {
					break wait
				}
			case <-deadline:
				t.Fatal("the laptop never saw the phone's write")
			}
		}
		// (Both streams are live, the writer's too: it gets its own write, harmlessly.)
		if metrics, err := httpGet(base + "/metrics"); err != nil || !strings.Contains(metrics, "tideline_sync_stream_changes_total 2\n") {
			t.Fatalf("the write did not reach the devices on their streams (tideline_sync_stream_changes_total): %v\n%s", err, metrics)
		}

		// Both devices increment while the laptop's syncer is stopped (offline), then sync.
		stop()
		<-done
		<-done
		for range 3 {
			if err := phone.Collection("todos").Patch(wctx, "t1", tideline.IncInt("count", 1)); err != nil {
				t.Fatal(err)
			}
			if err := laptop.Collection("todos").Patch(wctx, "t1", tideline.IncInt("count", 2)); err != nil {
				t.Fatal(err)
			}
		}
		// The laptop restarts before sending: its writes are still there.
		laptop.Close()
		laptop = open("laptop")
		defer laptop.Close()
		if st := laptop.Status(); st.Pending != 3 {
			t.Fatalf("after a restart the laptop has %d pending writes, want 3", st.Pending)
		}
		for _, c := range []*tideline.Client{phone, laptop, phone} {
			if err := c.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		for name, c := range map[string]*tideline.Client{"phone": phone, "laptop": laptop} {
			d, ok, err := c.Collection("todos").Get(t.Context(), "t1")
			if err != nil || !ok || d.Pending != 0 {
				t.Fatalf("%s: %v %v %+v", name, err, ok, d)
			}
			if n := d.Fields["count"].(json.Number); n.String() != "9" {
				t.Fatalf("%s: count %s, want 9 (3 x 1 + 3 x 2)", name, n)
			}
		}
	})
}

// TestSDKReceiptBeforeFirstPull: a device that pushes before its first pull keeps the
// document its receipt gave it; when another device deletes that document before the
// first device's first pull, the first pull must still delete it. (Found by the
// convergence test: an initial sync skipped tombstones, so the receipt's copy stayed.)
func TestSDKReceiptBeforeFirstPull(t *testing.T) {
	p := startAPI(t, syncEnv(t, "sqlite", "", ""), "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	ada := signUp(t, base, "ada@example.com")
	dir := t.TempDir()
	phone, laptop := openSDK(t, dir, "phone", base, ada.token), openSDK(t, dir, "laptop", base, ada.token)
	t.Cleanup(func() { phone.Close(); laptop.Close() })
	ctx := t.Context()
	if err := phone.Collection("todos").Put(ctx, "t1", map[string]any{"title": "Buy milk"}); err != nil {
		t.Fatal(err)
	}
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// The laptop has never pulled; it patches t1 and pushes only.
	if err := laptop.Collection("todos").Patch(ctx, "t1", tideline.Set("done", true)); err != nil {
		t.Fatal(err)
	}
	if err := laptop.Push(ctx); err != nil {
		t.Fatal(err)
	}
	// The phone deletes t1 (later than the laptop's patch), then the laptop pulls.
	if err := phone.Collection("todos").Delete(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if err := phone.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := laptop.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*tideline.Client{"phone": phone, "laptop": laptop} {
		if d, ok, err := c.Collection("todos").Get(ctx, "t1"); err != nil || ok {
			t.Errorf("%s still has t1 after its delete: %v %+v", name, err, d)
		}
	}
}

// waitLive waits until c's stream is live (protocol 2), or fails after a minute.
func waitLive(t *testing.T, c *tideline.Client) {
	t.Helper()
	live := make(chan struct{}, 1)
	stop := c.Subscribe(func(e tideline.Event) {
		if e.Status != nil && e.Status.Live {
			select {
			case live <- struct{}{}:
			default:
			}
		}
	})
	defer stop()
	if c.Live() {
		return
	}
	select {
	case <-live:
	case <-time.After(time.Minute):
		t.Fatal("the stream never went live")
	}
}

// openSDK opens a Go SDK client whose database is dir/name.db, signed in with token.
func openSDK(t *testing.T, dir, name, base, token string) *tideline.Client {
	t.Helper()
	c, err := tideline.Open(t.Context(), filepath.Join(dir, name+".db"), base, tideline.Token(token))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSDKSessions: the SDK's sign-in helpers against the real server. The session is kept
// in the cache (a reopen with no session syncs), a sign-out keeps the user's documents and
// unsent writes for her next sign-in, another user's sign-in is refused until the cache is
// cleared, and after SignOut(clearLocal) the next user starts from an empty cache.
func TestSDKSessions(t *testing.T) {
	p := startAPI(t, syncEnv(t, "sqlite", "", ""), "--addr", "127.0.0.1:0")
	base := p.waitFor("tideline listening")["addr"].(string)
	path := filepath.Join(t.TempDir(), "phone.db")
	ctx := t.Context()
	open := func() *tideline.Client {
		t.Helper()
		c, err := tideline.Open(ctx, path, base, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := open()
	if err := c.SignUp(ctx, "ada@example.com", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if err := c.Collection("notes").Put(ctx, "n1", map[string]any{"text": "synced"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	ada := c.Status().UserID
	c.Close()

	c = open() // the session comes from the cache
	if st := c.Status(); !st.SignedIn || st.UserID != ada || !st.HasSyncedOnce {
		t.Fatalf("after a reopen: %+v", st)
	}
	if err := c.Collection("notes").Put(ctx, "n2", map[string]any{"text": "unsent"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SignOut(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); !errors.Is(err, tideline.ErrSignedOut) {
		t.Fatalf("sync after sign-out: %v, want ErrSignedOut", err)
	}
	if err := c.SignUp(ctx, "bob@example.com", "correct horse battery staple"); !errors.Is(err, tideline.ErrOtherUser) {
		t.Fatalf("Bob's sign-up on Ada's cache: %v, want ErrOtherUser", err)
	}
	if err := c.SignIn(ctx, "ada@example.com", "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil || c.Status().Pending != 0 {
		t.Fatalf("Ada's kept write after her sign-in: %v, %d pending", err, c.Status().Pending)
	}
	if err := c.SignOut(ctx, true); err != nil {
		t.Fatal(err)
	}
	if err := c.SignInAnonymously(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	docs, err := c.Collection("notes").Find(ctx, tideline.Query{})
	if err != nil || len(docs) != 0 {
		t.Fatalf("a new user after SignOut(clearLocal) sees %d documents (%v), want none", len(docs), err)
	}
}
