package mongo

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	datasync "github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The sequence without transactions.
//
// sync.Store promises one gap-free sequence and a watermark W below which nothing new can
// appear. MongoDB has no transaction to take a number and write a document at once, so a
// write takes five steps, each one atomic single-document operation (or a read):
//
//	W1 allocate s: $inc the counter (a commit of k writes takes k numbers at once).
//	W2 record s in the ledger: insert {_id: s, state: pending, ref}. A duplicate key means
//	   s was fenced (below): the writer gives s up.
//	W3 read the watermark: s <= W means the advancer has passed s without this entry (s
//	   was fenced, and its void entry purged since): give s up.
//	W4 write the document, conditionally: the filter is {_id, _sync.version: base,
//	   _sync.fence: {$lt: s}} (base 0: an insert, or the replacement of a placeholder
//	   under that filter), setting _sync.seq = _sync.fence = s. No match: a version other
//	   than base is a conflict; otherwise s was fenced: give s up.
//	W5 mark the entry done (void for a conflict or a number given up). A write whose
//	   number was given up is retried from W1 with a new number, and the writes after it
//	   in the commit with it, so that they stay in order.
//
// The watermark advancer (every Watermark call, on any node) reads W and the counter, then
// walks the ledger from W+1: a done or void entry is passed; a pending entry, or a number
// with no entry, is waited for until it is older than the fencing timeout, and then fenced:
//
//	missing s: insert {_id: s, state: void}. A duplicate key means its writer's W2 came
//	   first: the advancer stops there and looks again next time.
//	pending s: $max _sync.fence to s on the entry's document (upserting a placeholder
//	   when it does not exist), then mark the entry done if the document carries seq s,
//	   else void.
//
// It then raises W to the last number passed with $max, so W never goes back, and now and
// then deletes the ledger entries below W.
//
// Why no write lands at or below a published W. Once s is fenced on a document, its
// _sync.fence never drops below s: fences only raise it ($max), and a write that succeeds
// needs fence < its own number s' and sets fence = s'; and no document is ever deleted (a
// purged tombstone becomes a placeholder that keeps its fence: see purgeOne). So W4 with s
// succeeds only if it is linearized before the fence of s, and W2 with s only before the
// void insert of s. When the advancer passes s, s is settled for good:
//   - done: the document carried s before the entry said so (W5 follows W4; a fencer
//     marks done only when it sees the document carry s);
//   - void from its writer: W4 changed nothing (a conflict) or never ran with s, and a
//     writer never retries a number;
//   - void inserted for a missing s: that insert succeeded, so the writer's W2 had not
//     happened; it fails on the duplicate, or, once the entry is purged (only after W >= s
//     was published), succeeds but then W3 reads W >= s;
//   - pending, fenced: W4 with s came before the fence (the document was written before W
//     passed s) or fails after it.
//
// So a writer paused after any step and resumed after its number was fenced: after W1, W2
// fails or W3 sees W >= s; after W2 or W3, W3 sees W >= s or W4 finds the fence; after W4,
// its write stood before the fence and is served from the moment W passes s, and W5 only
// repeats what the fencer marked. It retries with a new number, above every fence (it is
// allocated after the fence was set). Marks need no condition: done and void both count
// as settled, so a writer and a fencer may mark an entry in either order.
//
// Readers scan documents by their current seq in (after, W]: a document written at s <= W
// is there until it is written again, with a number above the W of that moment, which the
// reader gets from a later pull.
//
// A writer does not give up between its steps because its caller has: the commit runs
// detached from the request's cancellation, bounded by its own timeout (Commit), and when
// a step fails anyway, the writer settles its numbers before it returns, on a fresh
// context (settleRound): void for the numbers it will not use (inserted void where its W2
// may not have happened), and a W4 whose outcome is unknown fenced as the advancer would
// fence it. Only a writer that dies (or whose database stops answering) leaves numbers to
// the advancer's timeout.
//
// Time plays no part in the argument: fencing early costs a retry, never a lost write. How
// long a number has been unsettled is judged by the advancer alone, on its own clock,
// from the moment it first saw the number unsettled (syncer.sighted): never by a time a
// writer wrote, so that node clocks that disagree fence neither late nor early. (Judged by
// the writer's clock, a writer an hour ahead that died held the watermark back for an
// hour, and one more than a timeout behind was fenced at every try and never committed:
// sync_skew_test.go.) A node that starts, or restarts, waits one timeout from then.

// syncStep names the gaps between a writer's steps, where the test hook runs.
type syncStep int

