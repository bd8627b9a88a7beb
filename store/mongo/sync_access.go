package mongo

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// purgeHorizonID is the _id of the purge horizon's document in syncStateCollection.
const purgeHorizonID = "purgeHorizon"

// TouchedBuckets reads the buckets of the documents whose seq is in (after, through] (their
// reach, buckets ∪ evicted, when the write evicted), collection by collection through the
// {seq} index, and stops at the first pair beyond limit. A document rewritten since carries a higher seq and is counted
// in the range of that write instead; its buckets then are the ones to tell.
func (s syncStore) TouchedBuckets(ctx context.Context, after, through int64, limit int) (out []sync.Touched, more bool, err error) {
	if through <= after {
		return nil, false, nil
	}
	err = s.db.causal(ctx, func(ctx context.Context) error { // as a scan: see sync_causal.go
		out, more, err = s.touched(ctx, after, through, limit)
		return err
	})
	return out, more, err
}

// touched is TouchedBuckets in its session.
func (s syncStore) touched(ctx context.Context, after, through int64, limit int) ([]sync.Touched, bool, error) {
	limit = max(1, limit)
	names, err := s.db.docCollectionsThrough(ctx, through)
	if err != nil {
		return nil, false, err
	}
	var out []sync.Touched
	seen := map[sync.Touched]bool{}
	opts := options.Find().SetProjection(bson.M{"_sync.reach": 1, "_sync.buckets": 1, "_sync.seq": 1, "_sync.evictSeq": 1})
	for _, name := range names {
		more, err := s.touchedIn(ctx, name, after, through, opts, func(t sync.Touched) bool {
			if seen[t] {
				return true
			}
			if len(out) == limit {
				return false
			}
			seen[t] = true
			out = append(out, t)
			return true
		})
		if err != nil || more {
			return out, more, err
		}
	}
	return out, false, nil
}

// touchedIn passes each (bucket, name) of collection name's documents in (after, through]
// to add, and reports true as soon as add refuses one (the limit is reached).
func (s syncStore) touchedIn(ctx context.Context, name string, after, through int64, opts *options.FindOptionsBuilder, add func(sync.Touched) bool) (bool, error) {
	cur, err := s.db.docs(name).Find(ctx, bson.M{"_sync.seq": bson.M{"$gt": after, "$lte": through}}, opts)
	if err != nil {
		return false, mapError(err, "touched buckets")
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var d struct {
			Sync struct {
				Reach    []string `bson:"reach"`
				Buckets  []string `bson:"buckets"`
				Seq      int64    `bson:"seq"`
				EvictSeq int64    `bson:"evictSeq"`
			} `bson:"_sync"`
		}
		if err := cur.Decode(&d); err != nil {
			return false, mapError(err, "touched buckets")
		}
		told := d.Sync.Buckets
		if d.Sync.EvictSeq == d.Sync.Seq {
			told = d.Sync.Reach
		}
		for _, b := range told {
			if !add(sync.Touched{Bucket: b, Collection: name}) {
				return true, nil
			}
		}
	}
	return false, mapError(cur.Err(), "touched buckets")
}

// purgeCandidate is what the purger reads of a purgeable document: enough to change it
// only if it is still the version read.
type purgeCandidate struct {
	coll string
	ID   string `bson:"_id"`
	Sync struct {
		Scope   string    `bson:"scope"`
		DocID   string    `bson:"docId"`
		Seq     int64     `bson:"seq"`
		Fence   int64     `bson:"fence"`
		Deleted bool      `bson:"deleted"`
		Buckets []string  `bson:"buckets"`
		PurgeAt time.Time `bson:"purgeAt"`
	} `bson:"_sync"`
}

var purgeProjection = bson.M{"_sync.scope": 1, "_sync.docId": 1, "_sync.seq": 1, "_sync.fence": 1,
	"_sync.deleted": 1, "_sync.buckets": 1, "_sync.purgeAt": 1}

