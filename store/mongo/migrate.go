package mongo

import (
	"context"
	"fmt"

	"github.com/tideline-dev/tideline"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

const (
	metaCollection       = "tideline_meta"       // {_id: "instance", instanceId, createdAt}
	migrationsCollection = "tideline_migrations" // {_id: version, name, appliedAt}
)

// A migration moves the database from version-1 to version. Without transactions, a
// migration cannot be atomic, so every migration must be
//   - idempotent: running it again, or after a crash halfway, ends in the same state;
//   - safe to run on several nodes at once (nodes starting together all run it);
//   - additive: the previous binary, still serving during a rolling upgrade, keeps working.
//
// Creating collections and indexes, and backfilling fields the old binary ignores, qualify.
// Append new migrations; never edit or reorder released ones.
type migration struct {
	version int
	name    string
	up      func(ctx context.Context, db *DB) error
}

// migrations is the MongoDB engine's schema history. Features append theirs.
var migrations = []migration{
	{1, "instance", migrateInstance},
	{2, "auth", migrateAuth},
	{3, "sync", migrateSync},
	{4, "push", migratePush},
	{5, "push campaigns", migratePushCampaigns},
}

// migrateInstance records who this data is, once: concurrent first starts agree on one
// instance id because $setOnInsert only writes when the upsert inserts.
func migrateInstance(ctx context.Context, db *DB) error {
	_, err := db.db.Collection(metaCollection).UpdateOne(ctx,
		bson.D{{Key: "_id", Value: "instance"}},
		bson.D{{Key: "$setOnInsert", Value: bson.D{
			{Key: "instanceId", Value: tideline.NewID()},
			{Key: "createdAt", Value: db.clock.Now().UTC()},
		}}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil // another node inserted it between our match and our insert
	}
	return err
}

// migrate applies the migrations the database lacks and records each. It refuses a database
// whose schema is newer than this binary knows.
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	current, err := db.schemaVersion(ctx)
	if err != nil {
		return err
	}
	if known := migs[len(migs)-1].version; current > known {
		return tideline.Errorf(tideline.CodeUnavailable,
			"The MongoDB database %s has schema version %d, written by a newer Tideline; this binary knows versions up to %d. Run the newer binary.",
			db.location, current, known)
	}
	for _, m := range migs {
		if m.version <= current {
			continue
		}
		what := fmt.Sprintf("migration %d (%s)", m.version, m.name)
		if err := m.up(ctx, db); err != nil {
			return mapError(err, what)
		}
		_, err := db.db.Collection(migrationsCollection).InsertOne(ctx, bson.D{
			{Key: "_id", Value: m.version},
			{Key: "name", Value: m.name},
			{Key: "appliedAt", Value: db.clock.Now().UTC()},
		})
		if err != nil && !mongo.IsDuplicateKeyError(err) { // a duplicate: another node recorded it first
			return mapError(err, what)
		}
	}
	return nil
}

// schemaVersion is the highest recorded migration, or 0 for a new database.
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var last struct {
		Version int `bson:"_id"`
	}
	err := db.db.Collection(migrationsCollection).FindOne(ctx, bson.D{},
		options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&last)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	if err != nil {
		return 0, mapError(err, "read schema version")
	}
	return last.Version, nil
}
