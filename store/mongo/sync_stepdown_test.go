package mongo

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
)

// TestSyncOrderingAcrossStepDown runs the shared ordering test (storetest.RunOrdering) on
// three nodes of one replica set and steps the primary down after a fifth of the commits,
// from inside a commit, while the other writers and the readers go on: the invariant must
// hold across the election (every reader ends with the store's state, nothing appears
// behind a reader's position), and no operation may fail for longer than the driver's
// retries cover. It needs a real replica set (TIDELINE_TEST_MONGODB_URI naming one); on
// FerretDB or a standalone server it skips, saying so.
func TestSyncOrderingAcrossStepDown(t *testing.T) {
	t.Parallel()
	uri := os.Getenv(storetest.MongoURIEnv)
	if uri == "" {
		t.Skip("needs a replica set: set " + storetest.MongoURIEnv + " to a replica set's URI (the tests here run on FerretDB, which has none)")
	}
	db, err := Open(t.Context(), Options{URI: uri, Database: newDatabaseName(t, uri), ConnectTimeout: 30 * time.Second,
		Clock: tideline.SystemClock{}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hello struct {
		SetName string `bson:"setName"`
	}
	if err := db.client.Database("admin").RunCommand(t.Context(), bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		t.Fatal(err)
	}
	if hello.SetName == "" {
		t.Skip("needs a replica set: " + storetest.MongoURIEnv + " names a standalone server, which has no primary to step down")
	}
	const writers, rounds = 6, 40
	rr := &roundRobin{nodes: []datasync.Store{db.Sync(), sibling(db, nil).Sync(), sibling(db, nil).Sync()}}
	sd := &stepDown{Store: rr, after: writers * rounds / 5, do: func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := db.client.Database("admin").RunCommand(ctx, bson.D{{Key: "replSetStepDown", Value: 30},
			{Key: "secondaryCatchUpPeriodSecs", Value: 10}}).Err()
		if mongo.IsNetworkError(err) { // the old primary closes its connections as it steps down
			err = nil
		}
		return err
	}}
	storetest.RunOrdering(t, sd, writers, 3, rounds)
	if !sd.done.Load() {
		t.Fatal("the primary was never stepped down")
	}
	if sd.err != nil {
		t.Fatalf("step down: %v", sd.err)
	}
}

// stepDown is a store that runs do once, from inside the after-th commit.
type stepDown struct {
	datasync.Store
	after   int64
	do      func() error
	commits atomic.Int64
	once    sync.Once
	done    atomic.Bool
	err     error
}

func (s *stepDown) Commit(ctx context.Context, c datasync.Commit) ([]datasync.CommitResult, error) {
	res, err := s.Store.Commit(ctx, c)
	if err == nil && s.commits.Add(1) == s.after {
		s.once.Do(func() {
			s.err = s.do()
			s.done.Store(true)
		})
	}
	return res, err
}
