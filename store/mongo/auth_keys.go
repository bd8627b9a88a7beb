package mongo

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type signingKeyDoc struct {
	ID         string    `bson:"_id"`
	Algorithm  string    `bson:"algorithm"`
	PrivateKey []byte    `bson:"privateKey"`
	PublicKey  []byte    `bson:"publicKey"`
	CreatedAt  time.Time `bson:"createdAt"`
	RetiredAt  time.Time `bson:"retiredAt,omitempty"` // absent while the key signs
}

func (d signingKeyDoc) key() auth.SigningKey { return auth.SigningKey(d) }

// oldestFirst orders keys by creation, then id, as the contract's lists require.
func oldestFirst() *options.FindOptionsBuilder {
	return options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id", Value: 1}})
}

func (s authStore) ListSigningKeys(ctx context.Context) ([]auth.SigningKey, error) {
	docs, err := findAll[signingKeyDoc](ctx, s.coll(signingKeysCollection), bson.M{}, oldestFirst(), "list signing keys")
	return convert(docs, err, signingKeyDoc.key)
}

func (s authStore) CreateSigningKey(ctx context.Context, k auth.SigningKey) error {
	_, err := s.coll(signingKeysCollection).InsertOne(ctx, signingKeyDoc(k))
	return mapError(err, "create signing key")
}

// RetireSigningKeys touches only unretired keys, so a retired key keeps its first retiredAt.
func (s authStore) RetireSigningKeys(ctx context.Context, except string, at time.Time) error {
	_, err := s.coll(signingKeysCollection).UpdateMany(ctx, bson.M{"_id": bson.M{"$ne": except}, "retiredAt": nil},
		bson.M{"$set": bson.M{"retiredAt": at}})
	return mapError(err, "retire signing keys")
}

func (s authStore) DeleteSigningKey(ctx context.Context, id string) error {
	res, err := s.coll(signingKeysCollection).DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return mapError(err, "delete signing key")
	}
	return matched(res.DeletedCount, nil, "delete signing key")
}

func (s authStore) ReplaceSigningKey(ctx context.Context, id string, old, private []byte) error {
	return replaceBinary(ctx, s.coll(signingKeysCollection), id, "privateKey", old, private, "replace signing key")
}

// replaceBinary sets field to value in the document id of coll if field is still old, in
// one conditional update; when nothing matched, it reads the document to tell not found
// from conflict.
func replaceBinary(ctx context.Context, coll *mongo.Collection, id, field string, old, value []byte, what string) error {
	res, err := coll.UpdateOne(ctx, bson.M{"_id": id, field: bson.Binary{Data: old}}, bson.M{"$set": bson.M{field: value}})
	if err != nil {
		return mapError(err, what)
	}
	if res.MatchedCount == 1 {
		return nil
	}
	if err := coll.FindOne(ctx, bson.M{"_id": id}).Err(); err != nil {
		return mapError(err, what)
	}
	return tideline.Errorf(tideline.CodeConflict, "The stored value was changed meanwhile.")
}

type adminKeyDoc struct {
	ID         string    `bson:"_id"`
	Name       string    `bson:"name"`
	Hash       string    `bson:"hash"`
	Prefix     string    `bson:"prefix"`
	CreatedBy  string    `bson:"createdBy"`
	CreatedAt  time.Time `bson:"createdAt"`
	LastUsedAt time.Time `bson:"lastUsedAt,omitempty"` // absent until the key is used
}

func (d adminKeyDoc) key() auth.AdminKey { return auth.AdminKey(d) }

func (s authStore) CreateAdminKey(ctx context.Context, k auth.AdminKey) error {
	_, err := s.coll(adminKeysCollection).InsertOne(ctx, adminKeyDoc(k))
	return mapError(err, "create admin key")
}

func (s authStore) FindAdminKeyByHash(ctx context.Context, hash string) (auth.AdminKey, error) {
	d, err := findOne[adminKeyDoc](ctx, s.coll(adminKeysCollection), bson.M{"hash": hash}, "find admin key")
	return d.key(), err
}

func (s authStore) ListAdminKeys(ctx context.Context) ([]auth.AdminKey, error) {
	docs, err := findAll[adminKeyDoc](ctx, s.coll(adminKeysCollection), bson.M{}, oldestFirst(), "list admin keys")
	return convert(docs, err, adminKeyDoc.key)
}

func (s authStore) TouchAdminKey(ctx context.Context, id string, at time.Time) error {
	res, err := s.coll(adminKeysCollection).UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$set": bson.M{"lastUsedAt": at}})
	return matchedUpdate(res, err, "touch admin key")
}

func (s authStore) DeleteAdminKey(ctx context.Context, id string) error {
	res, err := s.coll(adminKeysCollection).DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return mapError(err, "delete admin key")
	}
	return matched(res.DeletedCount, nil, "delete admin key")
}

type auditDoc struct {
	ID        string    `bson:"_id"`
	At        time.Time `bson:"at"`
	Type      string    `bson:"type"`
	UserID    string    `bson:"userId"`
	SessionID string    `bson:"sessionId"`
	Actor     string    `bson:"actor"`
	IP        string    `bson:"ip"`
	// Detail's keys are the auth package's own words: FerretDB refuses keys with "." or a
	// leading "$", and MongoDB makes them awkward to query.
	Detail map[string]string `bson:"detail"`
}

func (d auditDoc) event() auth.AuditEvent { return auth.AuditEvent(d) }

func (s authStore) AppendAudit(ctx context.Context, e auth.AuditEvent) error {
	if e.Detail == nil {
		e.Detail = map[string]string{} // an empty subdocument, not null
	}
	_, err := s.coll(auditCollection).InsertOne(ctx, auditDoc(e))
	return mapError(err, "append audit event")
}

func (s authStore) ListAudit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEvent, error) {
	filter := bson.M{}
	if q.UserID != "" {
		filter["userId"] = q.UserID
	}
	if q.Type != "" {
		filter["type"] = q.Type
	}
	if q.Before != "" {
		filter["_id"] = bson.M{"$lt": q.Before}
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: -1}}).SetLimit(int64(max(1, q.Limit)))
	docs, err := findAll[auditDoc](ctx, s.coll(auditCollection), filter, opts, "list audit events")
	return convert(docs, err, auditDoc.event)
}
