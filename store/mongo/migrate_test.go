package mongo

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// newer is the version of the first migration this binary does not know.
var newer = len(migrations) + 1

// nextRelease is this binary's migrations and then more: a newer binary.
func nextRelease(more ...migration) []migration {
	return append(migrations[:len(migrations):len(migrations)], more...)
}

// migrateWidgets is an additive migration of the kind a release adds: a new collection
// with a unique index, and a new field on a document that older binaries read (and whose
// unknown fields they ignore). Idempotent.
func migrateWidgets(ctx context.Context, db *DB) error {
	_, err := db.db.Collection("tideline_widgets").Indexes().CreateOne(ctx, mongo.IndexModel{
		Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)})
	if err != nil {
		return err
	}
	_, err = db.db.Collection(metaCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: "instance"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "widgets", Value: true}}}})
	return err
}

// openNode opens the engine with migs as a node would, logging to log (nil: nowhere).
func openNode(t *testing.T, uri, name string, migs []migration, log *slog.Logger) *DB {
	t.Helper()
	db, err := open(t.Context(), Options{URI: uri, Database: name, Clock: tideline.NewManualClock(storetest.Epoch), Logger: log}, migs)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// syncNode is the sync service on one node.
type syncNode struct {
	t   *testing.T
	svc *datasync.Service
}

func newSyncNode(t *testing.T, db *DB) syncNode {
	t.Helper()
	svc, err := datasync.New(t.Context(), db.Sync(), datasync.Config{Clock: db.clock, Secrets: db.Secrets()})
	if err != nil {
		t.Fatalf("start sync: %v", err)
	}
	return syncNode{t: t, svc: svc}
}

// put writes note id for user u1 through the node and wants it applied.
func (n syncNode) put(mutID int64, id, text string) {
	n.t.Helper()
	r, err := n.svc.Push(n.t.Context(), datasync.Caller{UserID: "u1"}, "c1",
		[]datasync.Mutation{{ID: mutID, Collection: "notes", DocID: id, Op: "put", Fields: map[string]any{"text": text}}})
	if err != nil || r[0].Status != datasync.Applied {
		n.t.Fatalf("push %s: %+v, %v", id, r, err)
	}
}

// pull pulls from cursor through the node and returns the ids of the changed notes and the
// new cursor.
func (n syncNode) pull(cursor string) ([]string, string) {
	n.t.Helper()
	p, err := n.svc.Pull(n.t.Context(), datasync.Caller{UserID: "u1"}, datasync.PullRequest{Cursor: cursor})
	if err != nil {
		n.t.Fatalf("pull: %v", err)
	}
	var ids []string
	for _, c := range p.Changes {
		ids = append(ids, c.DocID)
	}
	return ids, p.Cursor
}

func wantIDs(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("pulled %q, want %q", got, want)
	}
}

