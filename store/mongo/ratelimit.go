package mongo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/tideline-dev/tideline/auth"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// rateLimitsCollection holds the rate limit counters every node shares:
// {_id: "<expiry, unix ms, 15 digits>:<key hash>", count, expiresAt}. It needs no index but
// _id's and no migration: the first counter creates it.
const rateLimitsCollection = "tideline_rate_limits"

// rateSweepEvery is how often a RateStore deletes the counters of windows that have ended.
const rateSweepEvery = 10 * time.Minute

// rateExpiryGrace keeps a counter past the end of its window, for a node whose clock runs a
// little behind and still counts in it: deleting the counter would start that window over.
const rateExpiryGrace = time.Minute

// RateStore is the MongoDB engine's auth.RateStore: the rate limit counters live in the
// database, so every node of a deployment counts against the same limit.
//
// The algorithm is a fixed window counter. Time is cut into windows of Rate.Per, aligned
// the same way on every node; each (key, Per, window) has one document, and each request
// is one atomic findOneAndUpdate that $inc's its count, creating it if need be (upsert). A
// request is allowed when the count it gets back is at most Rate.Burst, so however many
// nodes and connections race, exactly Burst requests of a window are allowed: no
// transaction, no read-then-write. The price is paid at the window edges: a client can
// spend Burst at the end of one window and Burst again at the start of the next, so up to
// 2 x Burst can pass within a span of Per that straddles an edge; and a refused client
// waits for the end of the window (at most Per: refused requests only raise the count of
// a window that is ending), where a token bucket lets one request in every Per/Burst.
// Nodes' clocks should agree (NTP): each node counts in the window of its own time.
//
// Keys are hashed (SHA-256) into the _id: whatever a client puts in an email or an address
// ("$where", dots, NUL, megabytes) never becomes a field name, an operator or a long
// string in the database, and no email or IP is stored in clear. The _id begins with the
// counter's expiry, so that a sweep, which each RateStore runs at most every
// rateSweepEvery, deletes the ended windows by a range on _id. The engine relies on no TTL
// index (FerretDB refuses them), and the counts never depend on the sweep; expiresAt is
// there for people reading the collection (and for a TTL index, if an operator adds one).
type RateStore struct {
	db        *DB
	lastSweep atomic.Int64 // unix nanoseconds of the last sweep's start; 0 before the first
}

var _ auth.RateStore = (*RateStore)(nil)

// NewRateStore returns the rate limit counters of db. Keep one per process: each sweeps
// the ended windows on its own schedule.
func NewRateStore(db *DB) *RateStore { return &RateStore{db: db} }

type rateDoc struct {
	Count int64 `bson:"count"`
}

// Take counts n requests for key against r at now (see auth.RateStore and RateStore). A
// negative n gives back -n requests counted at now: an $inc of the same window's counter,
// conditional on it holding that many (a counter swept meanwhile, or one that never
// counted them, is left alone). It fails with CodeUnavailable when MongoDB does not answer,
// CodeInternal otherwise.
func (s *RateStore) Take(ctx context.Context, key string, r auth.Rate, now time.Time, n int) (bool, time.Duration, error) {
	if r.Burst <= 0 || r.Per <= 0 {
		return true, 0, nil
	}
	s.maybeSweep(now)
	end := now.Truncate(r.Per).Add(r.Per)
	expires := end.Add(rateExpiryGrace)
	id := bson.D{{Key: "_id", Value: rateID(key, r.Per, expires)}}
	coll := s.db.db.Collection(rateLimitsCollection, primary)
	var d rateDoc
	if n < 0 { // a reservation given back, in the window it was counted in
		_, err := coll.UpdateOne(ctx, append(id, bson.E{Key: "count", Value: bson.D{{Key: "$gte", Value: int64(-n)}}}),
			bson.D{{Key: "$inc", Value: bson.D{{Key: "count", Value: int64(n)}}}})
		return true, 0, mapError(err, "give back a rate limit count")
	}
	if n == 0 { // only a question: would one more request fit?
		err := coll.FindOne(ctx, id).Decode(&d)
		if err != nil && err != mongo.ErrNoDocuments {
			return false, 0, mapError(err, "read a rate limit")
		}
		if d.Count < int64(r.Burst) {
			return true, 0, nil
		}
		return false, end.Sub(now), nil
	}
	update := bson.D{
		{Key: "$inc", Value: bson.D{{Key: "count", Value: int64(n)}}},
		{Key: "$setOnInsert", Value: bson.D{{Key: "expiresAt", Value: expires.UTC()}}},
	}
	opts := options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)
	var err error
	for range 3 { // the first requests of a window may race to insert it: a loser retries and finds it
		if err = coll.FindOneAndUpdate(ctx, id, update, opts).Decode(&d); !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return false, 0, mapError(err, "count a rate limit")
	}
	if d.Count <= int64(r.Burst) {
		return true, 0, nil
	}
	return false, end.Sub(now), nil
}

// rateID is the _id of key's counter, for windows of length per, that expires at expires.
// The expiry comes first, fixed-width, so that _id order is expiry order.
func rateID(key string, per time.Duration, expires time.Time) string {
	sum := sha256.Sum256([]byte(key + "\x00" + per.String()))
	return rateIDPrefix(expires) + hex.EncodeToString(sum[:16])
}

// rateIDPrefix is the start of the _id of the counters that expire at t: every _id below
// it is of a counter that expired before t.
func rateIDPrefix(t time.Time) string { return fmt.Sprintf("%015d:", t.UnixMilli()) }

// maybeSweep starts a sweep in the background when the last one started rateSweepEvery
// or more before now. Only one caller wins the swap, so a busy node sweeps once.
func (s *RateStore) maybeSweep(now time.Time) {
	last := s.lastSweep.Load()
	if last != 0 && now.UnixNano()-last < int64(rateSweepEvery) {
		return
	}
	if !s.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = s.sweep(ctx, now) // a failed sweep is retried by the next; no count depends on it
	}()
}

// sweep deletes the counters that expired before now, and says how many.
func (s *RateStore) sweep(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.db.Collection(rateLimitsCollection).DeleteMany(ctx,
		bson.D{{Key: "_id", Value: bson.D{{Key: "$lt", Value: rateIDPrefix(now)}}}})
	if err != nil {
		return 0, mapError(err, "sweep the rate limits")
	}
	return res.DeletedCount, nil
}
