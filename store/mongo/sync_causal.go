package mongo

import (
	"context"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Causal sessions.
//
// Every sync read and write is majority-committed on the primary (syncOptions), but a
// majority read is served from the majority snapshot of the member it reaches, and after a
// step-down a new primary's snapshot may briefly lag what the old one acknowledged. Two
// orders matter to the sequence (sync_sequence.go):
//   - a pull serves up to a watermark W read earlier (by this node's advancer) and then
//     scans for documents at seq <= W. Every write at or below W was majority-committed
//     before W was raised, and the raise before the read of W; a scan from a lagging
//     snapshot could miss one, and the cursor would move past it for good;
//   - a writer's W3 reads the watermark after its W2 inserted a ledger entry. When that
//     insert succeeded only because the fence's void entry for the same number was purged
//     (which happens only after W passed the number), W3 must see that W, or W4 would
//     write below it.
//
// So the engine runs each commit, each advance and each scan in an explicit causally
// consistent session, and starts every session at the latest operation time this node
// has seen (syncer.opTime): a read in the session carries afterClusterTime, and MongoDB
// serves it only from a snapshot that includes that time, waiting for one if it must. A
// scan thus sees every write the watermark read saw (the advance that read it recorded
// its operation time before any pull could use W), and W3 sees the purge that its W2
// followed (same session). FerretDB and a standalone server report no operation times:
// there sessions change nothing, as nothing lags there.

// causal runs f in a causally consistent session that starts after every operation time
// this node has recorded, and records the session's own at the end. A ctx that carries a
// session already keeps it.
func (db *DB) causal(ctx context.Context, f func(ctx context.Context) error) error {
	if mongo.SessionFromContext(ctx) != nil {
		return f(ctx)
	}
	sess, err := db.client.StartSession(options.Session().SetCausalConsistency(true))
	if err != nil {
		return mapError(err, "start a session")
	}
	defer sess.EndSession(context.WithoutCancel(ctx))
	if t := db.syncer.opTime.get(); t != nil {
		_ = sess.AdvanceOperationTime(t)
	}
	err = f(mongo.NewSessionContext(ctx, sess))
	db.syncer.opTime.raise(sess.OperationTime())
	return err
}

// opTime is the latest operation time a node has seen in its sync sessions.
type opTime struct {
	mu sync.Mutex
	t  *bson.Timestamp
}

func (o *opTime) get() *bson.Timestamp {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.t
}

func (o *opTime) raise(t *bson.Timestamp) {
	if t == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.t == nil || o.t.Before(*t) {
		c := *t
		o.t = &c
	}
}
