package mongo

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/mongo/readconcern"
	"go.mongodb.org/mongo-driver/v2/mongo/readpref"
	"go.mongodb.org/mongo-driver/v2/mongo/writeconcern"
)

// Sync returns the MongoDB engine's sync.Store.
func (db *DB) Sync() sync.Store { return syncStore{db} }

// syncStore implements sync.Store on single-document atomic operations: the ordering of
// writes rests on the sequence ledger (sync_sequence.go), the rest on conditional writes.
type syncStore struct{ db *DB }

// syncOptions make every sync read and write majority-committed, on the primary, whatever
// the URI says. The ordering argument needs what it reads to stay true: with w:1 writes or
// local reads, a replica-set failover could roll back a raised watermark, a done mark or a
// document that a reader has already been served, and numbers would be handed out again
// below a watermark a reader has passed. (MongoDB's default write concern is majority
// already; this also holds when a deployment lowered it.)
var syncOptions = options.Collection().SetReadPreference(readpref.Primary()).
	SetReadConcern(readconcern.Majority()).SetWriteConcern(writeconcern.Majority())

var _ sync.Store = syncStore{}

// maxFencedRounds bounds how often in a row a Commit may lose its numbers to fences before
// it gives up with unavailable (a fencing timeout far too short for the deployment).
const maxFencedRounds = 32

