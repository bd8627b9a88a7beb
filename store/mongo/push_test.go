package mongo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// The conformance suite (TestConformance/Push) covers push.Store; these cases cover what
// only this engine has: the unique index that keeps one holder per token, and the gaps
// between UpsertDevice's steps (P1-P3 of push.go), where a test hook pauses a registration
// or ends it as a crash of its node would.

func newPushDB(t *testing.T) *DB {
	t.Helper()
	uri := storetest.MongoURI(t)
	return mustOpen(t, uri, newDatabaseName(t, uri), migrations)
}

// pushNode is another node on db's database with its own hook, on the same connection
// (FerretDB is atomic only through one).
func pushNode(db *DB, hook func(pushStep, push.Device, string) error) *pushStore {
	return &pushStore{db: db, hook: hook}
}

func device(userID, deviceID, token string) push.Device {
	return push.Device{ID: tideline.NewID(), UserID: userID, DeviceID: deviceID, SessionID: "s1",
		Platform: push.PlatformAndroid, PushToken: token, CreatedAt: storetest.Epoch, LastSeen: storetest.Epoch}
}

func register(t *testing.T, s push.Store, userID, deviceID, token string) push.Device {
	t.Helper()
	d, err := s.UpsertDevice(t.Context(), device(userID, deviceID, token))
	if err != nil {
		t.Fatalf("register %s/%s with %q: %v", userID, deviceID, token, err)
	}
	if d.PushToken != token {
		t.Fatalf("register %s/%s returned token %q, want %q", userID, deviceID, d.PushToken, token)
	}
	return d
}

// holders lists the devices (user/device) whose stored document holds token, read raw.
func holders(t *testing.T, db *DB, token string) []string {
	t.Helper()
	out, err := readHolders(t.Context(), db, token)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readHolders(ctx context.Context, db *DB, token string) ([]string, error) {
	var docs []deviceDoc
	cur, err := db.db.Collection(pushDevicesCollection).Find(ctx, bson.M{"pushToken": token})
	if err == nil {
		err = cur.All(ctx, &docs)
	}
	if err != nil {
		return nil, fmt.Errorf("read the holders of %s: %w", token, err)
	}
	var out []string
	for _, d := range docs {
		out = append(out, d.UserID+"/"+d.DeviceID)
	}
	slices.Sort(out)
	return out, nil
}

func wantHolders(t *testing.T, db *DB, token string, want ...string) {
	t.Helper()
	if got := holders(t, db, token); !slices.Equal(got, want) {
		t.Fatalf("holders of %s: %q, want %q", token, got, want)
	}
}

// wantToken checks what FindDevice reports for the device.
func wantToken(t *testing.T, s push.Store, userID, deviceID, token string) {
	t.Helper()
	d, err := s.FindDevice(t.Context(), userID, deviceID)
	if err != nil {
		t.Fatalf("FindDevice %s/%s: %v", userID, deviceID, err)
	}
	if d.PushToken != token {
		t.Fatalf("%s/%s reports token %q, want %q", userID, deviceID, d.PushToken, token)
	}
}

// TestPushSchema: migration 4 creates the devices indexes, runs again harmlessly, and the
// unique token index is what refuses a second holder, whatever writes the document.
// Migration 12 drops {topics}, also when it is gone already.
func TestPushSchema(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	ctx := t.Context()
	indexes := func() map[string]bool {
		t.Helper()
		specs, err := db.db.Collection(pushDevicesCollection).Indexes().ListSpecifications(ctx)
		if err != nil {
			t.Fatal(err)
		}
		unique := map[string]bool{}
		for _, s := range specs {
			unique[s.Name] = s.Unique != nil && *s.Unique
		}
		return unique
	}
	want := map[string]bool{"userId_1_deviceId_1": true, "pushToken_1": true, "topics_1__id_1": false}
	check := func(what string) {
		t.Helper()
		unique := indexes()
		for name, u := range want {
			if got, ok := unique[name]; !ok || got != u {
				t.Fatalf("%s: index %s: present %v, unique %v; want unique %v (all: %v)", what, name, ok, got, u, unique)
			}
		}
		if _, ok := unique["topics_1"]; ok {
			t.Fatalf("%s: the {topics} index is still there: %v", what, unique)
		}
	}
	check("after the migrations")
	if err := migratePush(ctx, db); err != nil {
		t.Fatalf("migration 4 again: %v", err)
	}
	if _, ok := indexes()["topics_1"]; !ok {
		t.Fatal("migration 4 again did not create {topics}")
	}
	for range 2 {
		if err := migrateDropTopicsIndex(ctx, db); err != nil {
			t.Fatalf("migration 12: %v", err)
		}
		check("after migration 12")
	}
	var err error

	s := db.Push()
	register(t, s, "u1", "a", "T")
	b := register(t, s, "u1", "b", "")
	register(t, s, "u1", "c", "") // any number of unbound devices coexist
	coll := db.db.Collection(pushDevicesCollection)
	_, err = coll.UpdateOne(ctx, bson.M{"_id": b.ID}, bson.M{"$set": bson.M{"pushToken": "T"}})
	if err == nil {
		t.Fatal("a raw update gave a second device the token")
	}
	_, err = coll.InsertOne(ctx, bson.M{"_id": "x", "userId": "u2", "deviceId": "x", "pushToken": "T", "topics": bson.A{}})
	if !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("a raw insert of a second holder: %v, want a duplicate key", err)
	}
	wantHolders(t, db, "T", "u1/a")
}

