package mongo

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// authExpiryIndexes are migration 11's: the indexes that PurgeExpired reads, so that a
// sweep costs what it deletes, not a scan of every token, session and event.
var authExpiryIndexes = []struct {
	collection string
	model      mongo.IndexModel
}{
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}}},
	{actionTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}}},
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "expiresAt", Value: 1}}}},
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "revokedAt", Value: 1}}, Options: options.Index().SetSparse(true)}},
	{auditCollection, mongo.IndexModel{Keys: bson.D{{Key: "at", Value: 1}}}},
}

// migrateAuthExpiry is migration 11, one command per index (as migrateAuth).
func migrateAuthExpiry(ctx context.Context, db *DB) error {
	for _, ix := range authExpiryIndexes {
		if _, err := db.db.Collection(ix.collection).Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.model.Keys, ix.collection, err)
		}
	}
	return nil
}

// PurgeExpired reads at most limit ids of each kind and deletes them by id (MongoDB's
// deleteMany takes no limit); the refresh tokens of the sessions it deletes go with them,
// as on the embedded engine.
func (s authStore) PurgeExpired(ctx context.Context, now, endedBefore, auditBefore time.Time, limit int) (int, error) {
	limit = max(1, limit)
	total := 0
	for _, q := range []struct {
		collection string
		filter     bson.D
	}{
		{refreshTokensCollection, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: now.UTC()}}}}},
		{actionTokensCollection, bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: now.UTC()}}}}},
		{sessionsCollection, bson.D{{Key: "$or", Value: bson.A{
			bson.D{{Key: "expiresAt", Value: bson.D{{Key: "$lt", Value: endedBefore.UTC()}}}},
			bson.D{{Key: "revokedAt", Value: bson.D{{Key: "$lt", Value: endedBefore.UTC()}}}},
		}}}},
		{auditCollection, bson.D{{Key: "at", Value: bson.D{{Key: "$lt", Value: auditBefore.UTC()}}}}},
	} {
		n, ids, err := s.purge(ctx, q.collection, q.filter, limit)
		total += n
		if err == nil && q.collection == sessionsCollection && len(ids) > 0 {
			var res *mongo.DeleteResult
			res, err = s.coll(refreshTokensCollection).DeleteMany(ctx, bson.D{{Key: "sessionId", Value: bson.D{{Key: "$in", Value: ids}}}})
			if err == nil {
				total += int(res.DeletedCount)
			}
		}
		if err != nil {
			return total, mapError(err, "purge expired auth records")
		}
	}
	return total, nil
}

// purge deletes at most limit documents of collection that match filter, and returns
// how many it deleted and their ids.
func (s authStore) purge(ctx context.Context, collection string, filter bson.D, limit int) (int, []any, error) {
	type idDoc struct {
		ID any `bson:"_id"`
	}
	docs, err := findAll[idDoc](ctx, s.coll(collection), filter,
		options.Find().SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}}), "find expired "+collection)
	if err != nil || len(docs) == 0 {
		return 0, nil, err
	}
	ids := make([]any, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	res, err := s.coll(collection).DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}})
	if err != nil {
		return 0, nil, err
	}
	return int(res.DeletedCount), ids, nil
}
