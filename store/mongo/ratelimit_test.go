package mongo

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// rateNodes returns the rate stores of two nodes on one new database. Each node has its own
// client (its own connections), except, when shareConnection is set, on FerretDB: FerretDB
// v1 loses concurrent $inc's from different connections (docs: ferretdb-v1 notes), so
// there the nodes share one connection, which serializes it. On a real MongoDB
// (TIDELINE_TEST_MONGODB_URI) they always have their own.
func rateNodes(t *testing.T, shareConnection bool) (a, b *RateStore) {
	t.Helper()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	first := mustOpen(t, uri, name, migrations)
	second := mustOpen(t, uri, name, migrations)
	if shareConnection && storetest.IsFerretDB() {
		shared := *first
		second = &shared
	}
	return NewRateStore(first), NewRateStore(second)
}

// take calls s.Take and fails the test on an error.
func take(t *testing.T, s *RateStore, key string, r auth.Rate, now time.Time, n int) (bool, time.Duration) {
	t.Helper()
	ok, wait, err := s.Take(t.Context(), key, r, now, n)
	if err != nil {
		t.Fatalf("Take(%.40q): %v", key, err)
	}
	if ok != (wait == 0) || wait < 0 {
		t.Fatalf("Take(%.40q): ok %v with wait %v", key, ok, wait)
	}
	return ok, wait
}

func TestRateStoreSharedByNodes(t *testing.T) {
	t.Parallel()
	a, b := rateNodes(t, false)
	five := auth.Rate{Burst: 5, Per: time.Minute}
	clock := tideline.NewManualClock(storetest.Epoch.Add(10 * time.Second)) // 10 s into a window
	for i, node := range []*RateStore{a, a, a, b, b} {
		if ok, _ := take(t, node, "login:ip:203.0.113.5", five, clock.Now(), 1); !ok {
			t.Fatalf("request %d of 5 refused", i+1)
		}
	}
	// Spent: a question counts nothing and says so on either node; the 6th request is refused.
	for _, node := range []*RateStore{a, b} {
		if ok, wait := take(t, node, "login:ip:203.0.113.5", five, clock.Now(), 0); ok || wait != 50*time.Second {
			t.Fatalf("asked when spent: ok %v, wait %v; want refused for 50s", ok, wait)
		}
	}
	ok, wait := take(t, b, "login:ip:203.0.113.5", five, clock.Now(), 1)
	if ok || wait != 50*time.Second {
		t.Fatalf("6th request (3rd on node B): ok %v, wait %v; want refused until the window ends, 50s", ok, wait)
	}
	clock.Advance(49 * time.Second)
	if ok, wait := take(t, a, "login:ip:203.0.113.5", five, clock.Now(), 1); ok || wait != time.Second {
		t.Fatalf("1s before the window ends: ok %v, wait %v", ok, wait)
	}
	// The next window starts over, on both nodes.
	clock.Advance(wait)
	for i, node := range []*RateStore{b, a, b, a, b} {
		if ok, _ := take(t, node, "login:ip:203.0.113.5", five, clock.Now(), 1); !ok {
			t.Fatalf("request %d of the next window refused", i+1)
		}
	}
	if ok, _ := take(t, a, "login:ip:203.0.113.5", five, clock.Now(), 1); ok {
		t.Fatal("6th request of the next window allowed")
	}
}

func TestRateStoreKeys(t *testing.T) {
	t.Parallel()
	a, b := rateNodes(t, false)
	one := auth.Rate{Burst: 1, Per: time.Hour}
	now := storetest.Epoch
	hostile := []string{
		"login:ip:203.0.113.5",
		"login:ip:203.0.113.6",
		"signup:ip:203.0.113.5", // the same address under another limit
		`loginFailures:email:{"$where":"sleep(1000)"}@example.com`,
		"loginFailures:email:$where@example.com",
		"loginFailures:email:a.b.c@example.com",
		"loginFailures:email:.$..$",
		"loginFailures:email:nul\x00inside",
		"loginFailures:email:" + strings.Repeat("x", 1<<20),
		"loginFailures:email:" + strings.Repeat("x", 1<<20) + "y", // differs only past a megabyte
		"",
	}
	for _, key := range hostile {
		if ok, _ := take(t, a, key, one, now, 1); !ok {
			t.Fatalf("first request of %.40q refused: keys are not independent", key)
		}
	}
	for _, key := range hostile {
		if ok, _ := take(t, b, key, one, now, 1); ok {
			t.Fatalf("second request of %.40q allowed", key)
		}
	}
	// The same key with another period is another limit.
	if ok, _ := take(t, a, hostile[0], auth.Rate{Burst: 1, Per: time.Minute}, now, 1); !ok {
		t.Fatal("the same key under another period was refused")
	}
	// What is stored: one small document per key, no key in clear.
	cur, err := a.db.db.Collection(rateLimitsCollection).Find(t.Context(), bson.D{})
	if err != nil {
		t.Fatal(err)
	}
	var docs []bson.M
	if err := cur.All(t.Context(), &docs); err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(hostile)+1 {
		t.Fatalf("%d counters, want %d", len(docs), len(hostile)+1)
	}
	for _, d := range docs {
		id, _ := d["_id"].(string)
		if len(id) != 16+32 || len(d) != 3 || strings.Contains(id, "example") {
			t.Fatalf("counter %v: want {_id: <expiry>:<hash>, count, expiresAt}", d)
		}
	}
}

