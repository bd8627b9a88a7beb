package mongo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// newDatabaseName returns a database name no other test uses, and drops that database
// when the test ends (on FerretDB this is tidiness; on a shared real MongoDB it matters).
func newDatabaseName(t testing.TB, uri string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		c, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.Database(name).Drop(ctx)
		_ = c.Disconnect(ctx)
	})
	return name
}

func harness(t *testing.T) storetest.Harness {
	uri := storetest.MongoURI(t)
	return storetest.Harness{
		Engine:       "mongodb",
		LatestSchema: migrations[len(migrations)-1].version,
		NewLocation:  func(t *testing.T) string { return newDatabaseName(t, uri) },
		Open: func(ctx context.Context, name string, clock tideline.Clock) (storetest.Engine, error) {
			return Open(ctx, Options{URI: uri, Database: name, Clock: clock})
		},
		// A future migration that this binary must not run with: breaking (an additive one
		// is skipped, see TestRollingUpgrade).
		SetSchemaVersion: func(t *testing.T, name string, v int) {
			t.Helper()
			db := mustOpen(t, uri, name, migrations)
			if _, err := db.db.Collection(migrationsCollection).InsertOne(t.Context(), bson.D{{Key: "_id", Value: v}, {Key: "name", Value: "from the future"}, {Key: "breaking", Value: true}}); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, harness(t))
}

func mustOpen(t *testing.T, uri, name string, migs []migration) *DB {
	t.Helper()
	db, err := open(t.Context(), Options{URI: uri, Database: name, Clock: tideline.NewManualClock(storetest.Epoch)}, migs)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpen(t *testing.T) {
	t.Parallel()
	t.Run("ErrMalformedURI", func(t *testing.T) {
		for _, uri := range []string{"", "postgres://localhost", "mongodb://user:s3cret@/db", "mongodb://localhost/?maxPoolSize=lots"} {
			_, err := Open(t.Context(), Options{URI: uri})
			if code := tideline.ErrorCode(err); code != tideline.CodeInvalid {
				t.Errorf("Open(%q): code %q, want invalid (err: %v)", uri, code, err)
			}
			if strings.Contains(tideline.ErrorMessage(err), "s3cret") {
				t.Errorf("Open(%q): message leaks the password: %s", uri, tideline.ErrorMessage(err))
			}
		}
	})

	t.Run("ErrUnreachableFailsFast", func(t *testing.T) {
		start := time.Now()
		_, err := Open(t.Context(), Options{URI: "mongodb://admin:s3cret@127.0.0.1:1/app", ConnectTimeout: 300 * time.Millisecond})
		if code := tideline.ErrorCode(err); code != tideline.CodeUnavailable {
			t.Fatalf("code %q, want unavailable (err: %v)", code, err)
		}
		msg := tideline.ErrorMessage(err)
		if !strings.Contains(msg, "127.0.0.1:1") || strings.Contains(msg, "s3cret") {
			t.Fatalf("message %q should name the host and hide the password", msg)
		}
		if waited := time.Since(start); waited > 10*time.Second {
			t.Fatalf("Open took %v with a 300ms connect timeout", waited)
		}
	})

	t.Run("DatabaseFromURI", func(t *testing.T) {
		uri := storetest.MongoURI(t)
		name := newDatabaseName(t, uri)
		withDB := strings.Replace(uri, "/?", "/"+name+"?", 1)
		if withDB == uri {
			t.Skipf("cannot put a database name into %s", uri)
		}
		db, err := Open(t.Context(), Options{URI: withDB})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if got := db.db.Name(); got != name {
			t.Fatalf("database %q, want %q from the URI", got, name)
		}
	})

	t.Run("ConcurrentFirstStartsAgree", func(t *testing.T) {
		uri := storetest.MongoURI(t)
		name := newDatabaseName(t, uri)
		const nodes = 4
		ids := make([]string, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				db, err := Open(t.Context(), Options{URI: uri, Database: name})
				if err != nil {
					t.Errorf("node %d: %v", i, err)
					return
				}
				defer db.Close()
				info, err := db.Info(t.Context())
				if err != nil {
					t.Errorf("node %d: %v", i, err)
				}
				ids[i] = info.InstanceID
			})
		}
		wg.Wait()
		for i := range ids {
			if ids[i] != ids[0] || ids[i] == "" {
				t.Fatalf("nodes disagree on the instance: %q", ids)
			}
		}
	})
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	db := mustOpen(t, uri, name, migrations[:1])
	db.Close()
	runs := 0
	next := append(migrations[:1:1], migration{2, "widgets index", additive, func(ctx context.Context, db *DB) error {
		runs++
		_, err := db.db.Collection("widgets").Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true)})
		return err
	}})
	for range 2 {
		db := mustOpen(t, uri, name, next)
		info, err := db.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.SchemaVersion != 2 {
			t.Fatalf("schema version %d, want 2", info.SchemaVersion)
		}
		db.Close()
	}
	if runs != 1 {
		t.Fatalf("migration 2 ran %d times, want 1", runs)
	}
	// The index it made is enforced: a duplicate maps to conflict.
	db = mustOpen(t, uri, name, next)
	widgets := db.db.Collection("widgets")
	if _, err := widgets.InsertOne(t.Context(), bson.D{{Key: "sku", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	_, err := widgets.InsertOne(t.Context(), bson.D{{Key: "sku", Value: "a"}})
	if code := tideline.ErrorCode(mapError(err, "insert")); code != tideline.CodeConflict {
		t.Fatalf("duplicate sku: code %q, want conflict (err: %v)", code, err)
	}
}

func TestMapError(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	db := mustOpen(t, uri, newDatabaseName(t, uri), migrations)
	ctx := t.Context()
	coll := db.db.Collection("things")
	if _, err := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatal(err)
	}
	_, dup := coll.InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}})
	missing := coll.FindOne(ctx, bson.D{{Key: "_id", Value: "nope"}}).Err()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	_, canceledErr := coll.InsertOne(canceled, bson.D{{Key: "_id", Value: "b"}})
	_, invalid := coll.UpdateOne(ctx, bson.D{{Key: "_id", Value: "a"}}, bson.D{{Key: "$nope", Value: bson.D{{Key: "x", Value: 1}}}})

	tests := []struct {
		name string
		err  error
		code tideline.Code
	}{
		{"DuplicateKey", dup, tideline.CodeConflict},
		{"NoDocuments", missing, tideline.CodeNotFound},
		{"Canceled", canceledErr, tideline.CodeUnavailable},
		{"BadOperator", invalid, tideline.CodeInternal},
		{"Disconnected", mongo.ErrClientDisconnected, tideline.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("the driver returned no error")
			}
			if code := tideline.ErrorCode(mapError(tt.err, "test")); code != tt.code {
				t.Fatalf("code %q, want %q (err: %v)", code, tt.code, tt.err)
			}
		})
	}
}
