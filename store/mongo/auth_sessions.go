package mongo

import (
	"context"
	"errors"
	"time"

	"github.com/tideline-dev/tideline/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

type sessionDoc struct {
	ID         string    `bson:"_id"`
	UserID     string    `bson:"userId"`
	DeviceName string    `bson:"deviceName"`
	Platform   string    `bson:"platform"`
	UserAgent  string    `bson:"userAgent"`
	IP         string    `bson:"ip"`
	CreatedAt  time.Time `bson:"createdAt"`
	LastUsedAt time.Time `bson:"lastUsedAt"`
	ExpiresAt  time.Time `bson:"expiresAt"`
	RevokedAt  time.Time `bson:"revokedAt,omitempty"` // absent while the session is active
}

func (d sessionDoc) session() auth.Session { return auth.Session(d) }

type refreshTokenDoc struct {
	Hash      string    `bson:"_id"`
	SessionID string    `bson:"sessionId"`
	UserID    string    `bson:"userId"`
	CreatedAt time.Time `bson:"createdAt"`
	ExpiresAt time.Time `bson:"expiresAt"`
	UsedAt    time.Time `bson:"usedAt,omitempty"` // absent until the token is spent
}

func (d refreshTokenDoc) token() auth.RefreshToken { return auth.RefreshToken(d) }

// CreateSession inserts the refresh token first and the session second, and takes the token
// back when the session is refused (its id exists). A crash between the two leaves a token
// whose session does not exist: it was never handed to anyone, and refreshing with it
// finds no session. The other order would leave a session that lists as a signed-in device
// but can never refresh.
func (s authStore) CreateSession(ctx context.Context, sess auth.Session, first auth.RefreshToken) error {
	const what = "create session"
	if _, err := s.coll(refreshTokensCollection).InsertOne(ctx, refreshTokenDoc(first)); err != nil {
		return mapError(err, what)
	}
	_, err := s.coll(sessionsCollection).InsertOne(ctx, sessionDoc(sess))
	if err != nil {
		// Only our token: its hash, unspent, for this session and user.
		undo := bson.M{"_id": first.Hash, "sessionId": first.SessionID, "userId": first.UserID, "usedAt": nil}
		if _, uerr := s.coll(refreshTokensCollection).DeleteOne(ctx, undo); uerr != nil {
			err = errors.Join(err, uerr)
		}
	}
	return mapError(err, what)
}

func (s authStore) FindSession(ctx context.Context, id string) (auth.Session, error) {
	d, err := findOne[sessionDoc](ctx, s.coll(sessionsCollection), bson.M{"_id": id}, "find session")
	return d.session(), err
}

func (s authStore) ListSessions(ctx context.Context, userID string) ([]auth.Session, error) {
	opts := options.Find().SetSort(bson.D{{Key: "createdAt", Value: -1}, {Key: "_id", Value: -1}})
	docs, err := findAll[sessionDoc](ctx, s.coll(sessionsCollection), bson.M{"userId": userID, "revokedAt": nil}, opts, "list sessions")
	return convert(docs, err, sessionDoc.session)
}

func (s authStore) TouchSession(ctx context.Context, id string, at time.Time, ip string, expiresAt time.Time) error {
	res, err := s.coll(sessionsCollection).UpdateOne(ctx, bson.M{"_id": id},
		bson.M{"$set": bson.M{"lastUsedAt": at, "ip": ip, "expiresAt": expiresAt}})
	return matchedUpdate(res, err, "touch session")
}

// RevokeSession sets revokedAt only where it is absent, so the first revocation's time
// stays; a session that matches nothing is either revoked already or absent.
func (s authStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	const what = "revoke session"
	res, err := s.coll(sessionsCollection).UpdateOne(ctx, bson.M{"_id": id, "revokedAt": nil},
		bson.M{"$set": bson.M{"revokedAt": at}})
	if err != nil || res.MatchedCount > 0 {
		return mapError(err, what)
	}
	n, err := s.coll(sessionsCollection).CountDocuments(ctx, bson.M{"_id": id})
	return matched(n, err, what)
}

func (s authStore) RevokeUserSessions(ctx context.Context, userID, except string, at time.Time) (int, error) {
	res, err := s.coll(sessionsCollection).UpdateMany(ctx,
		bson.M{"userId": userID, "_id": bson.M{"$ne": except}, "revokedAt": nil},
		bson.M{"$set": bson.M{"revokedAt": at}})
	if err != nil {
		return 0, mapError(err, "revoke sessions")
	}
	return int(res.ModifiedCount), nil
}

func (s authStore) CreateRefreshToken(ctx context.Context, t auth.RefreshToken) error {
	_, err := s.coll(refreshTokensCollection).InsertOne(ctx, refreshTokenDoc(t))
	return mapError(err, "create refresh token")
}

// SpendRefreshToken spends in one conditional update on an absent usedAt: of concurrent
// callers exactly one matches. The others read the token as it now is, spent, with the
// winner's usedAt.
func (s authStore) SpendRefreshToken(ctx context.Context, hash string, at time.Time) (auth.RefreshToken, bool, error) {
	const what = "spend refresh token"
	var d refreshTokenDoc
	err := s.coll(refreshTokensCollection).FindOneAndUpdate(ctx, bson.M{"_id": hash, "usedAt": nil},
		bson.M{"$set": bson.M{"usedAt": at}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err == nil {
		return d.token(), true, nil
	}
	if !errors.Is(err, mongo.ErrNoDocuments) {
		return auth.RefreshToken{}, false, mapError(err, what)
	}
	d, err = findOne[refreshTokenDoc](ctx, s.coll(refreshTokensCollection), bson.M{"_id": hash}, what)
	return d.token(), false, err
}

// matchedUpdate maps an update's outcome: not_found when its filter matched nothing.
func matchedUpdate(res *mongo.UpdateResult, err error, what string) error {
	if err != nil {
		return mapError(err, what)
	}
	return matched(res.MatchedCount, nil, what)
}