// PurgeDocuments reads the oldest purgeable documents (purgeAt before before; at most limit,
// across collections), raises the purge horizon to the highest seq among them, and only
// then changes each with one conditional operation (purgeOne). It returns how many it
// changed; one rewritten meanwhile is left alone (it is no longer old, or it is purged at
// a later call).
//
// Why the horizon first. The horizon tells a reader that a position below it may have
// missed a purged change. A change at seq s is missed by a reader at a position below s
// whose scan runs after s was purged; a reader that reads the horizon after its scan must
// then find it at s or above. Raised first, the horizon covers s before s can be missing
// from any scan. Raised after, a reader could scan between the purge and the raise, read
// the old horizon, and move its position past s without ever learning of the change. A
// purger that stops between the two leaves a horizon above what it purged: readers at
// positions in between sync those buckets again needlessly, never wrongly. (Several
// purgers at once are safe too: the horizon only rises, by $max.)
func (s syncStore) PurgeDocuments(ctx context.Context, before time.Time, limit int) (int, error) {
	limit = max(1, limit)
	names, err := s.db.docCollectionsThrough(ctx, 0) // one it does not know yet is purged later
	if err != nil {
		return 0, err
	}
	filter := bson.M{"_sync.purgeAt": bson.M{"$lt": before.UTC()}}
	opts := options.Find().SetSort(bson.D{{Key: "_sync.purgeAt", Value: 1}}).SetLimit(int64(limit)).SetProjection(purgeProjection)
	var cands []purgeCandidate
	for _, name := range names {
		found, err := findAll[purgeCandidate](ctx, s.db.docs(name), filter, opts, "find purgeable documents")
		if err != nil {
			return 0, err
		}
		for _, c := range found {
			c.coll = name
			cands = append(cands, c)
		}
	}
	if len(cands) == 0 {
		return 0, nil
	}
	slices.SortFunc(cands, func(a, b purgeCandidate) int {
		return cmp.Or(a.Sync.PurgeAt.Compare(b.Sync.PurgeAt), cmp.Compare(a.Sync.Seq, b.Sync.Seq))
	})
	cands = cands[:min(len(cands), limit)]
	horizon := int64(0)
	for _, c := range cands {
		horizon = max(horizon, c.Sync.Seq)
	}
	if err := s.raiseHorizon(ctx, horizon); err != nil {
		return 0, err
	}
	n := 0
	for _, c := range cands {
		s.db.pause(stepPurge, sync.DocRef{Collection: c.coll, Scope: c.Sync.Scope, ID: c.Sync.DocID}, c.Sync.Seq)
		changed, err := s.purgeOne(ctx, c)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}

// purgeOne changes one document, in one operation that matches only the version read (its
// seq; a write always takes a new one):
//
//   - A tombstone becomes a placeholder, {_id, _sync: {scope, docId, version: 0, fence}},
//     rather than being deleted, and only if its fence is still the one read. Deleting it
//     would drop its fence, and the fence is what stops a stalled writer whose number the
//     watermark has passed: a creation (base version 0) paused before its document write,
//     its number fenced on the tombstone, would then insert at that number, below a
//     watermark readers have passed (TestSyncPurgeKeepsTheFence). The placeholder keeps
//     the fence (the fence condition makes sure a fencer's raise in between is not
//     undone): that writer finds it, gives its number up and retries above the watermark,
//     and a creation replaces the placeholder as it replaces any. To readers the tombstone
//     is gone: FindDocuments skips placeholders, and no scan or purge matches one.
//   - A live document's evicted is emptied and its reach set to its buckets (unchanged
//     since the read, as its seq is), and purgeAt removed.
//
// Both conditions also ask for purgeAt, which the first purge removes, so that of two
// purgers only one counts a document.
func (s syncStore) purgeOne(ctx context.Context, c purgeCandidate) (bool, error) {
	coll := s.db.docs(c.coll)
	filter := bson.M{"_id": c.ID, "_sync.seq": c.Sync.Seq, "_sync.purgeAt": bson.M{"$exists": true}}
	var res *mongo.UpdateResult
	var err error
	if c.Sync.Deleted {
		filter["_sync.deleted"] = true
		filter["_sync.fence"] = c.Sync.Fence
		placeholder := bson.D{{Key: "_id", Value: c.ID}, {Key: "_sync", Value: bson.D{
			{Key: "scope", Value: c.Sync.Scope}, {Key: "docId", Value: c.Sync.DocID},
			{Key: "version", Value: int64(0)}, {Key: "fence", Value: c.Sync.Fence}}}}
		res, err = coll.ReplaceOne(ctx, filter, placeholder)
	} else {
		buckets := c.Sync.Buckets
		if buckets == nil {
			buckets = []string{}
		}
		res, err = coll.UpdateOne(ctx, filter, bson.M{
			"$set":   bson.M{"_sync.evicted": []string{}, "_sync.reach": buckets},
			"$unset": bson.M{"_sync.purgeAt": ""}})
	}
	if err != nil {
		return false, mapError(err, "purge document")
	}
	return res.MatchedCount == 1, nil
}

// raiseHorizon raises the stored purge horizon to at least h. Two first raises may race
// to insert; the loser's retry updates.
func (s syncStore) raiseHorizon(ctx context.Context, h int64) error {
	var err error
	for range 2 {
		_, err = s.db.docs(syncStateCollection).UpdateOne(ctx, bson.M{"_id": purgeHorizonID},
			bson.M{"$max": bson.M{"value": h}}, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return mapError(err, "raise the purge horizon")
}

func (s syncStore) PurgeHorizon(ctx context.Context) (int64, error) {
	var d struct {
		Value int64 `bson:"value"`
	}
	err := s.db.docs(syncStateCollection).FindOne(ctx, bson.M{"_id": purgeHorizonID}).Decode(&d)
	if err == mongo.ErrNoDocuments {
		return 0, nil // nothing purged yet
	}
	return d.Value, mapError(err, "read the purge horizon")
}

// AcquireLease is one conditional upsert of {_id: name, holder, until}: it matches the
// lease only when it has expired (until <= now) or is holder's, and then sets holder and
// until; when the lease does not exist, it inserts it. When the lease exists and is
// another's, the upsert tries to insert a second document with the same _id, and the
// unique _id refuses it (E11000, on MongoDB and FerretDB alike): not acquired. Each
// outcome is decided by one atomic operation on one document, so of concurrent callers at
// most one holds the lease at a time (by the now each was given).
func (s syncStore) AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error) {
	filter := bson.M{"_id": name, "$or": bson.A{bson.M{"until": bson.M{"$lte": now.UTC()}}, bson.M{"holder": holder}}}
	res, err := s.db.docs(leasesCollection).UpdateOne(ctx, filter,
		bson.M{"$set": bson.M{"holder": holder, "until": until.UTC()}}, options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, mapError(err, "acquire lease")
	}
	return res.MatchedCount+res.UpsertedCount > 0, nil
}
