package mongo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/push"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// One token, one holder, without transactions.
//
// push.Store promises that a push token has at most one holder: once UpsertDevice(X, T)
// returns, no other device holds T, and of registrations of T racing each other exactly one
// device ends up holding it. A device holds T when its document's pushToken field is T;
// there is no other record of ownership, so every read (FindDevice, ListDevices, a
// campaign's query by topic, any MongoDB tool) sees the truth without a join.
//
// The invariant "at most one document has pushToken T" is not kept by this code but by the
// server: the unique index {pushToken} (sparse; an unbound device has no field) refuses,
// atomically and at every write, a second holder. No interleaving of nodes, no crash and no
// partial failure can break it; what the protocol has to argue is only that a registration
// ends with its own device holding T. UpsertDevice(X, T) takes these steps, each one atomic
// single-document operation (or a read):
//
//	P1 upsert X by {userId, deviceId}, setting pushToken T with the other fields (a new
//	   device gets its _id, createdAt and no topics). Success: X holds T, and by the index
//	   nobody else does at that moment; return X as stored.
//	   Refused: either another device H holds T (MongoDB: E11000; FerretDB v1: an
//	   InternalError for an update, E11000 for an insert), or a racing registration created
//	   (userId, deviceId) between our match and our insert (E11000).
//	   Any other error is the answer.
//	P2 find the holder: a device with pushToken T other than (userId, deviceId). None: the
//	   holder let go since P1, or X was created meanwhile; go to P1.
//	P3 take T from H: unset pushToken on {_id: H, pushToken: T}, then go to P1. The
//	   condition keeps a late P3 (one paused since P2) from clearing a token other than T
//	   that H has registered since; if H has let go of T meanwhile it changes nothing, and if
//	   H has taken T back, by a registration that overlapped this one, it takes T from H
//	   again, as racing registrations may (the argument below covers it).
//
// Why exactly one device ends up holding T when racing registrations of T have returned
// (none failing). At most one: the index. At least one: a registration returns only after
// a successful P1 of its own. Take the last successful P1 of T, by X: X held T right after
// it. Among registrations of T, only a P3 takes T from a device, and a registration R that
// does so goes on to P1 again; R neither fails (by assumption) nor ends without a successful
// P1, which would be later than X's last. So no P3 takes T from X after it, and X holds T.
// (Other calls may take T from X legitimately: X registering another token or none,
// UnbindSessions, DeleteDevice. They are not registrations of T.) And when UpsertDevice
// returns, no other device holds T, by the index; a later registration may take it, and
// then that one is the racer that ends up holding it.
//
// Progress: a registration's P1 is refused by a holder only when some other P1 of T
// succeeded since its last attempt, and every success ends one registration, so with k
// racing registrations none needs more than about k rounds; maxTokenRounds bounds the loop
// anyway.
//
// A node that crashes (or a call that fails) between steps leaves a consistent state,
// since the index keeps at most one holder at every instant:
//   - after P1 refused, or after P2: nothing was changed; H still holds T.
//   - after P3: H has lost T and X does not hold it; T has no holder. That is the state of a
//     token nobody has registered, which the contract allows: the registration did not
//     return, its client retries (the SDK registers at every start), and the install that
//     holds the token gets it back with that registration. The token was being taken from
//     H anyway (a token names one install, and this registration is its latest). To keep
//     this window to real crashes, a registration that has cleared a holder finishes its
//     attempt even when its caller gives up (the context's cancellation is detached).
//
// Every other method is one single-document or multi-document update whose result on each
// document stands on its own: a device's topics are in its document (SetTopic is one
// conditional $push or a $pull; deleting the device deletes its subscriptions), and
// UnbindSessions unsets pushToken, which can only lower the number of holders.

// pushStep names the gaps between UpsertDevice's steps, where the test hook runs.
type pushStep int

