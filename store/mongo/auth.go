package mongo

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
)

// Auth returns the MongoDB engine's auth.Store.
func (db *DB) Auth() auth.Store { return authStore{db} }

// authStore implements auth.Store with one document per thing and no multi-document
// transactions: every promise of the contract rests on one atomic single-document write (an
// insert that a unique index may refuse, or an update whose filter is the condition).
type authStore struct{ db *DB }

var _ auth.Store = authStore{}

// primary makes auth reads see the latest writes of every node whatever read preference the
// URI sets: a secondary could still show a spent token unspent or a revoked session active.
var primary = options.Collection().SetReadPreference(readpref.Primary())

func (s authStore) coll(name string) *mongo.Collection { return s.db.db.Collection(name, primary) }

type userDoc struct {
	ID string `bson:"_id"`
	// Email is left out when empty: the sparse unique index on it skips such users.
	Email         string    `bson:"email,omitempty"`
	EmailVerified bool      `bson:"emailVerified"`
	PasswordHash  string    `bson:"passwordHash"`
	Anonymous     bool      `bson:"anonymous"`
	Disabled      bool      `bson:"disabled"`
	Roles         []string  `bson:"roles"`
	DisplayName   string    `bson:"displayName"`
	CreatedAt     time.Time `bson:"createdAt"`
	UpdatedAt     time.Time `bson:"updatedAt"`
	Version       int64     `bson:"version"`
}

func toUserDoc(u auth.User) userDoc {
	if u.Roles == nil {
		u.Roles = []string{} // an empty array, not null, for anyone reading the collection
	}
	return userDoc(u)
}

func (d userDoc) user() auth.User { return auth.User(d) }

// findOne decodes the one document filter matches; not_found when there is none.
func findOne[T any](ctx context.Context, c *mongo.Collection, filter any, what string) (T, error) {
	var v T
	return v, mapError(c.FindOne(ctx, filter).Decode(&v), what)
}

// findAll decodes every document filter matches, in the order opts give.
func findAll[T any](ctx context.Context, c *mongo.Collection, filter any, opts *options.FindOptionsBuilder, what string) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts)
	if err != nil {
		return nil, mapError(err, what)
	}
	var out []T
	return out, mapError(cur.All(ctx, &out), what)
}

// convert maps f over docs.
func convert[D, T any](docs []D, err error, f func(D) T) ([]T, error) {
	if err != nil {
		return nil, err
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = f(d)
	}
	return out, nil
}

// matched maps an update's or delete's outcome: not_found when its filter matched nothing.
func matched(n int64, err error, what string) error {
	if err == nil && n == 0 {
		err = mongo.ErrNoDocuments
	}
	return mapError(err, what)
}

func (s authStore) CreateUser(ctx context.Context, u auth.User) error {
	// One insert: the _id and the unique email index refuse a duplicate atomically.
	_, err := s.coll(usersCollection).InsertOne(ctx, toUserDoc(u))
	return mapError(err, "create user")
}

func (s authStore) FindUserByID(ctx context.Context, id string) (auth.User, error) {
	d, err := findOne[userDoc](ctx, s.coll(usersCollection), bson.M{"_id": id}, "find user")
	return d.user(), err
}

func (s authStore) FindUserByEmail(ctx context.Context, email string) (auth.User, error) {
	if email == "" { // users without an email have no email field; "" names nobody
		return auth.User{}, mapError(mongo.ErrNoDocuments, "find user by email")
	}
	d, err := findOne[userDoc](ctx, s.coll(usersCollection), bson.M{"email": email}, "find user by email")
	return d.user(), err
}

// UpdateUser writes with one conditional update on {_id, version}: only a caller that read
// the current version wins, and the unique email index refuses an email another user holds
// in the same write, so nothing can be left half done. When the write fails and another
// user holds the email, that is the answer whatever error the server chose: MongoDB says
// duplicate key, FerretDB v1 reports a unique violation in an update as an internal error.
func (s authStore) UpdateUser(ctx context.Context, u auth.User) (auth.User, error) {
	const what = "update user"
	d := toUserDoc(u)
	set := bson.M{"emailVerified": d.EmailVerified, "passwordHash": d.PasswordHash, "anonymous": d.Anonymous,
		"disabled": d.Disabled, "roles": d.Roles, "displayName": d.DisplayName, "updatedAt": d.UpdatedAt,
		"version": u.Version + 1}
	update := bson.M{"$set": set}
	if u.Email == "" {
		update["$unset"] = bson.M{"email": ""}
	} else {
		set["email"] = u.Email
	}
	var stored userDoc
	err := s.coll(usersCollection).FindOneAndUpdate(ctx, bson.M{"_id": u.ID, "version": u.Version}, update,
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&stored)
	switch {
	case err == nil:
		return stored.user(), nil
	case errors.Is(err, mongo.ErrNoDocuments):
		current, err := findOne[userDoc](ctx, s.coll(usersCollection), bson.M{"_id": u.ID}, what)
		if err != nil {
			return auth.User{}, err // not_found: there is no such user
		}
		return auth.User{}, tideline.Errorf(tideline.CodeConflict, "The user was changed meanwhile (version %d, not %d).", current.Version, u.Version)
	}
	if u.Email != "" {
		n, cerr := s.coll(usersCollection).CountDocuments(ctx, bson.M{"email": u.Email, "_id": bson.M{"$ne": u.ID}})
		if cerr == nil && n > 0 {
			return auth.User{}, tideline.Wrap(fmt.Errorf("%s: %w", what, err), tideline.CodeConflict, "The email belongs to another user.")
		}
	}
	return auth.User{}, mapError(err, what)
}