// TestRollingUpgrade: a release whose migration is additive rolls over the nodes one by
// one. Node A (this release) serves; nodes B1 and B2 (the next release: one more, additive
// migration) start at once and migrate; A keeps serving; A restarts, still of this release,
// starts (saying the database is newer) and serves; the new migration ran to completion
// and is recorded once.
func TestRollingUpgrade(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	a := openNode(t, uri, name, migrations, nil)
	nodeA := newSyncNode(t, a)
	nodeA.put(1, "n1", "before the upgrade")
	ids, cursor := nodeA.pull("")
	wantIDs(t, ids, "n1")

	var runs atomic.Int32
	next := nextRelease(migration{len(migrations) + 1, "widgets", additive, func(ctx context.Context, db *DB) error {
		runs.Add(1)
		return migrateWidgets(ctx, db)
	}})
	newNodes := make([]*DB, 2)
	var wg sync.WaitGroup
	for i := range newNodes {
		wg.Go(func() {
			db, err := open(t.Context(), Options{URI: uri, Database: name, Clock: tideline.NewManualClock(storetest.Epoch)}, next)
			if err != nil {
				t.Errorf("new node %d: %v", i, err)
				return
			}
			t.Cleanup(func() { db.Close() })
			newNodes[i] = db
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	if runs.Load() == 0 {
		t.Fatal("the new migration did not run")
	}

	// A, started before the migration, keeps serving, and the new nodes serve what it wrote.
	nodeA.put(2, "n2", "during the upgrade")
	ids, cursor = nodeA.pull(cursor)
	wantIDs(t, ids, "n2")
	nodeB := newSyncNode(t, newNodes[0])
	nodeB.put(3, "n3", "written by a new node")
	if ids, _ := nodeB.pull(""); len(ids) != 3 {
		t.Fatalf("a new node pulled %q, want the 3 notes", ids)
	}

	// A restarts (a crash, a redeploy) before it is replaced: it starts and serves, and its
	// clients' cursors still hold.
	a.Close()
	var logged bytes.Buffer
	a = openNode(t, uri, name, migrations, slog.New(slog.NewTextHandler(&logged, nil)))
	if log := logged.String(); !strings.Contains(log, "level=INFO") || !strings.Contains(log, "migrated by a newer Tideline") ||
		!strings.Contains(log, fmt.Sprintf("%d (widgets)", newer)) {
		t.Fatalf("the restarted old node logged %q; want an info that the database has the newer, additive migration %d (widgets)", log, newer)
	}
	nodeA = newSyncNode(t, a)
	ids, cursor = nodeA.pull(cursor)
	wantIDs(t, ids, "n3")
	nodeA.put(4, "n4", "after the restart")
	ids, _ = nodeA.pull(cursor)
	wantIDs(t, ids, "n4")
	if info, err := a.Info(t.Context()); err != nil || info.SchemaVersion != newer {
		t.Fatalf("the old node reports schema %d, %v; want the database's, %d", info.SchemaVersion, err, newer)
	}

	// The migration was recorded once, as additive, and its work is there.
	var recs []appliedMigration
	recs, err := findAll[appliedMigration](t.Context(), a.db.Collection(migrationsCollection), bson.D{{Key: "_id", Value: newer}}, options.Find(), "test")
	if err != nil || len(recs) != 1 || recs[0].Breaking || recs[0].Name != "widgets" || recs[0].Release != tideline.Version {
		t.Fatalf("records of migration %d: %+v, %v; want one, additive, of release %s", newer, recs, err, tideline.Version)
	}
	widgets := a.db.Collection("tideline_widgets")
	if _, err := widgets.InsertOne(t.Context(), bson.D{{Key: "sku", Value: "w"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := widgets.InsertOne(t.Context(), bson.D{{Key: "sku", Value: "w"}}); !mongo.IsDuplicateKeyError(err) {
		t.Fatalf("a duplicate sku: %v; want the unique index of migration %d to refuse it", err, newer)
	}
}

// TestBreakingMigration: a binary refuses a database with a breaking migration it does not
// know, and the message names the migration and what to run; the binary that knows it runs.
// Records written before migrations declared their compatibility read as additive.
func TestBreakingMigration(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)

	t.Run("ErrAppliedByNewerNode", func(t *testing.T) {
		name := newDatabaseName(t, uri)
		openNode(t, uri, name, migrations, nil).Close()
		next := nextRelease(
			migration{newer, "widgets", additive, migrateWidgets},
			migration{newer + 1, "notes without legacy text", breaking, func(ctx context.Context, db *DB) error {
				_, err := db.db.Collection("notes").UpdateMany(ctx, bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "text", Value: ""}}}})
				return err
			}},
		)
		openNode(t, uri, name, next, nil).Close()
		_, err := open(t.Context(), Options{URI: uri, Database: name}, migrations)
		if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
			t.Fatalf("an old binary on a database with a breaking migration: code %q, want unavailable (err: %v)", code, err)
		}
		msg := tideline.ErrorMessage(err)
		for _, want := range []string{fmt.Sprintf("migration %d (notes without legacy text)", newer+1), "marked breaking", "newer Tideline",
			fmt.Sprintf("schema versions up to %d", newer-1), "Run "} {
			if !strings.Contains(msg, want) {
				t.Fatalf("message %q does not say %q", msg, want)
			}
		}
		openNode(t, uri, name, next, nil) // the newer binary runs on it
	})

	t.Run("ErrNamesTheRelease", func(t *testing.T) {
		name := newDatabaseName(t, uri)
		db := openNode(t, uri, name, migrations, nil)
		if _, err := db.db.Collection(migrationsCollection).InsertOne(t.Context(), bson.D{{Key: "_id", Value: newer},
			{Key: "name", Value: "sessions by device"}, {Key: "breaking", Value: true}, {Key: "release", Value: "v1.7.0"}}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		_, err := open(t.Context(), Options{URI: uri, Database: name}, migrations)
		msg := tideline.ErrorMessage(err)
		if !strings.Contains(msg, fmt.Sprintf("migration %d (sessions by device), applied by a newer Tideline (v1.7.0)", newer)) || !strings.Contains(msg, "Run Tideline v1.7.0 or later") {
			t.Fatalf("message %q should name the migration and the release to run (err: %v)", msg, err)
		}
	})

	t.Run("RecordsWithoutCompatibilityAreAdditive", func(t *testing.T) {
		name := newDatabaseName(t, uri)
		db := openNode(t, uri, name, migrations, nil)
		if _, err := db.db.Collection(migrationsCollection).InsertOne(t.Context(), bson.D{{Key: "_id", Value: newer}, {Key: "name", Value: "an older record"}}); err != nil {
			t.Fatal(err)
		}
		db.Close()
		openNode(t, uri, name, migrations, nil)
	})
}