const (
	pushRefused pushStep = iota + 1 // after P2: P1 was refused and the holder is known
	pushCleared                     // after P3: the holder's token is cleared, P1 is next
	// Campaign steps (push_retention.go); the hook gets the campaign id as holder.
	finishCounted // FinishCampaign: the counts are read, the update is next
	purgeCounted  // PurgeDeliveries: final is stored, the deletes are next
	purgeDeleted  // PurgeDeliveries: the last deletes are done, the mark is next
)

// maxTokenRounds bounds how often one UpsertDevice goes round P1-P3 before giving up with
// unavailable: each round lost means another registration of the token won in between.
const maxTokenRounds = 16

// stealTimeout bounds a registration that has cleared a holder and finishes detached from
// its caller's context.
const stealTimeout = 10 * time.Second

// Push returns the MongoDB engine's push.Store.
func (db *DB) Push() push.Store { return &pushStore{db: db} }

// pushStore implements push.Store on the devices collection (see push_schema.go).
type pushStore struct {
	db *DB
	// hook, when set (only by tests), runs between UpsertDevice's steps with the device being
	// registered and the holder being taken from; an error it returns ends UpsertDevice
	// there, as a crash of the node would.
	hook func(step pushStep, d push.Device, holder string) error
}

var _ push.Store = (*pushStore)(nil)

func (s *pushStore) devices() *mongo.Collection {
	return s.db.db.Collection(pushDevicesCollection, durable)
}

type deviceDoc struct {
	ID         string    `bson:"_id"`
	UserID     string    `bson:"userId"`
	DeviceID   string    `bson:"deviceId"`
	SessionID  string    `bson:"sessionId"`
	Platform   string    `bson:"platform"`
	PushToken  string    `bson:"pushToken,omitempty"` // absent when unbound: see pushIndexes
	AppVersion string    `bson:"appVersion"`
	Locale     string    `bson:"locale"`
	Timezone   string    `bson:"timezone"`
	CreatedAt  time.Time `bson:"createdAt"`
	LastSeen   time.Time `bson:"lastSeen"`
	Topics     []string  `bson:"topics"`
}

func (d deviceDoc) device() push.Device {
	topics := slices.Clone(d.Topics)
	if topics == nil {
		topics = []string{}
	}
	slices.Sort(topics) // FerretDB v1 ignores $push's $sort
	return push.Device{ID: d.ID, UserID: d.UserID, DeviceID: d.DeviceID, SessionID: d.SessionID,
		Platform: d.Platform, PushToken: d.PushToken, AppVersion: d.AppVersion, Locale: d.Locale,
		Timezone: d.Timezone, CreatedAt: d.CreatedAt.UTC(), LastSeen: d.LastSeen.UTC(), Topics: topics}
}

// deviceKey is the filter of the user's device.
func deviceKey(userID, deviceID string) bson.D {
	return bson.D{{Key: "userId", Value: userID}, {Key: "deviceId", Value: deviceID}}
}

func (s *pushStore) pause(step pushStep, d push.Device, holder string) error {
	if s.hook != nil {
		return s.hook(step, d, holder)
	}
	return nil
}