// DeleteUser removes what belongs to the user first and the user last, so that a failure
// halfway leaves the user in place and a retry finishes the job; not_found comes only from
// the last step. The email goes with the user document, so it is free the moment the user
// is gone. Without a transaction, a session or token created for the user while it is
// being deleted can outlive it: it leads to no user, and it expires.
func (s authStore) DeleteUser(ctx context.Context, id string) error {
	for _, c := range []string{identitiesCollection, refreshTokensCollection, sessionsCollection, actionTokensCollection} {
		if _, err := s.coll(c).DeleteMany(ctx, bson.M{"userId": id}); err != nil {
			return mapError(err, "delete user's "+c)
		}
	}
	res, err := s.coll(usersCollection).DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return mapError(err, "delete user")
	}
	return matched(res.DeletedCount, nil, "delete user")
}

func (s authStore) ListUsers(ctx context.Context, q auth.UserQuery) ([]auth.User, error) {
	filter := bson.M{}
	if q.After != "" {
		filter["_id"] = bson.M{"$gt": q.After}
	}
	if q.EmailContains != "" {
		// QuoteMeta escapes every metacharacter Go and PCRE share, so the pattern is literal.
		filter["email"] = bson.Regex{Pattern: regexp.QuoteMeta(q.EmailContains), Options: "i"}
	}
	opts := options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(max(1, q.Limit)))
	docs, err := findAll[userDoc](ctx, s.coll(usersCollection), filter, opts, "list users")
	return convert(docs, err, userDoc.user)
}

// CountUsers counts with three counts on the users collection, each a consistent number on
// its own (the three are not one snapshot: a user created meanwhile may be in one only).
func (s authStore) CountUsers(ctx context.Context) (auth.UserCounts, error) {
	var c auth.UserCounts
	for _, q := range []struct {
		n      *int
		filter bson.M
	}{{&c.Total, bson.M{}}, {&c.Anonymous, bson.M{"anonymous": true}}, {&c.Disabled, bson.M{"disabled": true}}} {
		n, err := s.coll(usersCollection).CountDocuments(ctx, q.filter)
		if err != nil {
			return auth.UserCounts{}, mapError(err, "count users")
		}
		*q.n = int(n)
	}
	return c, nil
}

// identityKey is an identity's _id: a subdocument, because FerretDB refuses the NUL that
// would otherwise separate provider and subject in one string.
type identityKey struct {
	Provider string `bson:"provider"`
	Subject  string `bson:"subject"`
}

type identityDoc struct {
	Key       identityKey `bson:"_id"`
	UserID    string      `bson:"userId"`
	Email     string      `bson:"email"`
	CreatedAt time.Time   `bson:"createdAt"`
}

func (d identityDoc) identity() auth.Identity {
	return auth.Identity{Provider: d.Key.Provider, Subject: d.Key.Subject, UserID: d.UserID, Email: d.Email, CreatedAt: d.CreatedAt}
}

func (s authStore) CreateIdentity(ctx context.Context, i auth.Identity) error {
	d := identityDoc{Key: identityKey{i.Provider, i.Subject}, UserID: i.UserID, Email: i.Email, CreatedAt: i.CreatedAt}
	_, err := s.coll(identitiesCollection).InsertOne(ctx, d)
	return mapError(err, "create identity")
}

func (s authStore) FindIdentity(ctx context.Context, provider, subject string) (auth.Identity, error) {
	d, err := findOne[identityDoc](ctx, s.coll(identitiesCollection), bson.M{"_id": identityKey{provider, subject}}, "find identity")
	return d.identity(), err
}

func (s authStore) ListIdentities(ctx context.Context, userID string) ([]auth.Identity, error) {
	opts := options.Find().SetSort(bson.D{{Key: "createdAt", Value: 1}, {Key: "_id.provider", Value: 1}, {Key: "_id.subject", Value: 1}})
	docs, err := findAll[identityDoc](ctx, s.coll(identitiesCollection), bson.M{"userId": userID}, opts, "list identities")
	return convert(docs, err, identityDoc.identity)
}

type actionTokenDoc struct {
	Hash      string    `bson:"_id"`
	Kind      string    `bson:"kind"`
	UserID    string    `bson:"userId"`
	Email     string    `bson:"email"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
	UsedAt    time.Time `bson:"usedAt,omitempty"`
}

func (d actionTokenDoc) token() auth.ActionToken { return auth.ActionToken(d) }

func (s authStore) CreateActionToken(ctx context.Context, t auth.ActionToken) error {
	_, err := s.coll(actionTokensCollection).InsertOne(ctx, actionTokenDoc(t))
	return mapError(err, "create action token")
}

// EndActionTokens spends the tokens in one multi-document update; each document's change
// is atomic, which is all the promise needs (a token spent by UseActionToken meanwhile
// stays as that call left it).
func (s authStore) EndActionTokens(ctx context.Context, userID, kind string, at time.Time) (int, error) {
	res, err := s.coll(actionTokensCollection).UpdateMany(ctx,
		bson.M{"userId": userID, "kind": kind, "usedAt": nil},
		bson.M{"$set": bson.M{"usedAt": at}})
	if err != nil {
		return 0, mapError(err, "end action tokens")
	}
	return int(res.ModifiedCount), nil
}

// UseActionToken spends the token in one conditional update: of concurrent callers only the
// one whose update finds it unused and unexpired gets it.
func (s authStore) UseActionToken(ctx context.Context, hash, kind string, at time.Time) (auth.ActionToken, error) {
	var d actionTokenDoc
	err := s.coll(actionTokensCollection).FindOneAndUpdate(ctx,
		bson.M{"_id": hash, "kind": kind, "usedAt": nil, "expiresAt": bson.M{"$gt": at}},
		bson.M{"$set": bson.M{"usedAt": at}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	return d.token(), mapError(err, "use action token")
}
