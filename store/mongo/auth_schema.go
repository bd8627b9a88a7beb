package mongo

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The auth collections. Their names begin with "tideline_" because the collections that
// clients sync share the database and are named by the team ("users" is a likely one).
// Times are BSON dates (milliseconds); a time that is "not yet" (usedAt, revokedAt,
// retiredAt, lastUsedAt of an admin key) is absent until it happens.
const (
	// {_id: user id, email (absent when none), emailVerified, passwordHash, anonymous,
	// disabled, roles: [string], displayName, createdAt, updatedAt, version}
	usersCollection = "tideline_users"
	// {_id: {provider, subject}, userId, email, createdAt}
	identitiesCollection = "tideline_auth_identities"
	// {_id: session id, userId, deviceName, platform, userAgent, ip, createdAt, lastUsedAt,
	// expiresAt, revokedAt}
	sessionsCollection = "tideline_auth_sessions"
	// {_id: token hash, sessionId, userId, createdAt, expiresAt, usedAt}
	refreshTokensCollection = "tideline_auth_refresh_tokens"
	// {_id: token hash, kind, userId, email, createdAt, expiresAt, usedAt}
	actionTokensCollection = "tideline_auth_action_tokens"
	// {_id: kid, algorithm, privateKey: binary, publicKey: binary, createdAt, retiredAt}
	signingKeysCollection = "tideline_auth_signing_keys"
	// {_id: name, value: binary}: auth's secrets until schema 6 (see secretsCollection)
	authSecretsCollection = "tideline_auth_secrets"
	// {_id: key id, name, hash, prefix, createdBy, createdAt, lastUsedAt}
	adminKeysCollection = "tideline_auth_admin_keys"
	// {_id: event id, at, type, userId, sessionId, actor, ip, detail: {string: string}}
	auditCollection = "tideline_auth_audit"
)

// authIndexes are the secondary indexes of the auth collections; each _id is the natural
// key, so identity, session, token, key, secret and event uniqueness needs nothing more.
//
// The email index is unique and sparse: users without an email leave the field out, and a
// sparse index skips documents without the field, so any number of them coexist while two
// users can never hold one email, each write deciding atomically on its own. (FerretDB v1
// accepts but ignores sparse; its unique indexes skip absent fields anyway, which is why an
// absent email must never be stored as null.) The admin key hash index is unique too. A
// unique index on a field other than the shard key cannot be enforced on a sharded
// collection, so tideline_users and tideline_auth_admin_keys stay unsharded; they are small.
var authIndexes = []struct {
	collection string
	model      mongo.IndexModel
}{
	{usersCollection, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetUnique(true).SetSparse(true)}},
	{identitiesCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "createdAt", Value: 1}}}},
	{sessionsCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "createdAt", Value: -1}}}},
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}}},
	{refreshTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "sessionId", Value: 1}}}},
	{actionTokensCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}}},
	{adminKeysCollection, mongo.IndexModel{Keys: bson.D{{Key: "hash", Value: 1}}, Options: options.Index().SetUnique(true)}},
	{auditCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "_id", Value: -1}}}},
	{auditCollection, mongo.IndexModel{Keys: bson.D{{Key: "type", Value: 1}, {Key: "_id", Value: -1}}}},
}

// migrateAuth is migration 2: the indexes of the auth collections (creating an index
// creates its collection). Creating an index that exists with the same keys and options
// does nothing, so a rerun or several nodes at once are fine, and the change is additive.
// Each index is its own command: FerretDB v1 panics on a createIndexes command that lists
// two or more indexes which exist already.
func migrateAuth(ctx context.Context, db *DB) error {
	for _, ix := range authIndexes {
		if _, err := db.db.Collection(ix.collection).Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.model.Keys, ix.collection, err)
		}
	}
	return nil
}
