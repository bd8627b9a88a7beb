package mongo

import (
	"cmp"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Sync returns the MongoDB engine's sync.Store.
func (db *DB) Sync() sync.Store { return syncStore{db} }

// syncStore implements sync.Store on single-document atomic operations: the ordering of
// writes rests on the sequence ledger (sync_sequence.go), the rest on conditional writes.
type syncStore struct{ db *DB }

// syncOptions make every sync read and write majority-committed, on the primary, whatever
// the URI says (durable). The ordering argument needs what it reads to stay true: with w:1
// writes or local reads, a replica-set failover could roll back a raised watermark, a done
// mark or a document that a reader has already been served, and numbers would be handed
// out again below a watermark a reader has passed.
var syncOptions = durable

var _ sync.Store = syncStore{}

// settleTimeout bounds how long a failed commit round may spend settling its numbers.
const settleTimeout = 5 * time.Second

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

// ListOwnedDocuments queries each collection that holds synced documents (a fresh list:
// none may be missed) for the owner's live documents ({_sync.owner} index), until it has
// limit.
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
// write conflicted. Concurrent commits of a node share these steps' commands where they can
// (group commit: sync_batch.go). Without transactions, the claim comes first so that it decides alone:
// a commit whose claim fails has written nothing, and of commits racing for a new client
// id, one claim wins (one upsert of the client's document), and only its commit writes.
// A node that stops after the claim leaves a client at mark 0, which is its owner's.
//
// Once it has begun, a commit is not abandoned with its request: mobile clients hang up
// mid-push all the time, and a commit stopped between its steps would leave a number
// pending that holds the watermark back, for every reader, until it is fenced
// (DefaultSyncFenceAfter). So it runs on the request's context without its cancellation
// (context.WithoutCancel), bounded by the commit timeout, and a round that fails anyway
// settles its numbers on a fresh context (settleRound). A request already cancelled when
// Commit is called takes nothing.
func (s syncStore) Commit(ctx context.Context, c sync.Commit) ([]sync.CommitResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, mapError(err, "commit")
	}
	ctx, cancel := s.db.syncer.detach(ctx)
	defer cancel()
	return s.grouped(ctx, c) // with the commits that arrive with it: sync_batch.go
}

// rounds settles writes[from:] in rounds (commitRound), each with new numbers, until every
// write is written or conflicting: the writes that a round left (one lost its number to a
// fence, and the ones after it) go in the next.
func (s syncStore) rounds(ctx context.Context, writes []sync.Write, results []sync.CommitResult, from int) error {
	for i, fencedRounds := from, 0; i < len(writes); {
		n, err := s.commitRound(ctx, writes[i:], results[i:])
		if err != nil {
			return err
		}
		if i += n; n > 0 {
			fencedRounds = 0
		} else if fencedRounds++; fencedRounds == maxFencedRounds {
			return tideline.Errorf(tideline.CodeUnavailable, "The sequence numbers of this commit were fenced %d times in a row; retry.", fencedRounds)
		}
	}
	return nil
}

// raiseIfClean raises c's client mark once its writes are settled, unless one conflicted.
func (s syncStore) raiseIfClean(ctx context.Context, c sync.Commit, results []sync.CommitResult) error {
	if c.Client == nil || conflicts(results) {
		return nil
	}
	return s.raiseClient(ctx, *c.Client)
}

// commitRound takes a number for each write and applies them in order (W1-W5 of
// sync_sequence.go) until one loses its number to a fence. It fills results and returns how
// many writes it settled (written or conflicting); the caller gives the rest new numbers.
func (s syncStore) commitRound(ctx context.Context, writes []sync.Write, results []sync.CommitResult) (int, error) {
	db := s.db
	first, err := db.allocate(ctx, len(writes))
	if err != nil {
		return 0, err // the numbers, if taken, are unknown: the advancer fences them in time
	}
	r := round{first: first, recorded: make([]bool, len(writes)), unknown: -1}
	for i, w := range writes {
		db.pause(stepAllocated, w.Doc.Ref, r.seq(i))
	}
	ok, err := db.record(ctx, writes, first)
	if err != nil {
		for i := range r.recorded {
			r.recorded[i] = true
		}
		r.unsure = true
		return 0, s.settleRound(ctx, writes, &r, err)
	}
	r.recorded = ok
	for i, w := range writes {
		db.pause(stepLedger, w.Doc.Ref, r.seq(i))
	}
	st, err := db.readSequence(ctx)
	if err != nil {
		return 0, s.settleRound(ctx, writes, &r, err) // uses none of the numbers
	}
	for i, w := range writes {
		if !r.recorded[i] || r.seq(i) <= st.watermark {
			break
		}
		db.pause(stepChecked, w.Doc.Ref, r.seq(i))
		out, werr := db.writeDoc(ctx, w, r.seq(i))
		if werr != nil {
			r.unknown, err = i, werr // the write may have happened, or may yet
			break
		}
		db.pause(stepWritten, w.Doc.Ref, r.seq(i))
		if out == fenced {
			break
		}
		if out == conflicted {
			results[i].Conflict = true
			r.void = append(r.void, r.seq(i))
		} else {
			results[i].Seq = r.seq(i)
			r.done = append(r.done, r.seq(i))
		}
		r.settled++
	}
	return r.settled, s.settleRound(ctx, writes, &r, err)
}