// pushPauser stops registrations of chosen devices at chosen steps.
type pushPauser struct {
	mu    sync.Mutex
	gates []*pushGate
	seen  []string // "step device holder" of every step reached
	crash map[pushStep]string
}

type pushGate struct {
	step     pushStep
	deviceID string
	reached  chan string // the holder
	release  chan struct{}
	once     sync.Once
}

var errCrash = errors.New("the node crashed")

func (p *pushPauser) hook(step pushStep, d push.Device, holder string) error {
	p.mu.Lock()
	p.seen = append(p.seen, fmt.Sprint(step, " ", d.DeviceID, " ", holder))
	i := slices.IndexFunc(p.gates, func(g *pushGate) bool { return g.step == step && g.deviceID == d.DeviceID })
	var g *pushGate
	if i >= 0 {
		g = p.gates[i]
		p.gates = slices.Delete(p.gates, i, i+1)
	}
	crash := p.crash[step] == d.DeviceID
	p.mu.Unlock()
	if g != nil {
		g.reached <- holder
		<-g.release
	}
	if crash {
		return errCrash
	}
	return nil
}

func (p *pushPauser) at(t *testing.T, step pushStep, deviceID string) *pushGate {
	g := &pushGate{step: step, deviceID: deviceID, reached: make(chan string, 1), release: make(chan struct{})}
	p.mu.Lock()
	p.gates = append(p.gates, g)
	p.mu.Unlock()
	t.Cleanup(g.open)
	return g
}

func (p *pushPauser) steps() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func (g *pushGate) open() { g.once.Do(func() { close(g.release) }) }

// wait returns the _id of the holder the paused registration is taking the token from.
func (g *pushGate) wait(t *testing.T) string {
	t.Helper()
	select {
	case h := <-g.reached:
		return h
	case <-time.After(10 * time.Second):
		t.Fatalf("no registration of %s reached step %d", g.deviceID, g.step)
		return ""
	}
}

type pendingUpsert struct {
	d   push.Device
	err error
	end chan struct{}
}

func upsertAsync(ctx context.Context, s push.Store, d push.Device) *pendingUpsert {
	u := &pendingUpsert{end: make(chan struct{})}
	go func() {
		defer close(u.end)
		u.d, u.err = s.UpsertDevice(ctx, d)
	}()
	return u
}

func (u *pendingUpsert) result(t *testing.T) (push.Device, error) {
	t.Helper()
	select {
	case <-u.end:
	case <-time.After(10 * time.Second):
		t.Fatal("the paused registration did not finish after its release")
	}
	return u.d, u.err
}

// TestPushTokenSteps: b takes a's token. Paused after P2, a still holds it; after P3,
// nobody does; when b returns, b alone does. At no point do two devices hold it.
func TestPushTokenSteps(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	p := &pushPauser{}
	s := pushNode(db, p.hook)
	a := register(t, s, "u1", "a", "T")
	refused, cleared := p.at(t, pushRefused, "b"), p.at(t, pushCleared, "b")
	pending := upsertAsync(t.Context(), s, device("u2", "b", "T"))
	if h := refused.wait(t); h != a.ID {
		t.Fatalf("b is taking the token from %s, want a (%s)", h, a.ID)
	}
	wantHolders(t, db, "T", "u1/a")
	wantToken(t, s, "u1", "a", "T")
	refused.open()
	cleared.wait(t)
	wantHolders(t, db, "T")
	wantToken(t, s, "u1", "a", "")
	cleared.open()
	if d, err := pending.result(t); err != nil || d.PushToken != "T" {
		t.Fatalf("b's registration: %+v, %v", d, err)
	}
	wantHolders(t, db, "T", "u2/b")
	wantToken(t, s, "u1", "a", "")
}