const (
	stepAllocated syncStep = iota + 1 // after W1: the number is taken, no ledger entry yet
	stepLedger                        // after W2: the entry is pending
	stepChecked                       // after W3: the number is above the watermark
	stepWritten                       // after W4: the document is written (or not)
	// stepPublish is the advancer's: it has passed (and fenced) every number up to seq,
	// and is about to raise the watermark to it.
	stepPublish
	// stepPurge is the purger's (sync_access.go): it has raised the purge horizon over seq,
	// the number of a document it read as purgeable, and is about to change that document.
	stepPurge
)

// Entry states.
const (
	statePending = "pending"
	stateDone    = "done"
	stateVoid    = "void"
)

const (
	// DefaultSyncFenceAfter is how long a sequence number may stay missing or pending
	// before the watermark advancer fences it, unless Options.SyncFenceAfter says otherwise.
	DefaultSyncFenceAfter = 5 * time.Second
	// ledgerBatch is how many entries the advancer reads at once.
	ledgerBatch = 256
	// purgeEvery and purgeKeep: each time W crosses a multiple of purgeEvery, the entries at
	// or below W-purgeKeep are deleted. Entries below W serve nobody (W3 makes even a void
	// fence entry safe to delete), and a small ledger keeps the advancer's range read cheap
	// everywhere (on FerretDB, which scans, it decides the cost of every ledger operation).
	purgeEvery = 16
	purgeKeep  = 0
)

// syncer is the engine's per-process sync state: nothing in it is needed for correctness
// across nodes.
type syncer struct {
	fenceAfter time.Duration
	// detach gives a commit its context: the request's without its cancellation, bounded
	// by the commit timeout. Tests replace it to fail a commit between its steps.
	detach func(ctx context.Context) (context.Context, context.CancelFunc)
	// hook, when set (only by tests), runs between a writer's steps; it may block.
	hook func(step syncStep, ref datasync.DocRef, seq int64)
	// flights lets one advance run at a time (advance): running is the one under way,
	// queued the one that starts after it.
	flights         sync.Mutex
	running, queued *flight
	commitTimeout   time.Duration
	// prepared holds the collections this process has indexed and registered.
	prepared sync.Map
	// seenCounter and seenVersion are the highest counter and collections version this
	// process has read from the counter document; collections is its copy of the list of
	// collections that hold synced documents (docCollectionsThrough).
	seenCounter, seenVersion atomic.Int64
	collections              atomic.Pointer[collectionList]
	// fenced counts the numbers this process fenced.
	fenced atomic.Int64
	// opTime is the latest operation time of this node's sync sessions (sync_causal.go).
	opTime opTime
	// sighted holds, for each unsettled number the advancer has seen, when it first saw it
	// (by this node's clock); only the advancer uses it, one advance at a time.
	sighted map[int64]time.Time
	// batch groups this node's concurrent commits (sync_batch.go).
	batch batcher
}

func newSyncer(fenceAfter, commitTimeout time.Duration) *syncer {
	if fenceAfter <= 0 {
		fenceAfter = DefaultSyncFenceAfter
	}
	if commitTimeout <= 0 {
		commitTimeout = DefaultOperationTimeout
	}
	return &syncer{fenceAfter: fenceAfter, commitTimeout: commitTimeout, sighted: map[int64]time.Time{}, detach: func(ctx context.Context) (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	}}
}

func (db *DB) pause(step syncStep, ref datasync.DocRef, seq int64) {
	if h := db.syncer.hook; h != nil {
		h(step, ref, seq)
	}
}

type ledgerEntry struct {
	Seq   int64      `bson:"_id"`
	State string     `bson:"state"`
	Ref   *refRecord `bson:"ref,omitempty"`
	Base  int64      `bson:"base,omitempty"`
	At    time.Time  `bson:"at"`
}

func (db *DB) seqColl() *mongo.Collection { return db.db.Collection(sequenceCollection, syncOptions) }
func (db *DB) ledger() *mongo.Collection  { return db.db.Collection(ledgerCollection, syncOptions) }
func (db *DB) docs(name string) *mongo.Collection {
	return db.db.Collection(name, syncOptions)
}

