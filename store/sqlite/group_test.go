package sqlite

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
)

// groupOf makes db's next group hold n commits: the leader of the first group waits
// (at "take") until n commits are queued. commit, when not nil, runs at the group's
// "commit" stage (its writes done, before COMMIT) with the group's size.
func groupOf(db *DB, n int, commit func(size int) error) {
	all := make(chan struct{})
	var once, first sync.Once
	db.committer.hook = func(stage string, got int) error {
		switch stage {
		case "queued":
			if got >= n {
				once.Do(func() { close(all) })
			}
		case "take":
			first.Do(func() { <-all })
		case "commit":
			if commit != nil {
				return commit(got)
			}
		}
		return nil
	}
}

func groupService(t testing.TB, db *DB) *datasync.Service {
	t.Helper()
	svc, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Clock: tideline.NewManualClock(storetest.Epoch), Secrets: db.Secrets()})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// groupPush is client i's push in the group tests: user u<i>, client c<i>, mutation 1
// increments its document's n by i+1.
func groupPush(ctx context.Context, svc *datasync.Service, i int) ([]datasync.Receipt, error) {
	m := datasync.Mutation{ID: 1, Collection: "todos", DocID: "counter", Op: "patch",
		Ops: map[string]datasync.FieldOp{"n": {Inc: json.Number(fmt.Sprint(i + 1))}}}
	return svc.Push(ctx, datasync.Caller{UserID: fmt.Sprint("u", i)}, fmt.Sprint("c", i), []datasync.Mutation{m})
}

// pushAll runs groupPush for clients 0..n-1 at once and returns their receipts and errors.
func pushAll(ctx context.Context, svc *datasync.Service, n int) ([][]datasync.Receipt, []error) {
	receipts, errs := make([][]datasync.Receipt, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { receipts[i], errs[i] = groupPush(ctx, svc, i) })
	}
	wg.Wait()
	return receipts, errs
}

// checkCounters fails unless each of the n clients' counters is i+1 (applied once) and
// the watermark is want.
func checkCounters(t *testing.T, db *DB, n int, want int64) {
	t.Helper()
	for i := range n {
		docs, err := db.Sync().FindDocuments(t.Context(), []datasync.DocRef{{Collection: "todos", Scope: fmt.Sprint("u", i), ID: "counter"}})
		if err != nil || len(docs) != 1 {
			t.Fatalf("client %d's document: %v %v", i, docs, err)
		}
		if got := fmt.Sprint(docs[0].Fields["n"]); got != fmt.Sprint(i+1) {
			t.Errorf("client %d's counter is %s, want %d (its increment applied once)", i, got, i+1)
		}
	}
	if w, err := db.Sync().Watermark(t.Context()); err != nil || w != want {
		t.Fatalf("watermark %d (%v), want %d", w, err, want)
	}
}

// checkApplied fails unless every receipt is applied (duplicate or not, as dup says),
// with a sequence number of its own.
func checkApplied(t *testing.T, receipts [][]datasync.Receipt, errs []error, dup bool) {
	t.Helper()
	seqs := map[int64]bool{}
	for i, r := range receipts {
		if errs[i] != nil {
			t.Fatalf("client %d: %v", i, errs[i])
		}
		if len(r) != 1 || r[0].Status != datasync.Applied || r[0].Duplicate != dup || r[0].Seq == 0 || (!dup && seqs[r[0].Seq]) {
			t.Fatalf("client %d's receipt: %+v (want applied, duplicate %v, a seq of its own)", i, r, dup)
		}
		seqs[r[0].Seq] = true
	}
}