func TestRateStoreConcurrent(t *testing.T) {
	t.Parallel()
	a, b := rateNodes(t, true)
	const limit, goroutines, each = 25, 16, 8
	r := auth.Rate{Burst: limit, Per: time.Hour}
	now := storetest.Epoch
	var allowed, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range goroutines {
		node := []*RateStore{a, b}[g%2]
		wg.Go(func() {
			for range each {
				ok, wait, err := node.Take(t.Context(), "signup:ip:198.51.100.7", r, now, 1)
				switch {
				case err != nil:
					t.Errorf("Take: %v", err)
					return
				case ok:
					allowed.Add(1)
				case wait != time.Hour:
					t.Errorf("refused with wait %v, want 1h", wait)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != limit || refused.Load() != goroutines*each-limit {
		t.Fatalf("%d allowed and %d refused of %d; want exactly %d allowed", allowed.Load(), refused.Load(), goroutines*each, limit)
	}
}

func TestRateStoreSweep(t *testing.T) {
	t.Parallel()
	a, _ := rateNodes(t, false)
	r := auth.Rate{Burst: 3, Per: time.Minute}
	clock := tideline.NewManualClock(storetest.Epoch)
	take(t, a, "old", r, clock.Now(), 1)
	clock.Advance(time.Minute + rateExpiryGrace + time.Second) // "old"'s window and its grace are over
	take(t, a, "new", r, clock.Now(), 1)
	if _, err := a.sweep(t.Context(), clock.Now()); err != nil {
		t.Fatal(err)
	}
	n, err := a.db.db.Collection(rateLimitsCollection).CountDocuments(t.Context(), bson.D{})
	if err != nil || n != 1 {
		t.Fatalf("%d counters after the sweep (%v), want only the live one", n, err)
	}
	if ok, _ := take(t, a, "new", r, clock.Now(), 0); !ok {
		t.Fatal("the live counter was swept")
	}
	if ok, _ := take(t, a, "new", auth.Rate{Burst: 1, Per: time.Minute}, clock.Now(), 0); ok {
		t.Fatal("the live counter lost its count")
	}
}

func TestRateStoreErrUnavailable(t *testing.T) {
	t.Parallel()
	a, _ := rateNodes(t, false)
	a.db.Close()
	_, _, err := a.Take(t.Context(), "k", auth.Rate{Burst: 1, Per: time.Minute}, storetest.Epoch, 1)
	if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
		t.Fatalf("Take on a closed client: code %q, want unavailable (err: %v)", code, err)
	}
}

// TestRateStoreGiveBack: a reservation given back (n = -1, at the time it was counted)
// frees its place in that window, on every node; nothing goes below zero.
func TestRateStoreGiveBack(t *testing.T) {
	a, b := rateNodes(t, false)
	three := auth.Rate{Burst: 3, Per: time.Minute}
	clock := tideline.NewManualClock(storetest.Epoch.Add(10 * time.Second))
	reserved := clock.Now()
	for range 3 {
		if ok, _ := take(t, a, "loginFailures:email:ada@example.com", three, reserved, 1); !ok {
			t.Fatal("a reservation within the limit was refused")
		}
	}
	clock.Advance(5 * time.Second)
	if ok, _ := take(t, b, "loginFailures:email:ada@example.com", three, clock.Now(), 1); ok {
		t.Fatal("a 4th reservation was allowed")
	}
	if ok, _ := take(t, b, "loginFailures:email:ada@example.com", three, reserved, -1); !ok {
		t.Fatal("giving back was refused")
	}
	// The refused 4th counted too, so one give-back is not enough; a second frees a place.
	if ok, _ := take(t, a, "loginFailures:email:ada@example.com", three, clock.Now(), 0); ok {
		t.Fatal("allowed after one give-back, with the refused request still counted")
	}
	take(t, a, "loginFailures:email:ada@example.com", three, reserved, -1)
	if ok, _ := take(t, a, "loginFailures:email:ada@example.com", three, clock.Now(), 1); !ok {
		t.Fatal("refused after two give-backs")
	}
	// Giving back to a window that counted nothing changes nothing.
	take(t, a, "loginFailures:email:bob@example.com", three, reserved, -1)
	for range 3 {
		if ok, _ := take(t, b, "loginFailures:email:bob@example.com", three, clock.Now(), 1); !ok {
			t.Fatal("a reservation within the limit was refused")
		}
	}
	if ok, _ := take(t, b, "loginFailures:email:bob@example.com", three, clock.Now(), 1); ok {
		t.Fatal("a give-back to an empty window raised the limit")
	}
}
