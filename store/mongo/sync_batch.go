package mongo

import (
	"context"
	"errors"
	stdsync "sync"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Group commit on MongoDB.
//
// Concurrent commits on one node share the commands that do not depend on any one of
// them: the client claims (one bulk upsert and one read, instead of one findAndModify
// each), W1 (one $inc reserves a range for the group: each commit gets the next
// len(writes) numbers of it, in the order the commits arrived), W2 (one insertMany of the
// whole range's pending entries), W3 (one read of the watermark), W5 (one update marking
// the group's done numbers, one its void ones) and the client marks (one bulk write of
// $max). W4, each document's conditional write, must tell its outcome (written, conflict,
// fenced) per document. Creations of one-write commits go in one insertMany per
// collection, which names each insert that failed and why (insertGroup). Updates stay one
// command each: a bulk write of replaces reports only how many matched, not which
// (MongoDB 8's bulkWrite with verbose results would say; FerretDB v1 does not have it),
// and reading the documents back cannot stand in: a document written at s and
// overwritten by another node before the read looks like a conflict, and the write would
// be reported, and retried, as not done. The remaining W4 of the group's commits run
// concurrently, each commit's writes in order.
//
// Forming groups: the first commit that finds no group forming leads. It takes every
// commit queued (itself first), claims their clients and takes their numbers (W1), and
// hands the lead to the first commit that queued meanwhile, which forms the next group
// while this one writes. So commits that arrive during a group's claims and $inc go in the
// next group; an idle node adds no wait (a commit alone is a group of one, and sends what
// it sent before grouping: TestSyncCommandCounts); and a group that stalls after W1 (a
// slow W4, a paused writer in a test) does not hold the next group back.
//
// Why the ordering argument (sync_sequence.go) holds unchanged: it is an argument about
// each number, never about which commit took it. Every number of a group goes through
// W1-W5 with the same conditions as before: it is allocated by an $inc (one for many
// numbers, as a commit of several writes always did), its pending entry is inserted before
// the watermark is read (the insertMany completes before the read, in one causal
// session), its document write is conditional on its own fence and version, and it is
// marked done only after that write, or void when it will not be used. The advancer does
// not know groups exist: it passes a number only when it is settled, and fences one that
// stays unsettled, as before. What grouping changes is only when things happen: a number
// may stay pending a little longer (its mark waits for the group's slowest W4), and the
// watermark then passes the whole group at once.
//
// Each commit still fails alone where it can: a claim that fails (another user's client),
// a collection that cannot be prepared, fail that commit before it takes a number; a W4
// that fails fails its commit, whose unknown write is fenced by the writer itself and
// whose other numbers are voided (settleGroup, as settleRound); the others go on. A
// failure of a shared command (W1, W2, W3, a mark) fails every commit of the group that
// it served, each with its numbers settled on a fresh context, exactly as a lone commit's
// failure at that step does. A commit that lost a number to a fence (only after a stall of
// the fencing timeout) goes on alone with new numbers after the group, as before.
//
// Receipts, per-client order and exactly-once are the commits' own and unchanged: each
// commit gets its own results; its writes take increasing numbers in its order; a
// client's mark is raised with $max only after every write of its commit is settled and
// none conflicted; the idempotency of each mutation lives in its document, written by W4.

// batcher groups the concurrent commits of a node.
type batcher struct {
	mu      stdsync.Mutex
	queue   []*batchCall
	leading bool
	// hook, set by tests only, runs at each stage: "queued" (n: the queue's length, under
	// the lock), "take" (before a leader takes the queue; it may block), "taken" (n: the
	// group's size).
	hook func(stage string, n int)
	// solo, set by benchmarks only, runs every commit in a group of its own.
	solo bool
}

// batchCall is one Commit in a group.
type batchCall struct {
	ctx     context.Context // the commit's own (detached) context: its W4 runs on it
	c       sync.Commit
	results []sync.CommitResult
	err     error
	done    chan bool // true: lead the next group; false: the group is done with this call
	r       round     // its numbers in the group
	cause   error     // what failed its round
	raised  bool      // its client's mark was raised by the group
	// inserted: its one write, a creation, went in the group's insertMany (insertGroup);
	// dup is that insert's duplicate key error, when it found the document there.
	inserted bool
	dup      error
}

// grouped runs c in a group with the commits that arrive with it (see the top of this
// file) and returns its results. A follower waits even when its context ends: its commit
// may be under way, and is finished or settled whatever its caller does.
func (s syncStore) grouped(ctx context.Context, c sync.Commit) ([]sync.CommitResult, error) {
	b := &s.db.syncer.batch
	call := &batchCall{ctx: ctx, c: c, results: make([]sync.CommitResult, len(c.Writes)), done: make(chan bool, 1)}
	if b.solo { // each commit alone, as before grouping (benchmarks compare)
		err := s.db.causal(ctx, func(ctx context.Context) error {
			s.runGroup(ctx, []*batchCall{call}, func() {})
			return nil
		})
		if err != nil {
			return nil, err
		}
		return s.finishCall(call)
	}
	b.mu.Lock()
	b.queue = append(b.queue, call)
	if b.hook != nil {
		b.hook("queued", len(b.queue))
	}
	lead := !b.leading
	b.leading = true
	b.mu.Unlock()
	for !lead {
		if lead = <-call.done; !lead {
			return s.finishCall(call)
		}
	}
	s.lead()
	return s.finishCall(call)
}

// finishCall ends a call once its group is done with it: the writes the group left to it
// (a number lost to a fence) go in rounds of its own, then its client's mark is raised.
func (s syncStore) finishCall(call *batchCall) ([]sync.CommitResult, error) {
	if call.err != nil {
		return nil, call.err
	}
	if call.raised || call.c.Client == nil && call.r.settled == len(call.c.Writes) {
		return call.results, nil
	}
	err := s.db.causal(call.ctx, func(ctx context.Context) error {
		if err := s.rounds(ctx, call.c.Writes, call.results, call.r.settled); err != nil {
			return err
		}
		return s.raiseIfClean(ctx, call.c, call.results)
	})
	if err != nil {
		return nil, err
	}
	return call.results, nil
}

// lead takes the queued commits as a group, runs it in a session, and releases them.
func (s syncStore) lead() {
	b := &s.db.syncer.batch
	if b.hook != nil {
		b.hook("take", 0)
	}
	b.mu.Lock()
	group := b.queue
	b.queue = nil
	b.mu.Unlock()
	if b.hook != nil {
		b.hook("taken", len(group))
	}
	handed := false
	handOff := func() {
		if handed {
			return
		}
		handed = true
		b.mu.Lock()
		if len(b.queue) == 0 {
			b.leading = false
			b.mu.Unlock()
			return
		}
		next := b.queue[0]
		b.mu.Unlock()
		next.done <- true
	}
	err := s.db.causal(group[0].ctx, func(ctx context.Context) error {
		s.runGroup(ctx, group, handOff)
		return nil
	})
	handOff()
	for _, c := range group {
		if err != nil && c.err == nil {
			c.err = err
		}
	}
	for _, c := range group[1:] {
		c.done <- false
	}
}

// runGroup is W1-W5 for the group, and the client marks of the commits it settled whole;
// handOff passes the lead on, once the numbers are taken.
func (s syncStore) runGroup(ctx context.Context, group []*batchCall, handOff func()) {
	db := s.db
	s.claimGroup(ctx, group)
	var live []*batchCall
	n := 0
	for _, c := range group {
		for _, w := range c.c.Writes {
			if c.err != nil {
				break
			}
			c.err = db.prepareCollection(ctx, w.Doc.Ref.Collection)
		}
		if c.err == nil {
			live = append(live, c)
			n += len(c.c.Writes)
		}
	}
	if n == 0 {
		handOff()
		s.raiseGroup(ctx, live)
		return
	}
	first, err := db.allocate(ctx, n)
	handOff()
	if err != nil {
		for _, c := range live {
			c.err = err // the numbers, if taken, are unknown: the advancer fences them in time
		}
		return
	}
	writes := make([]sync.Write, 0, n)
	for _, c := range live {
		c.r = round{first: first + int64(len(writes)), recorded: make([]bool, len(c.c.Writes)), unknown: -1}
		writes = append(writes, c.c.Writes...)
	}
	eachWrite(live, func(c *batchCall, i int, w sync.Write) { db.pause(stepAllocated, w.Doc.Ref, c.r.seq(i)) })
	ok, err := db.record(ctx, writes, first)
	if err != nil {
		for _, c := range live {
			for i := range c.r.recorded {
				c.r.recorded[i] = true
			}
			c.r.unsure, c.cause = true, err
		}
		s.settleGroup(ctx, live)
		return
	}
	for _, c := range live {
		off := c.r.first - first
		copy(c.r.recorded, ok[off:off+int64(len(c.c.Writes))])
	}
	eachWrite(live, func(c *batchCall, i int, w sync.Write) { db.pause(stepLedger, w.Doc.Ref, c.r.seq(i)) })
	st, err := db.readSequence(ctx)
	if err != nil {
		for _, c := range live {
			c.cause = err // uses none of the numbers
		}
		s.settleGroup(ctx, live)
		return
	}
	s.writeGroup(ctx, live, st.watermark)
	s.settleGroup(ctx, live)
	s.raiseGroup(ctx, live)
}

func eachWrite(calls []*batchCall, f func(c *batchCall, i int, w sync.Write)) {
	for _, c := range calls {
		for i, w := range c.c.Writes {
			f(c, i, w)
		}
	}
}

// writeGroup is W4 of every commit of the group: each commit's writes in order, the
// commits at once, each on its own context and in its own session (started after the
// group's, which read the watermark).
func (s syncStore) writeGroup(ctx context.Context, live []*batchCall, watermark int64) {
	if len(live) == 1 {
		s.writeCall(ctx, live[0], watermark)
		return
	}
	s.insertGroup(ctx, live, watermark)
	if sess := mongo.SessionFromContext(ctx); sess != nil {
		s.db.syncer.opTime.raise(sess.OperationTime())
	}
	var wg stdsync.WaitGroup
	for _, c := range live {
		if len(c.c.Writes) == 0 || c.inserted && c.dup == nil {
			continue
		}
		wg.Go(func() {
			err := s.db.causal(c.ctx, func(ctx context.Context) error {
				s.writeCall(ctx, c, watermark)
				return nil
			})
			if err != nil && c.cause == nil {
				c.cause = err // the session did not start: no write ran
			}
		})
	}
	wg.Wait()
}

// writeCall is W4 of one commit of the group, as commitRound's: in order, until a write
// loses its number to a fence, or fails.
func (s syncStore) writeCall(ctx context.Context, c *batchCall, watermark int64) {
	db, r := s.db, &c.r
	for i, w := range c.c.Writes {
		if !r.recorded[i] || r.seq(i) <= watermark {
			break
		}
		var out outcome
		var err error
		if c.inserted { // its insert found the document: the replace is what is left of W4
			out, err = db.replaceDoc(ctx, w, r.seq(i), c.dup)
		} else {
			db.pause(stepChecked, w.Doc.Ref, r.seq(i))
			out, err = db.writeDoc(ctx, w, r.seq(i))
		}
		if err != nil {
			r.unknown, c.cause = i, err // the write may have happened, or may yet
			break
		}
		db.pause(stepWritten, w.Doc.Ref, r.seq(i))
		if out == fenced {
			break
		}
		if out == conflicted {
			c.results[i].Conflict = true
			r.void = append(r.void, r.seq(i))
		} else {
			c.results[i].Seq = r.seq(i)
			r.done = append(r.done, r.seq(i))
		}
		r.settled++
	}
}

// insertGroup is W4 of the group's one-write commits that create a document (base 0),
// where a collection has two or more: one unordered insertMany per collection instead of
// an insert each. Unlike a replace's, an insert's outcome is known per document: the
// command names each insert that failed, and why. An insert that found the document (a
// duplicate key) leaves that commit the rest of W4, the replace of a placeholder or a
// conflict (writeCall, with the same number, as writeDoc would go on); an insert that
// failed otherwise, or a command that failed, leaves its write's outcome unknown, and its
// commit fences it (settleGroup). A creation is its commit's only write, so grouping
// these inserts changes no commit's order.
func (s syncStore) insertGroup(ctx context.Context, live []*batchCall, watermark int64) {
	db := s.db
	byColl := map[string][]*batchCall{}
	var names []string
	for _, c := range live {
		if len(c.c.Writes) != 1 || c.c.Writes[0].BaseVersion != 0 || !c.r.recorded[0] || c.r.seq(0) <= watermark {
			continue
		}
		name := c.c.Writes[0].Doc.Ref.Collection
		if byColl[name] == nil {
			names = append(names, name)
		}
		byColl[name] = append(byColl[name], c)
	}
	for _, name := range names {
		calls := byColl[name]
		if len(calls) < 2 {
			continue
		}
		docs := make([]any, len(calls))
		for i, c := range calls {
			db.pause(stepChecked, c.c.Writes[0].Doc.Ref, c.r.seq(0))
			docs[i] = encodeDoc(c.c.Writes[0].Doc, c.r.seq(0))
			c.inserted = true
		}
		_, err := db.docs(name).InsertMany(ctx, docs, options.InsertMany().SetOrdered(false))
		failed := map[int]error{}
		var bwe mongo.BulkWriteException
		if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
			for _, we := range bwe.WriteErrors {
				if we.Index < 0 || we.Index >= len(calls) {
					failed = nil
					break
				}
				failed[we.Index] = we.WriteError
			}
			if failed != nil {
				err = nil
			}
		}
		for i, c := range calls {
			switch werr, ok := failed[i]; {
			case err != nil:
				c.r.unknown, c.cause = 0, mapError(err, "insert documents") // it may have happened
			case ok && mongo.IsDuplicateKeyError(werr):
				c.dup = werr
			case ok:
				c.r.unknown, c.cause = 0, mapError(werr, "insert document")
			default:
				db.pause(stepWritten, c.c.Writes[0].Doc.Ref, c.r.seq(0))
				c.results[0].Seq = c.r.seq(0)
				c.r.done = append(c.r.done, c.r.seq(0))
				c.r.settled++
			}
		}
	}
}

