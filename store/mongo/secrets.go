package mongo

import (
	"context"
	"fmt"

	"github.com/tideline-dev/tideline"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// secretsCollection holds the server secrets of every feature: {_id: name, value: binary}.
// Until schema 6, auth and sync kept theirs in collections of their own
// (authSecretsCollection, syncSecretsCollection); migration 6 copies them here and leaves
// them for the older nodes of a rolling upgrade. The secrets are written once and only
// change by `api keys rotate-master`, which is run once every node runs schema 6.
const secretsCollection = "tideline_secrets"

// Secrets returns the engine's store of server secrets. Like the sync collections, they
// are written and read with majority concerns: a secret lost in a failover would be made
// again with other bytes, and every cursor or refresh token made with the lost one would
// be refused.
func (db *DB) Secrets() tideline.SecretStore {
	return secretStore{db.db.Collection(secretsCollection, syncOptions)}
}

type secretStore struct{ coll *mongo.Collection }

// migrateSecrets is migration 6 (additive): it copies the secrets of the collections auth
// and sync kept into secretsCollection. $setOnInsert makes it idempotent and safe on nodes
// starting together: a secret copied once is never overwritten.
func migrateSecrets(ctx context.Context, db *DB) error {
	for _, from := range []string{authSecretsCollection, syncSecretsCollection} {
		all, err := secretStore{db.db.Collection(from, syncOptions)}.ListSecrets(ctx)
		if err != nil {
			return err
		}
		for name, value := range all {
			_, err := db.db.Collection(secretsCollection, syncOptions).UpdateOne(ctx, bson.M{"_id": name},
				bson.M{"$setOnInsert": bson.M{"value": value}}, options.UpdateOne().SetUpsert(true))
			if err != nil && !mongo.IsDuplicateKeyError(err) {
				return fmt.Errorf("copy secret %s from %s: %w", name, from, err)
			}
		}
	}
	return nil
}

// Secret inserts the candidate only if there is no secret called name ($setOnInsert in an
// upsert) and returns what is stored, in one command: every caller gets the first writer's
// bytes. Two upserts that both find nothing race to insert; the loser's duplicate key means
// the secret exists now, so it asks again and matches it.
func (s secretStore) Secret(ctx context.Context, name string, candidate []byte) ([]byte, error) {
	var d struct {
		Value []byte `bson:"value"`
	}
	var err error
	for range 2 {
		err = s.coll.FindOneAndUpdate(ctx, bson.M{"_id": name},
			bson.M{"$setOnInsert": bson.M{"value": candidate}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&d)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return d.Value, mapError(err, "secret")
}

func (s secretStore) ListSecrets(ctx context.Context) (map[string][]byte, error) {
	type secretDoc struct {
		Name  string `bson:"_id"`
		Value []byte `bson:"value"`
	}
	docs, err := findAll[secretDoc](ctx, s.coll, bson.M{}, options.Find(), "list secrets")
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, d := range docs {
		out[d.Name] = d.Value
	}
	return out, nil
}

func (s secretStore) ReplaceSecret(ctx context.Context, name string, old, value []byte) error {
	return replaceBinary(ctx, s.coll, name, "value", old, value, "replace secret")
}
