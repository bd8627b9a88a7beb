package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The push collections.
const (
	// {_id: server id, userId, deviceId, sessionId, platform, pushToken (absent when
	// unbound), appVersion, locale, timezone, createdAt, lastSeen, topics: [string]}.
	// Topics are a set; MongoDB keeps them sorted ($push with $sort), FerretDB v1 ignores
	// $sort, and reads sort them either way.
	pushDevicesCollection = "tideline_push_devices"
)

// pushIndexes are the indexes of the devices collection:
//   - {userId, deviceId}, unique: a user's device is named by the pair (UpsertDevice's
//     upsert matches on it; two racing creations cannot both insert);
//   - {pushToken}, unique and sparse: one token, one holder, enforced by the server at every
//     write (see push.go). Unbound devices leave the field out, and a sparse index skips
//     documents without it, so any number of them coexist. (FerretDB v1 accepts but ignores
//     sparse; its unique indexes skip absent fields anyway, which is why an unbound token is
//     never stored as null or "".) A unique index on a field other than the shard key
//     cannot be enforced on a sharded collection, so this collection stays unsharded;
//   - {topics}: a multikey index for finding a topic's devices; migration 12 drops it, as
//     {topics, _id} serves the same queries by its prefix (it stays here because released
//     migrations are never edited);
//   - {topics, _id} (migration 10): a campaign to a topic pages through its devices in _id
//     order (ListAudience), which this index serves in order, hinted; with {topics} alone
//     MongoDB reads every device of the topic and sorts them, at every page.
//
// A user's devices (ListDevices, UnbindSessions, DeleteUserDevices) are a prefix of the
// first index.
var pushIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "deviceId", Value: 1}}, Options: options.Index().SetUnique(true)},
	{Keys: bson.D{{Key: "pushToken", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
	{Keys: bson.D{{Key: "topics", Value: 1}}},
}

// topicAudienceIndex is the index of a topic's devices in _id order (migration 10).
var topicAudienceIndex = mongo.IndexModel{Keys: bson.D{{Key: "topics", Value: 1}, {Key: "_id", Value: 1}}}

// migrateTopicAudience is migration 10: the index that pages a topic's audience.
func migrateTopicAudience(ctx context.Context, db *DB) error {
	if _, err := db.db.Collection(pushDevicesCollection).Indexes().CreateOne(ctx, topicAudienceIndex); err != nil {
		return fmt.Errorf("index %v on %s: %w", topicAudienceIndex.Keys, pushDevicesCollection, err)
	}
	return nil
}

// migratePush is migration 4: the indexes of the devices collection, one command each
// (FerretDB v1 panics on a createIndexes that lists two existing ones). Creating an index
// that exists does nothing, so a rerun or several nodes at once are harmless; MongoDB
// creates the collection with its first index.
func migratePush(ctx context.Context, db *DB) error {
	for _, ix := range pushIndexes {
		if _, err := db.db.Collection(pushDevicesCollection).Indexes().CreateOne(ctx, ix); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.Keys, pushDevicesCollection, err)
		}
	}
	return nil
}