// TestPushTokenInterleavings: a registration of b paused between its steps while other
// registrations run to the end; b, the last to finish, ends holding the token alone, and
// its late steps never touch anything but the token.
func TestPushTokenInterleavings(t *testing.T) {
	t.Parallel()
	t.Run("AnotherTakesTheFreedTokenWhileBPausesAfterP3", func(t *testing.T) {
		db := newPushDB(t)
		p := &pushPauser{}
		s, other := pushNode(db, p.hook), pushNode(db, nil)
		register(t, s, "u1", "a", "T")
		g := p.at(t, pushCleared, "b")
		pending := upsertAsync(t.Context(), s, device("u2", "b", "T"))
		g.wait(t)
		c := register(t, other, "u3", "c", "T") // nobody holds T: c's P1 succeeds at once
		wantHolders(t, db, "T", "u3/c")
		g.open()
		if _, err := pending.result(t); err != nil {
			t.Fatal(err)
		}
		wantHolders(t, db, "T", "u2/b")
		wantToken(t, s, "u3", "c", "")
		if got, want := p.steps(), fmt.Sprint(pushRefused, " b ", c.ID); !slices.Contains(got, want) {
			t.Fatalf("b did not take the token from c again: steps %q", got)
		}
	})

	t.Run("AnotherTakesTheTokenWhileBPausesAfterP2", func(t *testing.T) {
		db := newPushDB(t)
		p := &pushPauser{}
		s, other := pushNode(db, p.hook), pushNode(db, nil)
		a := register(t, s, "u1", "a", "T")
		g := p.at(t, pushRefused, "b")
		pending := upsertAsync(t.Context(), s, device("u2", "b", "T"))
		if h := g.wait(t); h != a.ID {
			t.Fatalf("b found holder %s, want a", h)
		}
		c := register(t, other, "u3", "c", "T") // takes T from a under b's nose
		wantHolders(t, db, "T", "u3/c")
		g.open() // b's P3 names a, who no longer holds T: it changes nothing
		if _, err := pending.result(t); err != nil {
			t.Fatal(err)
		}
		wantHolders(t, db, "T", "u2/b")
		want := []string{fmt.Sprint(pushRefused, " b ", a.ID), fmt.Sprint(pushCleared, " b ", a.ID),
			fmt.Sprint(pushRefused, " b ", c.ID), fmt.Sprint(pushCleared, " b ", c.ID)}
		if got := p.steps(); !slices.Equal(got, want) {
			t.Fatalf("b's steps %q, want %q", got, want)
		}
	})

	t.Run("TheHolderMovesToAnotherTokenWhileBPausesAfterP2", func(t *testing.T) {
		db := newPushDB(t)
		p := &pushPauser{}
		s, other := pushNode(db, p.hook), pushNode(db, nil)
		register(t, s, "u1", "a", "T")
		g := p.at(t, pushRefused, "b")
		pending := upsertAsync(t.Context(), s, device("u2", "b", "T"))
		g.wait(t)
		register(t, other, "u1", "a", "T2") // a's install got a new token; T is free
		g.open()                            // b's late P3 must not clear T2
		if _, err := pending.result(t); err != nil {
			t.Fatal(err)
		}
		wantHolders(t, db, "T", "u2/b")
		wantHolders(t, db, "T2", "u1/a")
	})

	t.Run("TheHolderTakesTheTokenBackWhileBPausesAfterP3", func(t *testing.T) {
		db := newPushDB(t)
		p := &pushPauser{}
		s, other := pushNode(db, p.hook), pushNode(db, nil)
		register(t, s, "u1", "a", "T")
		g := p.at(t, pushCleared, "b")
		pending := upsertAsync(t.Context(), s, device("u2", "b", "T"))
		g.wait(t)
		register(t, other, "u1", "a", "T") // a, racing b, re-registers and returns holding T
		wantHolders(t, db, "T", "u1/a")
		g.open()
		if _, err := pending.result(t); err != nil {
			t.Fatal(err)
		}
		wantHolders(t, db, "T", "u2/b") // b finished last
	})
}