// UpsertDevice is P1-P3 of the argument above.
func (s *pushStore) UpsertDevice(ctx context.Context, d push.Device) (push.Device, error) {
	const what = "register device"
	set := bson.D{
		{Key: "sessionId", Value: d.SessionID},
		{Key: "platform", Value: d.Platform},
		{Key: "appVersion", Value: d.AppVersion},
		{Key: "locale", Value: d.Locale},
		{Key: "timezone", Value: d.Timezone},
		{Key: "lastSeen", Value: d.LastSeen.UTC()},
	}
	update := bson.D{{Key: "$setOnInsert", Value: bson.D{
		{Key: "_id", Value: d.ID},
		{Key: "createdAt", Value: d.CreatedAt.UTC()},
		{Key: "topics", Value: bson.A{}},
	}}}
	if d.PushToken == "" {
		update = append(update, bson.E{Key: "$unset", Value: bson.D{{Key: "pushToken", Value: ""}}})
	} else {
		set = append(set, bson.E{Key: "pushToken", Value: d.PushToken})
	}
	update = append(update, bson.E{Key: "$set", Value: set})
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)

	detached := false
	for range maxTokenRounds {
		// P1
		var stored deviceDoc
		err := s.devices().FindOneAndUpdate(ctx, deviceKey(d.UserID, d.DeviceID), update, opts).Decode(&stored)
		if err == nil {
			return stored.device(), nil
		}
		if !refused(err) || ctx.Err() != nil {
			return push.Device{}, mapError(err, what)
		}
		if d.PushToken == "" {
			continue // (userId, deviceId) was created between our match and our insert
		}
		// P2
		holder, err := s.holder(ctx, d)
		if err != nil {
			return push.Device{}, err
		}
		if holder == "" {
			continue // the holder let go, or (userId, deviceId) was created meanwhile
		}
		if err := s.pause(pushRefused, d, holder); err != nil {
			return push.Device{}, err
		}
		// P3: from here on, finish even if the caller gives up, so that the token is not
		// left without a holder by a canceled request. (Before it nothing has changed.)
		if !detached {
			if err := ctx.Err(); err != nil {
				return push.Device{}, mapError(err, what)
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), stealTimeout)
			defer cancel()
			detached = true
		}
		_, err = s.devices().UpdateOne(ctx, bson.D{{Key: "_id", Value: holder}, {Key: "pushToken", Value: d.PushToken}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "pushToken", Value: ""}}}})
		if err != nil {
			return push.Device{}, mapError(err, "take the push token from its holder")
		}
		if err := s.pause(pushCleared, d, holder); err != nil {
			return push.Device{}, err
		}
	}
	return push.Device{}, tideline.Errorf(tideline.CodeUnavailable,
		"The push token was registered by other devices %d times in a row while this one tried; try again.", maxTokenRounds)
}

// refused reports whether err is a unique index's refusal: a duplicate key, or FerretDB
// v1's InternalError for an update that breaks a secondary unique index (it reports the
// SQLite constraint; inserts and upserts that insert do say E11000).
func refused(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var ce mongo.CommandError
	return errors.As(err, &ce) && ce.Code == 1 && strings.Contains(ce.Message, "UNIQUE constraint failed")
}

// holder is P2: the _id of a device other than d that holds d's token, or "".
func (s *pushStore) holder(ctx context.Context, d push.Device) (string, error) {
	var h struct {
		ID string `bson:"_id"`
	}
	err := s.devices().FindOne(ctx, bson.D{
		{Key: "pushToken", Value: d.PushToken},
		{Key: "$nor", Value: bson.A{deviceKey(d.UserID, d.DeviceID)}},
	}, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Decode(&h)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return "", nil
	}
	return h.ID, mapError(err, "find the push token's holder")
}

func (s *pushStore) FindDevice(ctx context.Context, userID, deviceID string) (push.Device, error) {
	d, err := findOne[deviceDoc](ctx, s.devices(), deviceKey(userID, deviceID), "find device")
	return d.device(), err
}

func (s *pushStore) ListDevices(ctx context.Context, userID string) ([]push.Device, error) {
	docs, err := findAll[deviceDoc](ctx, s.devices(), bson.D{{Key: "userId", Value: userID}},
		options.Find().SetSort(bson.D{{Key: "lastSeen", Value: -1}, {Key: "deviceId", Value: 1}}), "list devices")
	return convert(docs, err, deviceDoc.device)
}

func (s *pushStore) DeleteDevice(ctx context.Context, userID, deviceID string) error {
	res, err := s.devices().DeleteOne(ctx, deviceKey(userID, deviceID))
	if err != nil {
		return mapError(err, "delete device")
	}
	return matched(res.DeletedCount, nil, "delete device")
}

func (s *pushStore) DeleteUserDevices(ctx context.Context, userID string) error {
	_, err := s.devices().DeleteMany(ctx, bson.D{{Key: "userId", Value: userID}})
	return mapError(err, "delete the user's devices")
}

