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
	migrationsCollection = "tideline_migrations" // {_id: version, name, appliedAt, breaking, release}
)

// A migration moves the database from version-1 to version. Without transactions, a
// migration cannot be atomic, so every migration must be
//   - idempotent: running it again, or after a crash halfway, ends in the same state;
//   - safe to run on several nodes at once (nodes starting together all run it).
//
// It also says what it does to the binaries that do not know it, which keep serving, and
// restart, during a rolling upgrade (MongoDB's featureCompatibilityVersion plays this part):
//   - additive: new collections, new indexes, new fields that older binaries ignore. An
//     older binary runs on a database that has it, skipping it.
//   - breaking: anything an older binary would misread or miss (removing, renaming or
//     reshaping what it reads or writes). An older binary refuses to start on a database
//     that has it, so every older node must stop before the first new one starts.
//
// Prefer expand/contract over breaking: add the new shape in one release, and remove the
// old one in a later release, once no supported binary reads it (docs/operations.md,
// "Upgrades"). Append new migrations; never edit or reorder released ones.
type migration struct {
	version  int
	name     string
	breaking bool
	up       func(ctx context.Context, db *DB) error
}

// The compatibility of a migration with the binaries that do not know it.
const (
	additive = false
	breaking = true
)

// migrations is the MongoDB engine's schema history. Features append theirs.
var migrations = []migration{
	{1, "instance", additive, migrateInstance},
	{2, "auth", additive, migrateAuth},
	{3, "sync", additive, migrateSync},
	{4, "push", additive, migratePush},
	{5, "push campaigns", additive, migratePushCampaigns},
	{6, "one secret store", additive, migrateSecrets},
	{7, "sync owner index", additive, migrateOwnerIndex},
	{8, "sync client health", additive, migrateClientHealth},
	{9, "files", additive, migrateFiles},
	{10, "push topic audience index", additive, migrateTopicAudience},
	{11, "auth expiry indexes", additive, migrateAuthExpiry},
	{12, "push delivery retention: drop the devices' {topics} index", additive, migrateDropTopicsIndex},
	{13, "file references", additive, migrateFileRefs},
}

// appliedMigration is the record of a migration in migrationsCollection. Release is the
// Tideline version that applied it. Records written before migrations declared their
// compatibility have no breaking field: every binary that reads them knows them, and they
// read as additive.
type appliedMigration struct {
	Version  int    `bson:"_id"`
	Name     string `bson:"name"`
	Breaking bool   `bson:"breaking"`
	Release  string `bson:"release"`
}

// migrateInstance records who this data is, once: concurrent first starts agree on one
// instance id because $setOnInsert only writes when the upsert inserts.
func migrateInstance(ctx context.Context, db *DB) error {
	_, err := db.db.Collection(metaCollection, durable).UpdateOne(ctx,
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

// migrate applies the migrations of migs the database lacks and records each. It refuses a
// database that has a breaking migration this binary does not know, and runs on one that
// has only additive ones it does not know (a newer node migrated it during a rolling
// upgrade), saying so in the log.
func (db *DB) migrate(ctx context.Context, migs []migration) error {
	applied, err := findAll[appliedMigration](ctx, db.db.Collection(migrationsCollection, durable), bson.D{},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "read the applied migrations")
	if err != nil {
		return err
	}
	if err := db.checkNewer(applied, migs); err != nil {
		return err
	}
	done := map[int]bool{}
	for _, a := range applied {
		done[a.Version] = true
	}
	for _, m := range migs {
		if done[m.version] {
			continue
		}
		what := fmt.Sprintf("migration %d (%s)", m.version, m.name)
		if err := m.up(ctx, db); err != nil {
			return mapError(err, what)
		}
		_, err := db.db.Collection(migrationsCollection, durable).InsertOne(ctx, bson.D{
			{Key: "_id", Value: m.version},
			{Key: "name", Value: m.name},
			{Key: "appliedAt", Value: db.clock.Now().UTC()},
			{Key: "breaking", Value: m.breaking},
			{Key: "release", Value: tideline.Version},
		})
		if err != nil && !mongo.IsDuplicateKeyError(err) { // a duplicate: another node recorded it first
			return mapError(err, what)
		}
	}
	return nil
}

// checkNewer fails with CodeUnavailable, naming the migration and the release to run, when
// applied holds a breaking migration newer than migs, and logs the additive ones it skips.
func (db *DB) checkNewer(applied []appliedMigration, migs []migration) error {
	known := migs[len(migs)-1].version
	var skipped []string
	for _, a := range applied {
		if a.Version <= known {
			continue
		}
		if a.Breaking {
			by, run := "a newer Tideline", fmt.Sprintf("a Tideline that knows schema version %d", a.Version)
			if a.Release != "" && a.Release != "dev" {
				by, run = "a newer Tideline ("+a.Release+")", "Tideline "+a.Release+" or later"
			}
			return tideline.Errorf(tideline.CodeUnavailable,
				"The MongoDB database %s has migration %d (%s), applied by %s and marked breaking: this binary (Tideline %s) knows schema versions up to %d and cannot run on it. Run %s on this node.",
				db.location, a.Version, a.Name, by, tideline.Version, known, run)
		}
		skipped = append(skipped, fmt.Sprintf("%d (%s)", a.Version, a.Name))
	}
	if len(skipped) > 0 {
		db.log.Info("the MongoDB database was migrated by a newer Tideline; the migrations this binary does not know are additive, so it runs on it: upgrade this node",
			"database", db.location, "known_schema", known, "unknown_migrations", skipped)
	}
	return nil
}

// schemaVersion is the highest recorded migration, or 0 for a new database. During a
// rolling upgrade it can be higher than the binary knows (see migrate).
func (db *DB) schemaVersion(ctx context.Context) (int, error) {
	var last struct {
		Version int `bson:"_id"`
	}
	err := db.db.Collection(migrationsCollection, durable).FindOne(ctx, bson.D{},
		options.FindOne().SetSort(bson.D{{Key: "_id", Value: -1}})).Decode(&last)
	if err == mongo.ErrNoDocuments {
		return 0, nil
	}
	if err != nil {
		return 0, mapError(err, "read schema version")
	}
	return last.Version, nil
}