// TestPushTokenCrash: a registration that ends between its steps (its node crashed, or
// its store call failed) leaves at most one holder, and the next registration of the token
// settles it.
func TestPushTokenCrash(t *testing.T) {
	t.Parallel()
	t.Run("AfterP2", func(t *testing.T) {
		db := newPushDB(t)
		p := &pushPauser{crash: map[pushStep]string{pushRefused: "b"}}
		s := pushNode(db, p.hook)
		register(t, s, "u1", "a", "T")
		if _, err := s.UpsertDevice(t.Context(), device("u2", "b", "T")); !errors.Is(err, errCrash) {
			t.Fatalf("the crashed registration: %v", err)
		}
		wantHolders(t, db, "T", "u1/a") // nothing changed
		register(t, pushNode(db, nil), "u2", "b", "T")
		wantHolders(t, db, "T", "u2/b")
	})
	t.Run("AfterP3", func(t *testing.T) {
		for _, next := range []string{"b", "a"} {
			t.Run("ThenRegisters_"+next, func(t *testing.T) {
				db := newPushDB(t)
				p := &pushPauser{crash: map[pushStep]string{pushCleared: "b"}}
				s := pushNode(db, p.hook)
				register(t, s, "u1", "a", "T")
				register(t, s, "u2", "b", "") // b exists: the crash leaves it as it was
				if _, err := s.UpsertDevice(t.Context(), device("u2", "b", "T")); !errors.Is(err, errCrash) {
					t.Fatalf("the crashed registration: %v", err)
				}
				wantHolders(t, db, "T") // a lost it, b never got it: no holder, not two
				wantToken(t, s, "u1", "a", "")
				wantToken(t, s, "u2", "b", "")
				users := map[string]string{"a": "u1", "b": "u2"}
				register(t, pushNode(db, nil), users[next], next, "T")
				wantHolders(t, db, "T", users[next]+"/"+next)
			})
		}
	})
}

// TestPushTokenCallerGivesUp: a caller that cancels before P3 changes nothing; one that
// cancels after P3 still gets its registration finished, so that the token it took does
// not stay without a holder.
func TestPushTokenCallerGivesUp(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		step    pushStep
		holder  string
		success bool
	}{
		{"BeforeP3", pushRefused, "u1/a", false},
		{"AfterP3", pushCleared, "u2/b", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			db := newPushDB(t)
			p := &pushPauser{}
			s := pushNode(db, p.hook)
			register(t, s, "u1", "a", "T")
			g := p.at(t, tt.step, "b")
			ctx, cancel := context.WithCancel(t.Context())
			pending := upsertAsync(ctx, s, device("u2", "b", "T"))
			g.wait(t)
			cancel()
			g.open()
			d, err := pending.result(t)
			if tt.success != (err == nil) {
				t.Fatalf("registration canceled %s: %+v, %v", tt.name, d, err)
			}
			if !tt.success && !errors.Is(err, context.Canceled) {
				t.Fatalf("registration canceled before P3: %v, want context.Canceled", err)
			}
			wantHolders(t, db, "T", tt.holder)
		})
	}
}

// TestPushTokenShuffled: registrations of one token from several nodes, paused at random
// between their steps; at every step at most one device holds the token, and when they
// have all returned exactly one does.
func TestPushTokenShuffled(t *testing.T) {
	t.Parallel()
	db := newPushDB(t)
	var mu sync.Mutex
	var over []string
	steals := 0
	check := func(step pushStep, _ push.Device, _ string) error {
		for range rand.IntN(3) { // a random pause between the steps: others run meanwhile
			runtime.Gosched()
		}
		h, err := readHolders(t.Context(), db, "T")
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			t.Error(err)
		}
		if len(h) > 1 {
			over = append(over, fmt.Sprint(h))
		}
		if step == pushCleared {
			steals++
		}
		return nil
	}
	nodes := []*pushStore{pushNode(db, check), pushNode(db, check), pushNode(db, check)}
	for round := range 5 {
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				d := device(fmt.Sprint("u", i%3), fmt.Sprint("d", i), "T")
				d.LastSeen = storetest.Epoch.Add(time.Duration(round) * time.Second)
				if _, err := nodes[i%len(nodes)].UpsertDevice(t.Context(), d); err != nil {
					t.Errorf("round %d, device %d: %v", round, i, err)
				}
			})
		}
		wg.Wait()
		if h := holders(t, db, "T"); len(h) != 1 {
			t.Fatalf("round %d: holders %q, want one", round, h)
		}
	}
	if len(over) > 0 {
		t.Fatalf("two or more holders seen between steps: %q", over)
	}
	if steals == 0 {
		t.Fatal("no registration took the token from another: the test shuffled nothing")
	}
	t.Logf("%d tokens taken", steals)
}