func (s *pushStore) UnbindSessions(ctx context.Context, userID, sessionID, except string) (int, error) {
	session := any(sessionID)
	if sessionID == "" {
		session = bson.D{{Key: "$ne", Value: except}}
	}
	res, err := s.devices().UpdateMany(ctx, bson.D{
		{Key: "userId", Value: userID},
		{Key: "sessionId", Value: session},
		{Key: "pushToken", Value: bson.D{{Key: "$exists", Value: true}}},
	}, bson.D{{Key: "$unset", Value: bson.D{{Key: "pushToken", Value: ""}}}})
	if err != nil {
		return 0, mapError(err, "unbind the sessions' push tokens")
	}
	return int(res.ModifiedCount), nil
}

// activeSessions returns which of ids are active sessions at at, with their user.
func (s *pushStore) activeSessions(ctx context.Context, ids []string, at time.Time) (map[string]string, error) {
	type session struct {
		ID     string `bson:"_id"`
		UserID string `bson:"userId"`
	}
	docs, err := findAll[session](ctx, s.db.db.Collection(sessionsCollection, durable),
		bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: ids}}}, {Key: "revokedAt", Value: nil}, {Key: "expiresAt", Value: bson.D{{Key: "$gt", Value: at.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "userId", Value: 1}}), "check sessions")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(docs))
	for _, d := range docs {
		out[d.ID] = d.UserID
	}
	return out, nil
}

func (s *pushStore) SessionActive(ctx context.Context, userID, sessionID string, at time.Time) (bool, error) {
	active, err := s.activeSessions(ctx, []string{sessionID}, at)
	return err == nil && active[sessionID] == userID && userID != "", err
}

// UnbindEndedSessions pages through the devices holding a token, by _id, reads which of
// their sessions are active, and unsets the token of the others with an update
// conditional on the device still holding that token for that session (a device that
// registered again meanwhile is left alone). No join: FerretDB v1 has no $lookup.
func (s *pushStore) UnbindEndedSessions(ctx context.Context, at time.Time, limit int) (int, error) {
	const what = "unbind ended sessions"
	limit = max(1, limit)
	cleared, after := 0, ""
	for cleared < limit {
		filter := bson.D{{Key: "pushToken", Value: bson.D{{Key: "$exists", Value: true}}}}
		if after != "" {
			filter = append(filter, bson.E{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}})
		}
		page, err := findAll[deviceDoc](ctx, s.devices(), filter, options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(500).
			SetProjection(bson.D{{Key: "userId", Value: 1}, {Key: "sessionId", Value: 1}, {Key: "pushToken", Value: 1}}), what)
		if err != nil || len(page) == 0 {
			return cleared, err
		}
		ids := make([]string, 0, len(page))
		for _, d := range page {
			ids = append(ids, d.SessionID)
		}
		active, err := s.activeSessions(ctx, ids, at)
		if err != nil {
			return cleared, err
		}
		for _, d := range page {
			if user, ok := active[d.SessionID]; (ok && user == d.UserID) || cleared == limit {
				continue
			}
			res, err := s.devices().UpdateOne(ctx, bson.D{{Key: "_id", Value: d.ID}, {Key: "sessionId", Value: d.SessionID}, {Key: "pushToken", Value: d.PushToken}},
				bson.D{{Key: "$unset", Value: bson.D{{Key: "pushToken", Value: ""}}}})
			if err != nil {
				return cleared, mapError(err, what)
			}
			cleared += int(res.ModifiedCount)
		}
		after = page[len(page)-1].ID
	}
	return cleared, nil
}