func (s syncStore) FindDocuments(ctx context.Context, refs []sync.DocRef) ([]sync.Document, error) {
	byColl := map[string][]string{}
	want := map[sync.DocRef]bool{}
	for _, r := range refs {
		byColl[r.Collection] = append(byColl[r.Collection], docKey(r))
		want[r] = true
	}
	var out []sync.Document
	for _, name := range slices.Sorted(maps.Keys(byColl)) {
		recs, err := findAll[docRecord](ctx, s.db.docs(name), bson.M{"_id": bson.M{"$in": byColl[name]}}, nil, "find documents")
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			d := r.document(name)
			if r.Sync.Version > 0 && want[d.Ref] { // not a placeholder, nor another ref's key
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// ListOwnedDocuments queries each collection that holds synced documents for the owner's
// live documents ({_sync.owner} index), until it has limit.
func (s syncStore) ListOwnedDocuments(ctx context.Context, owner string, limit int) ([]sync.Document, error) {
	names, err := s.db.docCollections(ctx)
	if err != nil {
		return nil, err
	}
	limit = max(1, limit)
	var out []sync.Document
	for _, name := range names {
		recs, err := findAll[docRecord](ctx, s.db.docs(name), bson.M{"_sync.owner": owner, "_sync.deleted": false, "_sync.version": bson.M{"$gt": 0}},
			options.Find().SetLimit(int64(limit-len(out))), "list owned documents")
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, r.document(name))
		}
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// Commit claims the client (claimClient) before anything else, runs rounds (commitRound)
// until every write is settled, in order, then raises the client's mark with $max when no
// write conflicted. Without transactions, the claim comes first so that it decides alone:
// a commit whose claim fails has written nothing, and of commits racing for a new client
// id, one claim wins (one upsert of the client's document), and only its commit writes.
// A node that stops after the claim leaves a client at mark 0, which is its owner's.
func (s syncStore) Commit(ctx context.Context, c sync.Commit) ([]sync.CommitResult, error) {
	if c.Client != nil {
		if err := s.claimClient(ctx, *c.Client); err != nil {
			return nil, err
		}
	}
	for _, w := range c.Writes {
		if err := s.db.prepareCollection(ctx, w.Doc.Ref.Collection); err != nil {
			return nil, err
		}
	}
	results := make([]sync.CommitResult, len(c.Writes))
	for i, fencedRounds := 0, 0; i < len(c.Writes); {
		n, err := s.commitRound(ctx, c.Writes[i:], results[i:])
		if err != nil {
			return nil, err
		}
		if i += n; n > 0 {
			fencedRounds = 0
		} else if fencedRounds++; fencedRounds == maxFencedRounds {
			return nil, tideline.Errorf(tideline.CodeUnavailable, "The sequence numbers of this commit were fenced %d times in a row; retry.", fencedRounds)
		}
	}
	if c.Client == nil || slices.ContainsFunc(results, func(r sync.CommitResult) bool { return r.Conflict }) {
		return results, nil
	}
	return results, s.raiseClient(ctx, *c.Client)
}

// commitRound takes a number for each write and applies them in order (W1-W5 of
// sync_sequence.go) until one loses its number to a fence. It fills results and returns how
// many writes it settled (written or conflicting); the caller gives the rest new numbers.
// On an error, the numbers it will not use are voided (best effort), except that of a
// document write whose outcome is unknown: the advancer fences that one in time.
func (s syncStore) commitRound(ctx context.Context, writes []sync.Write, results []sync.CommitResult) (int, error) {
	db := s.db
	first, err := db.allocate(ctx, len(writes))
	if err != nil {
		return 0, err
	}
	seq := func(i int) int64 { return first + int64(i) }
	for i, w := range writes {
		db.pause(stepAllocated, w.Doc.Ref, seq(i))
	}
	recorded, err := db.record(ctx, writes, first)
	if err != nil {
		return 0, err // recorded entries stay pending until fenced
	}
	for i, w := range writes {
		db.pause(stepLedger, w.Doc.Ref, seq(i))
	}
	st, err := db.readSequence(ctx)
	if err != nil {
		st.watermark = math.MaxInt64 // use none of the numbers: the loop below voids them all
	}
	var done, void []int64
	settled, unknown := 0, -1
	for i, w := range writes {
		if !recorded[i] || seq(i) <= st.watermark {
			break
		}
		db.pause(stepChecked, w.Doc.Ref, seq(i))
		out, werr := db.writeDoc(ctx, w, seq(i))
		if werr != nil {
			unknown, err = i, werr // the write may have happened: its entry stays pending
			break
		}
		db.pause(stepWritten, w.Doc.Ref, seq(i))
		if out == fenced {
			break
		}
		if out == conflicted {
			results[i].Conflict = true
			void = append(void, seq(i))
		} else {
			results[i].Seq = seq(i)
			done = append(done, seq(i))
		}
		settled++
	}
	for i := settled; i < len(writes); i++ {
		if recorded[i] && i != unknown {
			void = append(void, seq(i)) // numbers this writer will never use
		}
	}
	if merr := db.mark(ctx, done, stateDone); merr != nil && err == nil {
		err = merr
	}
	if merr := db.mark(ctx, void, stateVoid); merr != nil && err == nil {
		err = merr
	}
	return settled, err
}

// claimClient makes the client m's user's at mark 0 unless it is someone's already, in one
// upsert that sets the user only on insert, and reads back whose it is: another user's is
// ErrClientTaken. Two first claims may race to insert; the loser's retry finds the
// winner's document.
func (s syncStore) claimClient(ctx context.Context, m sync.ClientMark) error {
	var stored struct {
		UserID string `bson:"userId"`
	}
	var err error
	for range 2 {
		err = s.db.docs(clientsCollection).FindOneAndUpdate(ctx, bson.M{"_id": m.ClientID},
			bson.M{"$setOnInsert": bson.M{"userId": m.UserID, "high": int64(0)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&stored)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return mapError(err, "claim the client")
	}
	if stored.UserID != m.UserID {
		return sync.ErrClientTaken
	}
	return nil
}

// raiseClient raises the mark of a client claimed by m's user: the filter names the user,
// so a mark is never raised for anyone else (nor its user changed).
func (s syncStore) raiseClient(ctx context.Context, m sync.ClientMark) error {
	_, err := s.db.docs(clientsCollection).UpdateOne(ctx, bson.M{"_id": m.ClientID, "userId": m.UserID},
		bson.M{"$max": bson.M{"high": m.High}})
	return mapError(err, "raise client mark")
}

// Watermark advances the watermark as far as the ledger allows (fencing numbers older than
// the fencing timeout) and returns it.
func (s syncStore) Watermark(ctx context.Context) (int64, error) { return s.db.advance(ctx, false) }

// ScanBucket queries each collection (those given, else every collection that has held a
// synced document) for the bucket's documents in (After, Through] in seq order, and merges.
// It matches reach (buckets ∪ evicted), so a document that left the bucket is returned
// too; SkipDeleted also asks for the bucket in buckets, which leaves those out.
func (s syncStore) ScanBucket(ctx context.Context, q sync.BucketScan) ([]sync.Document, error) {
	if q.Through <= q.After {
		return nil, nil
	}
	names := slices.Compact(slices.Sorted(slices.Values(q.Collections)))
	if len(names) == 0 {
		var err error
		if names, err = s.db.docCollections(ctx); err != nil {
			return nil, err
		}
	}
	limit := max(1, q.Limit)
	filter := bson.M{"_sync.reach": q.Bucket, "_sync.seq": bson.M{"$gt": q.After, "$lte": q.Through}}
	if q.SkipDeleted {
		filter["_sync.deleted"] = false
		filter["_sync.buckets"] = q.Bucket
	}
	opts := options.Find().SetSort(bson.D{{Key: "_sync.seq", Value: 1}}).SetLimit(int64(limit))
	var out []sync.Document
	for _, name := range names {
		recs, err := findAll[docRecord](ctx, s.db.docs(name), filter, opts, "scan bucket")
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, r.document(name))
		}
	}
	slices.SortFunc(out, func(a, b sync.Document) int { return cmp.Compare(a.Seq, b.Seq) })
	return out[:min(len(out), limit)], nil
}

func (s syncStore) FindClient(ctx context.Context, id string) (sync.ClientMark, error) {
	var d struct {
		UserID string `bson:"userId"`
		High   int64  `bson:"high"`
	}
	err := s.db.docs(clientsCollection).FindOne(ctx, bson.M{"_id": id}).Decode(&d)
	return sync.ClientMark{ClientID: id, UserID: d.UserID, High: d.High}, mapError(err, "find client")
}

type collectionDoc struct {
	Name        string        `bson:"_id"`
	Policy      sync.Policy   `bson:"policy"`
	Read        sync.ReadRule `bson:"read"`
	Schema      string        `bson:"schema,omitempty"`
	MaxDocBytes int           `bson:"maxDocBytes"`
	Notify      bool          `bson:"notify"`
	UpdatedAt   time.Time     `bson:"updatedAt"`
}

func (d collectionDoc) collection() sync.Collection {
	c := sync.Collection{Name: d.Name, Policy: d.Policy, Read: d.Read, MaxDocBytes: d.MaxDocBytes, Notify: d.Notify, UpdatedAt: d.UpdatedAt.UTC()}
	if d.Schema != "" {
		c.Schema = json.RawMessage(d.Schema)
	}
	return c
}

func (s syncStore) ListCollections(ctx context.Context) ([]sync.Collection, error) {
	docs, err := findAll[collectionDoc](ctx, s.db.docs(collectionsCollection), bson.M{},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "list collections")
	return convert(docs, err, collectionDoc.collection)
}

// PutCollection replaces the configuration in one upsert; of two racing first inserts the
// loser retries and replaces.
func (s syncStore) PutCollection(ctx context.Context, c sync.Collection) error {
	d := collectionDoc{Name: c.Name, Policy: c.Policy, Read: c.Read, Schema: string(c.Schema), MaxDocBytes: c.MaxDocBytes, Notify: c.Notify, UpdatedAt: c.UpdatedAt.UTC()}
	var err error
	for range 2 {
		_, err = s.db.docs(collectionsCollection).ReplaceOne(ctx, bson.M{"_id": c.Name}, d, options.Replace().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	return mapError(err, "put collection")
}

func (s syncStore) DeleteCollection(ctx context.Context, name string) error {
	res, err := s.db.docs(collectionsCollection).DeleteOne(ctx, bson.M{"_id": name})
	if err != nil {
		return mapError(err, "delete collection")
	}
	return matched(res.DeletedCount, nil, "delete collection")
}
