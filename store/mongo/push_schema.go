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
//   - {topics}: a multikey index for counting and finding a topic's devices.
//
// A user's devices (ListDevices, UnbindSessions, DeleteUserDevices) are a prefix of the
// first index.
var pushIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "deviceId", Value: 1}}, Options: options.Index().SetUnique(true)},
	{Keys: bson.D{{Key: "pushToken", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)},
	{Keys: bson.D{{Key: "topics", Value: 1}}},
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