// allocate is W1: it takes n numbers and returns the first. (It keeps the counter's at,
// which fences nothing any more, for nodes of earlier releases during a rolling upgrade:
// they judge a missing number's age by it.)
func (db *DB) allocate(ctx context.Context, n int) (int64, error) {
	var c struct {
		Value int64 `bson:"value"`
	}
	err := db.seqColl().FindOneAndUpdate(ctx, bson.M{"_id": counterID},
		bson.M{"$inc": bson.M{"value": int64(n)}, "$max": bson.M{"at": db.clock.Now().UTC()}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&c)
	return c.Value - int64(n) + 1, mapError(err, "allocate sequence numbers")
}

// record is W2: it inserts a pending entry for each write (numbers first, first+1, ...) and
// reports which inserts succeeded; the others were fenced.
func (db *DB) record(ctx context.Context, writes []datasync.Write, first int64) ([]bool, error) {
	now := db.clock.Now().UTC()
	entries := make([]any, len(writes))
	for i, w := range writes {
		r := w.Doc.Ref
		entries[i] = ledgerEntry{Seq: first + int64(i), State: statePending, At: now, Base: w.BaseVersion,
			Ref: &refRecord{Collection: r.Collection, Scope: r.Scope, ID: r.ID}}
	}
	ok := make([]bool, len(writes))
	for i := range ok {
		ok[i] = true
	}
	_, err := db.ledger().InsertMany(ctx, entries, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we.WriteError) || we.Index < 0 || we.Index >= len(ok) {
				return nil, mapError(err, "record sequence numbers")
			}
			ok[we.Index] = false
		}
		err = nil
	}
	return ok, mapError(err, "record sequence numbers")
}

// mark is W5: it sets the entries seqs to state. It needs no condition: an entry goes
// from pending to done or void, and whether a settled entry says done or void matters to
// nobody (the advancer passes both), so a writer and a fencer may both mark one. (One
// number is marked by _id alone, which FerretDB answers without a scan.)
func (db *DB) mark(ctx context.Context, seqs []int64, state string) error {
	var err error
	switch len(seqs) {
	case 0:
		return nil
	case 1:
		_, err = db.ledger().UpdateOne(ctx, bson.M{"_id": seqs[0]}, bson.M{"$set": bson.M{"state": state}})
	default:
		_, err = db.ledger().UpdateMany(ctx, bson.M{"_id": bson.M{"$in": seqs}}, bson.M{"$set": bson.M{"state": state}})
	}
	return mapError(err, "mark sequence numbers "+state)
}

// insertVoid inserts a void entry for each of seqs that has none: numbers whose W2 failed
// with its outcome unknown. A duplicate is an entry that exists already (the writer's own,
// or a fence's); mark then voids the writer's. (Inserting first and marking after leaves
// no window in which a late W2 insert could still land pending.)
func (db *DB) insertVoid(ctx context.Context, seqs []int64) error {
	if len(seqs) == 0 {
		return nil
	}
	now := db.clock.Now().UTC()
	entries := make([]any, len(seqs))
	for i, s := range seqs {
		entries[i] = ledgerEntry{Seq: s, State: stateVoid, At: now}
	}
	_, err := db.ledger().InsertMany(ctx, entries, options.InsertMany().SetOrdered(false))
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil &&
		!slices.ContainsFunc(bwe.WriteErrors, func(we mongo.BulkWriteError) bool { return !mongo.IsDuplicateKeyError(we.WriteError) }) {
		err = nil
	}
	return mapError(err, "void sequence numbers")
}

// outcome is what W4 did.
type outcome int

const (
	written outcome = iota + 1
	conflicted
	fenced
)

// writeDoc is W4: it writes w's document under seq if its version is still w.BaseVersion
// and no fence at or above seq is on it.
func (db *DB) writeDoc(ctx context.Context, w datasync.Write, seq int64) (outcome, error) {
	var insertErr error
	if w.BaseVersion == 0 {
		if _, insertErr = db.docs(w.Doc.Ref.Collection).InsertOne(ctx, encodeDoc(w.Doc, seq)); insertErr == nil {
			return written, nil
		}
		if !mongo.IsDuplicateKeyError(insertErr) {
			return 0, mapError(insertErr, "insert document")
		}
		// It exists: a document (a conflict) or a placeholder, replaced below if unfenced.
	}
	return db.replaceDoc(ctx, w, seq, insertErr)
}