// SetTopic subscribes with one conditional $push (the filter excludes a device already
// subscribed, so the set never holds a topic twice, and one whose array has an element at
// index MaxTopicsPerDevice-1, so it never grows past the limit: both checked atomically
// with the push; $sort keeps it sorted on MongoDB) and unsubscribes with one $pull. When
// the $push matches nothing, a read tells an existing subscription (nothing to do) from a
// full device and a missing one.
func (s *pushStore) SetTopic(ctx context.Context, userID, deviceID, topic string, member bool) error {
	const what = "set topic"
	if !member {
		res, err := s.devices().UpdateOne(ctx, deviceKey(userID, deviceID),
			bson.D{{Key: "$pull", Value: bson.D{{Key: "topics", Value: topic}}}})
		return matchedUpdate(res, err, what)
	}
	filter := append(deviceKey(userID, deviceID),
		bson.E{Key: "topics", Value: bson.D{{Key: "$ne", Value: topic}}},
		bson.E{Key: fmt.Sprintf("topics.%d", push.MaxTopicsPerDevice-1), Value: bson.D{{Key: "$exists", Value: false}}})
	res, err := s.devices().UpdateOne(ctx, filter, bson.D{{Key: "$push", Value: bson.D{{Key: "topics", Value: bson.D{
		{Key: "$each", Value: bson.A{topic}},
		{Key: "$sort", Value: 1},
	}}}}})
	if err != nil || res.MatchedCount > 0 {
		return mapError(err, what)
	}
	d, err := findOne[deviceDoc](ctx, s.devices(), deviceKey(userID, deviceID), what)
	if err != nil || slices.Contains(d.Topics, topic) {
		return err
	}
	return push.ErrTooManyTopics
}

// CountDevices groups the devices by platform twice, all of them and those with a
// pushToken field (an unbound device has none), since FerretDB v1 takes one accumulator per
// $group and no $cond. It reads from a secondary where there is one, within countTimeout
// (counting).
func (s *pushStore) CountDevices(ctx context.Context) ([]push.PlatformCount, error) {
	const what = "count devices"
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	count := func(match bson.M) (map[string]int, error) {
		cur, err := s.db.db.Collection(pushDevicesCollection, counting).Aggregate(ctx, mongo.Pipeline{
			{{Key: "$match", Value: match}},
			{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$platform"}, {Key: "n", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		})
		if err != nil {
			return nil, mapError(err, what)
		}
		var rows []struct {
			Platform string `bson:"_id"`
			N        int    `bson:"n"`
		}
		if err := cur.All(ctx, &rows); err != nil {
			return nil, mapError(err, what)
		}
		out := make(map[string]int, len(rows))
		for _, r := range rows {
			out[r.Platform] = r.N
		}
		return out, nil
	}
	all, err := count(bson.M{})
	if err != nil {
		return nil, err
	}
	withToken, err := count(bson.M{"pushToken": bson.M{"$exists": true}})
	if err != nil {
		return nil, err
	}
	out := make([]push.PlatformCount, 0, len(all))
	for p, n := range all {
		out = append(out, push.PlatformCount{Platform: p, Devices: n, WithToken: withToken[p]})
	}
	slices.SortFunc(out, func(a, b push.PlatformCount) int { return strings.Compare(a.Platform, b.Platform) })
	return out, nil
}

// ListTopics counts with one aggregation: $unwind the topic sets, $group by topic with
// $sum: 1 (FerretDB v1 has $sum; one accumulator per $group), $sort by name. A device
// holds a topic at most once, so each count is a number of devices. It reads from a
// secondary where there is one, within countTimeout (counting).
func (s *pushStore) ListTopics(ctx context.Context) ([]push.TopicCount, error) {
	const what = "list topics"
	ctx, cancel := context.WithTimeout(ctx, countTimeout)
	defer cancel()
	cur, err := s.db.db.Collection(pushDevicesCollection, counting).Aggregate(ctx, mongo.Pipeline{
		{{Key: "$unwind", Value: "$topics"}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$topics"}, {Key: "devices", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		return nil, mapError(err, what)
	}
	var rows []struct {
		Topic   string `bson:"_id"`
		Devices int    `bson:"devices"`
	}
	if err := cur.All(ctx, &rows); err != nil {
		return nil, mapError(err, what)
	}
	out := make([]push.TopicCount, len(rows))
	for i, r := range rows {
		out[i] = push.TopicCount{Topic: r.Topic, Devices: r.Devices}
	}
	return out, nil
}