// round is what a commit round knows of its numbers first, first+1, ...
type round struct {
	first    int64
	recorded []bool // the number's ledger entry exists (W2 succeeded)
	// unsure: W2 failed, and its entries may or may not exist (recorded is all true).
	unsure     bool
	settled    int     // the writes before this one are written or conflicting
	done, void []int64 // numbers to mark
	unknown    int     // the write whose document write failed (-1: none)
}

func (r *round) seq(i int) int64 { return r.first + int64(i) }

// settleRound settles every number of the round before the commit goes on or gives up, so
// that none waits for the advancer's fence: done for the documents written, void for the
// numbers the commit will never use, and the number of a document write whose outcome is
// unknown is fenced by the writer itself, exactly as the advancer would (fencePending: done
// if the document carries it, else void; a late arrival of that write cannot land). A
// number whose W2 lost to a fence is settled already. It runs on a fresh context: the
// commit's may be what failed. That is bounded by settleTimeout after a failure, and by the
// commit timeout after a round that went well, whose marks are its W5: a large commit's
// may take longer than settleTimeout on a loaded server (250 writes on FerretDB did). It
// returns cause, or else the first error of its own.
func (s syncStore) settleRound(ctx context.Context, writes []sync.Write, r *round, cause error) error {
	timeout := s.db.syncer.commitTimeout
	if cause != nil {
		timeout = settleTimeout
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	db := s.db
	keep := func(err error) {
		if err != nil && cause == nil {
			cause = err
		}
	}
	for i := r.settled; i < len(writes); i++ {
		switch {
		case i == r.unknown:
			ref := writes[i].Doc.Ref
			keep(db.fencePending(ctx, ledgerEntry{Seq: r.seq(i), State: statePending,
				Ref: &refRecord{Collection: ref.Collection, Scope: ref.Scope, ID: ref.ID}}))
		case r.recorded[i]:
			r.void = append(r.void, r.seq(i))
		}
	}
	keep(db.mark(ctx, r.done, stateDone))
	if r.unsure {
		keep(db.insertVoid(ctx, r.void))
	}
	keep(db.mark(ctx, r.void, stateVoid))
	return cause
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
func (s syncStore) Watermark(ctx context.Context) (int64, error) { return s.db.advance(ctx) }

// ScanBucket queries each collection (those given, else every collection that holds
// synced documents, as of q.Through) for the documents whose reach (buckets ∪ evicted)
// holds one of the buckets, in (After, Through], in seq order: one query per collection,
// with $in, through the {reach, seq} index (hinted: the planner merges the index's ranges
// for the buckets in seq order and stops at the limit, without sorting). SkipDeleted also
// asks for one of the buckets in buckets, which leaves out the documents that left them.
func (s syncStore) ScanBucket(ctx context.Context, q sync.BucketScan) ([]sync.Document, error) {
	if q.Through <= q.After || len(q.Buckets) == 0 {
		return nil, nil
	}
	var out []sync.Document
	err := s.db.causal(ctx, func(ctx context.Context) error {
		var err error
		out, err = s.scan(ctx, q)
		return err
	})
	return out, err
}

// scan is ScanBucket in its session.
func (s syncStore) scan(ctx context.Context, q sync.BucketScan) ([]sync.Document, error) {
	names := slices.Compact(slices.Sorted(slices.Values(q.Collections)))
	if len(names) == 0 {
		var err error
		if names, err = s.db.docCollectionsThrough(ctx, q.Through); err != nil {
			return nil, err
		}
	}
	limit := max(1, q.Limit)
	buckets := slices.Compact(slices.Sorted(slices.Values(q.Buckets)))
	var in any = bson.M{"$in": buckets}
	if len(buckets) == 1 {
		in = buckets[0]
	}
	filter := bson.M{"_sync.reach": in, "_sync.seq": bson.M{"$gt": q.After, "$lte": q.Through}}
	if q.SkipDeleted {
		filter["_sync.deleted"] = false
		filter["_sync.buckets"] = in
	}
	opts := options.Find().SetSort(bson.D{{Key: "_sync.seq", Value: 1}}).SetLimit(int64(limit)).SetHint(scanIndex)
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