// TestGroupCommit: concurrent pushes share one transaction, their receipts are those of
// pushes committed alone, and a commit that fails in a group fails alone.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		db := mustOpen(t, t.TempDir(), migrations)
		svc := groupService(t, db)
		const n = 8
		var sizes []int
		groupOf(db, n, func(size int) error { sizes = append(sizes, size); return nil })
		receipts, errs := pushAll(t.Context(), svc, n)
		checkApplied(t, receipts, errs, false)
		if len(sizes) == 0 || sizes[0] != n {
			t.Fatalf("groups %v, want the first of %d commits", sizes, n)
		}
		checkCounters(t, db, n, n)
		// Sent again: duplicates, nothing applied twice.
		receipts, errs = pushAll(t.Context(), svc, n)
		checkApplied(t, receipts, errs, true)
		checkCounters(t, db, n, n)
	})
	t.Run("FailureStaysInItsCommit", func(t *testing.T) {
		t.Parallel()
		db := mustOpen(t, t.TempDir(), migrations)
		store := db.Sync()
		groupOf(db, 3, nil)
		doc := func(id string, buckets ...string) datasync.Write {
			return datasync.Write{Doc: datasync.Document{Ref: datasync.DocRef{Collection: "todos", ID: id}, Owner: "u", Version: 1,
				Fields: map[string]any{"id": id}, Buckets: buckets}}
		}
		commits := []datasync.Commit{
			{Writes: []datasync.Write{doc("a1", "user:u")}},
			// Its first write is done when its second fails (one bucket twice: the
			// bucket entry's key is taken): its savepoint undoes both, and its numbers.
			{Writes: []datasync.Write{doc("b1", "user:u"), doc("b2", "user:u", "user:u")}},
			{Writes: []datasync.Write{doc("c1", "user:u")}},
		}
		errs := make([]error, len(commits))
		var wg sync.WaitGroup
		for i, c := range commits {
			wg.Go(func() { _, errs[i] = store.Commit(t.Context(), c) })
		}
		wg.Wait()
		if errs[0] != nil || errs[2] != nil || errs[1] == nil {
			t.Fatalf("errors %v: want only the second commit's", errs)
		}
		found, err := store.FindDocuments(t.Context(), []datasync.DocRef{{Collection: "todos", ID: "a1"}, {Collection: "todos", ID: "b1"},
			{Collection: "todos", ID: "b2"}, {Collection: "todos", ID: "c1"}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		seqs := map[int64]bool{}
		for _, d := range found {
			got = append(got, d.Ref.ID)
			seqs[d.Seq] = true
		}
		if len(found) != 2 || !seqs[1] || !seqs[2] {
			t.Fatalf("stored %v with seqs %v: want a1 and c1 at 1 and 2 (no number lost to the failed commit)", got, seqs)
		}
		if w, _ := store.Watermark(t.Context()); w != 2 {
			t.Fatalf("watermark %d, want 2", w)
		}
	})
	t.Run("CommitFails", func(t *testing.T) {
		t.Parallel()
		db := mustOpen(t, t.TempDir(), migrations)
		svc := groupService(t, db)
		const n = 4
		failed := false
		groupOf(db, n, func(int) error {
			if !failed {
				failed = true
				return errors.New("disk I/O error (injected)")
			}
			return nil
		})
		_, errs := pushAll(t.Context(), svc, n)
		for i, err := range errs {
			if err == nil {
				t.Fatalf("client %d's push succeeded in a group whose COMMIT failed", i)
			}
		}
		if w, _ := db.Sync().Watermark(t.Context()); w != 0 {
			t.Fatalf("watermark %d after a failed group, want 0", w)
		}
		// The clients retry: each mutation applies once, as new (it was never stored).
		receipts, errs := pushAll(t.Context(), svc, n)
		checkApplied(t, receipts, errs, false)
		checkCounters(t, db, n, n)
	})
}

// TestGroupCommitCrash kills (SIGKILL) a server process in the middle of a group: its
// commits' writes are done and none is committed. Reopened, the data has the push
// committed before the group and nothing of the group; the clients send their pushes
// again, which apply once each, and once more, which are duplicates.
func TestGroupCommitCrash(t *testing.T) {
	t.Parallel()
	const n = 6
	dir := t.TempDir()
	cmd := osexec.Command(os.Args[0], "-test.run=^TestGroupCommitCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), "TIDELINE_GROUP_CRASH_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	var acked []string // pushes the child answered: none of the group may be
	for lines.Scan() && !strings.Contains(lines.Text(), "in the middle of a group") {
		if strings.HasPrefix(lines.Text(), "acked") {
			acked = append(acked, lines.Text())
		}
	}
	if lines.Err() != nil || !strings.Contains(lines.Text(), "in the middle of a group") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the child never reached the middle of its group: %v", lines.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	for lines.Scan() {
		if strings.HasPrefix(lines.Text(), "acked") {
			acked = append(acked, lines.Text())
		}
	}
	cmd.Wait()
	if len(acked) != 1 || acked[0] != "acked 0" {
		t.Fatalf("the child answered %v; want client 0's push only (a group's commits are answered after its COMMIT)", acked)
	}

	db := mustOpen(t, dir, migrations)
	svc := groupService(t, db)
	// Before the group: client 0's push was committed alone (seq 1). The group (clients
	// 1..n) is not there.
	found, err := db.Sync().FindDocuments(t.Context(), []datasync.DocRef{{Collection: "todos", Scope: "u1", ID: "counter"}})
	if err != nil || len(found) != 0 {
		t.Fatalf("a document of the killed group survived: %v %v", found, err)
	}
	if w, _ := db.Sync().Watermark(t.Context()); w != 1 {
		t.Fatalf("watermark %d after the crash, want 1 (the push before the group)", w)
	}
	receipts, errs := pushAll(t.Context(), svc, n+1) // client 0 again, and the group's
	if errs[0] != nil || len(receipts[0]) != 1 || !receipts[0][0].Duplicate {
		t.Fatalf("client 0's push, committed before the crash, sent again: %+v %v (want a duplicate)", receipts[0], errs[0])
	}
	checkApplied(t, receipts[1:], errs[1:], false)
	checkCounters(t, db, n+1, n+1)
	receipts, errs = pushAll(t.Context(), svc, n+1)
	checkApplied(t, receipts, errs, true)
	checkCounters(t, db, n+1, n+1)
}

// TestGroupCommitCrashChild is TestGroupCommitCrash's server process: client 0 pushes
// alone, then clients 1..6 push as one group, which stops before its COMMIT and says so
// on stdout, to be killed.
func TestGroupCommitCrashChild(t *testing.T) {
	dir := os.Getenv("TIDELINE_GROUP_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestGroupCommitCrash")
	}
	db, err := Open(t.Context(), dir, Options{Clock: tideline.NewManualClock(storetest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	svc := groupService(t, db)
	if _, err := groupPush(t.Context(), svc, 0); err != nil {
		t.Fatal(err)
	}
	fmt.Println("acked 0")
	const n = 6
	groupOf(db, n, func(size int) error {
		fmt.Printf("in the middle of a group of %d\n", size)
		select {} // killed here
	})
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Go(func() {
			if _, err := groupPush(t.Context(), svc, i); err == nil {
				fmt.Println("acked", i)
			}
		})
	}
	wg.Wait()
	t.Fatal("the group committed: the parent should have killed this process")
}
