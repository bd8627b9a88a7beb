package mongo

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
)

// commandLog records the commands the driver sends while it is on.
type commandLog struct {
	mu   sync.Mutex
	on   bool
	cmds []string   // "find tideline_sync_sequence", ...
	raw  []bson.Raw // the same, whole
}

func (l *commandLog) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.on {
			return
		}
		target := ""
		if v, err := e.Command.LookupErr(e.CommandName); err == nil {
			if s, ok := v.StringValueOK(); ok {
				target = " " + s
			}
		}
		l.cmds = append(l.cmds, e.CommandName+target)
		l.raw = append(l.raw, slices.Clone(e.Command))
	}}
}

// during runs f and returns the commands sent meanwhile.
func (l *commandLog) during(f func()) []string {
	l.mu.Lock()
	l.on, l.cmds, l.raw = true, nil, nil
	l.mu.Unlock()
	f()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.on = false
	return slices.Clone(l.cmds)
}

// rawDuring runs f and returns the commands sent meanwhile, whole.
func (l *commandLog) rawDuring(f func()) []bson.Raw {
	l.during(f)
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.raw)
}

// openMonitored opens the engine on a new database with a command log.
func openMonitored(t *testing.T, clock tideline.Clock) (*DB, *commandLog) {
	t.Helper()
	uri := storetest.MongoURI(t)
	log := &commandLog{}
	db, err := Open(t.Context(), Options{URI: uri, Database: newDatabaseName(t, uri), Clock: clock, monitor: log.monitor()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, log
}

// TestSyncCommandCounts counts the commands of a one-mutation push and of an incremental
// pull by a user with three buckets (user, authenticated, public) over eight collections,
// on a node whose hub has polled since the push (as the node's advancer does every
// PollEvery, and at once after a push through it). An incremental pull may cost at most
// collections + 3 commands: one scan per collection for all the buckets at once, the
// group memberships, and the purge horizon before and after.
func TestSyncCommandCounts(t *testing.T) {
	t.Parallel()
	clock := tideline.NewManualClock(storetest.Epoch)
	db, log := openMonitored(t, clock)
	svc, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Clock: clock, Secrets: db.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	hub := datasync.NewHub(svc, datasync.HubConfig{})
	caller := datasync.Caller{UserID: "u1"}
	const collections = 8
	var id int64
	for c := range collections {
		id++
		h := datasync.MakeHLC(clock.Now(), int(id), "phone")
		if _, err := svc.Push(t.Context(), caller, "phone", []datasync.Mutation{{ID: id, Collection: fmt.Sprint("c", c), DocID: "d", Op: "put",
			Fields: map[string]any{"n": int64(c)}, HLC: string(h)}}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := svc.Pull(t.Context(), caller, datasync.PullRequest{Fresh: true})
	if err != nil || len(page.Changes) != collections || page.HasMore {
		t.Fatalf("initial pull: %d changes, more %v, %v", len(page.Changes), page.HasMore, err)
	}
	id++
	pushCmds := log.during(func() {
		h := datasync.MakeHLC(clock.Now(), int(id), "phone")
		if _, err := svc.Push(t.Context(), caller, "phone", []datasync.Mutation{{ID: id, Collection: "c3", DocID: "d", Op: "patch",
			Fields: map[string]any{"n": int64(33)}, HLC: string(h)}}); err != nil {
			t.Fatal(err)
		}
	})
	if err := hub.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	pullCmds := log.during(func() {
		if page, err = svc.Pull(t.Context(), caller, datasync.PullRequest{Cursor: page.Cursor}); err != nil {
			t.Fatal(err)
		}
	})
	if len(page.Changes) != 1 || page.Changes[0].Fields["n"] != int64(33) {
		t.Fatalf("the incremental pull found %+v, want the patched document", page.Changes)
	}
	t.Logf("a one-mutation push: %d commands: %s", len(pushCmds), strings.Join(pushCmds, ", "))
	t.Logf("an incremental pull (3 buckets, %d collections): %d commands: %s", collections, len(pullCmds), strings.Join(pullCmds, ", "))
	if len(pullCmds) > collections+3 {
		t.Errorf("an incremental pull sent %d commands, want at most %d", len(pullCmds), collections+3)
	}
}

// TestSyncCollectionListFollowsNewCollections: a node caches the list of collections that
// hold synced documents. Another node then writes to a collection new to the deployment:
// the first node's scans up to a watermark past that write must find it, whether the
// watermark came from the node itself or from the other one.
func TestSyncCollectionListFollowsNewCollections(t *testing.T) {
	t.Parallel()
	db, _ := newSyncDB(t, nil)
	a, b := db, sibling(db, nil)
	put(t, a.Sync(), note("x", 1, "A"), 0)
	scanAll := func(node *DB, through int64) []string {
		t.Helper()
		docs, err := node.Sync().ScanBucket(t.Context(), datasync.BucketScan{Buckets: []string{"user:u1"}, Through: through, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range docs {
			ids = append(ids, d.Ref.Collection+"/"+d.Ref.ID)
		}
		return ids
	}
	w, err := a.Sync().Watermark(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := scanAll(a, w); !slices.Equal(got, []string{"notes/x"}) { // a caches [notes]
		t.Fatalf("first scan: %v", got)
	}
	for i, tasks := range []string{"tasks", "todos"} {
		d := note("y", 1, "B")
		d.Ref.Collection = tasks
		r := put(t, b.Sync(), d, 0)
		through := r.Seq // from the other node: a has never read the counter this high
		if i == 1 {
			if through, err = a.Sync().Watermark(t.Context()); err != nil { // from a itself
				t.Fatal(err)
			}
		}
		if got := scanAll(a, through); !slices.Contains(got, tasks+"/y") {
			t.Fatalf("a scan up to %d misses %s/y, written at %d through another node: %v", through, tasks, r.Seq, got)
		}
	}
}

// TestSyncAdvanceCoalesces: while one advance runs, any number of callers wait for one
// more, and share it: the ledger is read once at a time, however many pulls ask.
func TestSyncAdvanceCoalesces(t *testing.T) {
	t.Parallel()
	p := &pauser{}
	db, log := openMonitored(t, tideline.NewManualClock(storetest.Epoch))
	s := db.Sync()
	put(t, s, note("a", 1, "A"), 0)
	db.syncer.hook = p.hook
	publish := p.at(t, stepPublish, "")
	first := make(chan error, 1)
	go func() { _, err := s.Watermark(context.Background()); first <- err }()
	publish.wait(t)
	r := put(t, s, note("b", 1, "B"), 0)
	const callers = 8
	results := make(chan int64, callers)
	cmds := log.during(func() {
		var wg sync.WaitGroup
		for range callers {
			wg.Go(func() {
				w, err := s.Watermark(t.Context())
				if err != nil {
					t.Error(err)
				}
				results <- w
			})
		}
		for db.queuedWaiters() < callers { // until every caller waits (no sleeping: it yields)
			runtime.Gosched()
		}
		publish.open()
		if err := <-first; err != nil {
			t.Error(err)
		}
		wg.Wait()
	})
	close(results)
	for w := range results {
		if w < r.Seq {
			t.Fatalf("a caller that came after B's commit got watermark %d, below B at %d", w, r.Seq)
		}
	}
	reads := 0
	for _, c := range cmds {
		if c == "find "+sequenceCollection {
			reads++
		}
	}
	if reads != 1 {
		t.Fatalf("%d callers made %d advances after the one under way, want 1: %v", callers, reads, cmds)
	}
}

// queuedWaiters is how many callers wait for the queued advance.
func (db *DB) queuedWaiters() int {
	db.syncer.flights.Lock()
	defer db.syncer.flights.Unlock()
	if db.syncer.queued == nil {
		return 0
	}
	return db.syncer.queued.waiters
}