// replaceDoc is W4 past the insert: the replace of w's document under seq if its version
// is still w.BaseVersion and no fence at or above seq is on it. insertErr is the duplicate
// key error of a creation's insert (nil for an update).
func (db *DB) replaceDoc(ctx context.Context, w datasync.Write, seq int64, insertErr error) (outcome, error) {
	coll := db.docs(w.Doc.Ref.Collection)
	doc := encodeDoc(w.Doc, seq)
	key := docKey(w.Doc.Ref)
	res, err := coll.ReplaceOne(ctx, bson.M{"_id": key, "_sync.version": w.BaseVersion, "_sync.fence": bson.M{"$lt": seq}}, doc)
	if err != nil {
		return 0, mapError(err, "write document")
	}
	if res.MatchedCount == 1 {
		return written, nil
	}
	var cur struct {
		Sync struct {
			Version int64 `bson:"version"`
		} `bson:"_sync"`
	}
	err = coll.FindOne(ctx, bson.M{"_id": key}).Decode(&cur)
	switch {
	case errors.Is(err, mongo.ErrNoDocuments) && w.BaseVersion > 0:
		return conflicted, nil
	case errors.Is(err, mongo.ErrNoDocuments):
		// The insert was refused by a unique index the team put on its own fields.
		return 0, mapError(insertErr, "insert document")
	case err != nil:
		return 0, mapError(err, "read document")
	case cur.Sync.Version != w.BaseVersion:
		return conflicted, nil
	}
	return fenced, nil
}

// sequenceState is the counter and the watermark, read together.
type sequenceState struct {
	counter   int64
	watermark int64
}

// readSequence reads the counter and the watermark, and notes the counter and the
// collections version it saw (docCollectionsThrough).
func (db *DB) readSequence(ctx context.Context) (sequenceState, error) {
	type doc struct {
		ID          string `bson:"_id"`
		Value       int64  `bson:"value"`
		Collections int64  `bson:"collections"`
	}
	docs, err := findAll[doc](ctx, db.seqColl(), bson.M{}, nil, "read the sequence")
	if err != nil {
		return sequenceState{}, err
	}
	var st sequenceState
	for _, d := range docs {
		switch d.ID {
		case counterID:
			st.counter = d.Value
			raise(&db.syncer.seenVersion, d.Collections) // first: whoever sees the counter sees this version
			raise(&db.syncer.seenCounter, d.Value)
		case watermarkID:
			st.watermark = d.Value
		}
	}
	return st, nil
}

// raise sets a to v when v is higher.
func raise(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// advance moves the watermark as far as the ledger allows, fencing what has waited too
// long, and returns it. One advance runs at a time on a node: a caller that comes while
// one is under way waits for the next one, which starts after it (so its result includes
// every write finished before the caller came), and shares it with everyone else who came
// meanwhile: however many pulls and polls want the watermark, a node reads the ledger
// once at a time.
func (db *DB) advance(ctx context.Context) (int64, error) {
	sy := db.syncer
	sy.flights.Lock()
	if sy.running == nil {
		f := &flight{done: make(chan struct{})}
		sy.running = f
		sy.flights.Unlock()
		db.fly(ctx, f)
		return f.w, f.err
	}
	if sy.queued == nil {
		sy.queued = &flight{done: make(chan struct{})}
	}
	f := sy.queued
	f.waiters++
	sy.flights.Unlock()
	select {
	case <-f.done:
		return f.w, f.err
	case <-ctx.Done():
		return 0, mapError(ctx.Err(), "advance the watermark")
	}
}

// flight is one advance, and its result for everyone waiting on it.
type flight struct {
	done    chan struct{}
	w       int64
	err     error
	waiters int // callers waiting for it (under syncer.flights)
}

// fly runs flight f, then starts the one queued meanwhile (in its own goroutine, detached
// from ctx: its waiters are others).
func (db *DB) fly(ctx context.Context, f *flight) {
	f.w, f.err = db.advanceOnce(ctx)
	close(f.done)
	sy := db.syncer
	sy.flights.Lock()
	next := sy.queued
	sy.queued, sy.running = nil, next
	sy.flights.Unlock()
	if next != nil {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sy.commitTimeout)
			defer cancel()
			db.fly(ctx, next)
		}()
	}
}

// advanceOnce is one advance, in its session. (One runs at a time per node: see advance.)
func (db *DB) advanceOnce(ctx context.Context) (w int64, err error) {
	err = db.causal(ctx, func(ctx context.Context) error {
		w, err = db.advanceInSession(ctx)
		return err
	})
	return w, err
}

// advanceInSession is advanceOnce in its session.
func (db *DB) advanceInSession(ctx context.Context) (w int64, err error) {
	defer func() {
		for s := range db.syncer.sighted {
			if s <= w {
				delete(db.syncer.sighted, s) // settled for good
			}
		}
	}()
	st, err := db.readSequence(ctx)
	if err != nil {
		return 0, err
	}
	w = st.watermark
	for w < st.counter {
		next, blocked, err := db.advanceBatch(ctx, w, st)
		if next > w {
			db.pause(stepPublish, datasync.DocRef{}, next)
			var rerr error
			if w, rerr = db.raiseWatermark(ctx, w, next); rerr != nil {
				return 0, rerr
			}
		}
		if err != nil || blocked {
			return w, err
		}
	}
	return w, nil
}