// settleGroup settles every number of the group as settleRound settles a round's, with one
// mark for the done numbers and one for the void ones of all the commits. A commit whose
// round failed gets that error; one whose numbers a failed mark served gets the mark's.
func (s syncStore) settleGroup(ctx context.Context, live []*batchCall) {
	db := s.db
	timeout := db.syncer.commitTimeout
	for _, c := range live {
		if c.cause != nil {
			timeout = settleTimeout
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	var done, void, unsure []int64
	for _, c := range live {
		r := &c.r
		for i := r.settled; i < len(c.c.Writes); i++ {
			switch {
			case i == r.unknown:
				ref := c.c.Writes[i].Doc.Ref
				if err := db.fencePending(ctx, ledgerEntry{Seq: r.seq(i), State: statePending,
					Ref: &refRecord{Collection: ref.Collection, Scope: ref.Scope, ID: ref.ID}}); err != nil && c.cause == nil {
					c.cause = err
				}
			case r.recorded[i]:
				r.void = append(r.void, r.seq(i))
			}
		}
		done = append(done, r.done...)
		void = append(void, r.void...)
		if r.unsure {
			unsure = append(unsure, r.void...)
		}
	}
	blame := func(err error, served func(r *round) bool) {
		for _, c := range live {
			if err != nil && c.cause == nil && served(&c.r) {
				c.cause = err
			}
		}
	}
	blame(db.mark(ctx, done, stateDone), func(r *round) bool { return len(r.done) > 0 })
	if len(unsure) > 0 {
		blame(db.insertVoid(ctx, unsure), func(r *round) bool { return r.unsure })
	}
	blame(db.mark(ctx, void, stateVoid), func(r *round) bool { return len(r.void) > 0 })
	for _, c := range live {
		if c.cause != nil {
			c.err = c.cause
		}
	}
}

// claimGroup claims the clients of the group's commits before any number is taken (see
// claimClient): one bulk of upserts that set the user only on insert, then one read of
// whose each client is. A commit whose client is another user's fails with
// ErrClientTaken. An upsert that lost a race for a new client id (a duplicate key) is
// claimed again on its own, which finds the winner's document.
func (s syncStore) claimGroup(ctx context.Context, group []*batchCall) {
	var claims []*batchCall
	for _, c := range group {
		if c.c.Client != nil {
			claims = append(claims, c)
		}
	}
	switch len(claims) {
	case 0:
		return
	case 1:
		claims[0].err = s.claimClient(ctx, *claims[0].c.Client)
		return
	}
	coll := s.db.docs(clientsCollection)
	models := make([]mongo.WriteModel, len(claims))
	ids := make([]string, len(claims))
	for i, c := range claims {
		m := c.c.Client
		ids[i] = m.ClientID
		models[i] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": m.ClientID}).
			SetUpdate(bson.M{"$setOnInsert": bson.M{"userId": m.UserID, "high": int64(0)}}).SetUpsert(true)
	}
	_, err := coll.BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
	again := map[int]bool{}
	var bwe mongo.BulkWriteException
	if errors.As(err, &bwe) && bwe.WriteConcernError == nil {
		for _, we := range bwe.WriteErrors {
			if !mongo.IsDuplicateKeyError(we.WriteError) || we.Index < 0 || we.Index >= len(claims) {
				again = nil
				break
			}
			again[we.Index] = true
		}
		if again != nil {
			err = nil
		}
	}
	if err != nil {
		err = mapError(err, "claim the clients")
		for _, c := range claims {
			c.err = err
		}
		return
	}
	for i := range again {
		claims[i].err = s.claimClient(ctx, *claims[i].c.Client)
	}
	type clientDoc struct {
		ID     string `bson:"_id"`
		UserID string `bson:"userId"`
	}
	docs, err := findAll[clientDoc](ctx, coll, bson.M{"_id": bson.M{"$in": ids}}, nil, "read the claimed clients")
	owners := make(map[string]string, len(docs))
	for _, d := range docs {
		owners[d.ID] = d.UserID
	}
	for i, c := range claims {
		owner, found := owners[c.c.Client.ClientID]
		switch {
		case again[i]:
		case err != nil:
			c.err = err
		case !found:
			c.err = tideline.Errorf(tideline.CodeUnavailable, "The client's claim was not found after it was made; retry.")
		case owner != c.c.Client.UserID:
			c.err = sync.ErrClientTaken
		}
	}
}

// raiseGroup raises the client marks of the group's commits that are settled whole and
// had no conflict (see raiseClient), in one bulk write.
func (s syncStore) raiseGroup(ctx context.Context, live []*batchCall) {
	var raise []*batchCall
	for _, c := range live {
		if c.err == nil && c.c.Client != nil && c.r.settled == len(c.c.Writes) && !conflicts(c.results) {
			raise = append(raise, c)
		}
	}
	// On a context of its own: the leader's may be what failed its own write.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.db.syncer.commitTimeout)
	defer cancel()
	var err error
	switch len(raise) {
	case 0:
		return
	case 1:
		err = s.raiseClient(ctx, *raise[0].c.Client)
	default:
		models := make([]mongo.WriteModel, len(raise))
		for i, c := range raise {
			m := c.c.Client
			models[i] = mongo.NewUpdateOneModel().SetFilter(bson.M{"_id": m.ClientID, "userId": m.UserID}).
				SetUpdate(bson.M{"$max": bson.M{"high": m.High}})
		}
		_, err = s.db.docs(clientsCollection).BulkWrite(ctx, models, options.BulkWrite().SetOrdered(false))
		err = mapError(err, "raise client marks")
	}
	for _, c := range raise {
		c.err, c.raised = err, err == nil
	}
	for _, c := range live {
		if c.err == nil && c.c.Client != nil && c.r.settled == len(c.c.Writes) && conflicts(c.results) {
			c.raised = true // nothing to raise: a write conflicted
		}
	}
}

func conflicts(results []sync.CommitResult) bool {
	for _, r := range results {
		if r.Conflict {
			return true
		}
	}
	return false
}