// advanceBatch walks the ledger from w+1, passing settled numbers and fencing stale ones,
// and returns the last number passed; blocked is set when it stopped at an unsettled one.
func (db *DB) advanceBatch(ctx context.Context, w int64, st sequenceState) (next int64, blocked bool, err error) {
	hi := min(st.counter, w+ledgerBatch)
	entries, err := findAll[ledgerEntry](ctx, db.ledger(), bson.M{"_id": bson.M{"$gt": w, "$lte": hi}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "read the ledger")
	if err != nil {
		return w, true, err
	}
	byID := make(map[int64]ledgerEntry, len(entries))
	for _, e := range entries {
		byID[e.Seq] = e
	}
	// Every unsettled number of the batch starts its wait now if this node has not seen it
	// unsettled before, so that several stalled numbers wait out one timeout together.
	now := db.clock.Now()
	sighted := db.syncer.sighted
	for s := w + 1; s <= hi; s++ {
		if e, ok := byID[s]; (!ok || e.State == statePending) && sighted[s].IsZero() {
			sighted[s] = now
		}
	}
	stale := func(s int64) bool { return now.Sub(sighted[s]) >= db.syncer.fenceAfter }
	for s := w + 1; s <= hi; s++ {
		e, ok := byID[s]
		switch {
		case ok && e.State != statePending:
		case ok:
			if !stale(s) {
				return s - 1, true, nil
			}
			if err := db.fencePending(ctx, e); err != nil {
				return s - 1, true, err
			}
		default:
			if !stale(s) {
				return s - 1, true, nil
			}
			if settled, err := db.fenceMissing(ctx, s); err != nil || !settled {
				return s - 1, true, err
			}
		}
	}
	return hi, false, nil
}

// fenceMissing voids a number that has no entry. It reports false when the number's
// writer recorded it first: the caller waits for that entry.
func (db *DB) fenceMissing(ctx context.Context, s int64) (bool, error) {
	_, err := db.ledger().InsertOne(ctx, ledgerEntry{Seq: s, State: stateVoid, At: db.clock.Now().UTC()})
	if mongo.IsDuplicateKeyError(err) {
		return false, nil
	}
	if err != nil {
		return false, mapError(err, "fence a missing sequence number")
	}
	db.syncer.fenced.Add(1)
	return true, nil
}

// fencePending makes sure the write of pending entry e either happened or never will, then
// settles the entry: done if the document carries e's number, else void.
func (db *DB) fencePending(ctx context.Context, e ledgerEntry) error {
	ref := e.Ref.ref()
	var cur struct {
		Sync struct {
			Seq int64 `bson:"seq"`
		} `bson:"_sync"`
	}
	var err error
	for range 2 { // two upserts of a placeholder may race; the loser finds it on the retry
		err = db.docs(ref.Collection).FindOneAndUpdate(ctx, bson.M{"_id": docKey(ref)},
			bson.M{"$max": bson.M{"_sync.fence": e.Seq},
				"$setOnInsert": bson.M{"_sync.scope": ref.Scope, "_sync.docId": ref.ID, "_sync.version": int64(0)}},
			options.FindOneAndUpdate().SetUpsert(true).SetReturnDocument(options.After)).Decode(&cur)
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil {
		return mapError(err, "fence a document")
	}
	db.syncer.fenced.Add(1)
	state := stateVoid
	if cur.Sync.Seq == e.Seq {
		state = stateDone
	}
	return db.mark(ctx, []int64{e.Seq}, state)
}

// raiseWatermark raises the stored watermark to at least next and returns it; now and then
// it purges the ledger below it (safe at any time: see W3).
func (db *DB) raiseWatermark(ctx context.Context, old, next int64) (int64, error) {
	var d struct {
		Value int64 `bson:"value"`
	}
	err := db.seqColl().FindOneAndUpdate(ctx, bson.M{"_id": watermarkID}, bson.M{"$max": bson.M{"value": next}},
		options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&d)
	if err != nil {
		return 0, mapError(err, "raise the watermark")
	}
	if d.Value/purgeEvery > old/purgeEvery && d.Value > purgeKeep {
		_, err = db.ledger().DeleteMany(ctx, bson.M{"_id": bson.M{"$lte": d.Value - purgeKeep}})
	}
	return d.Value, mapError(err, "purge the ledger")
}
