package mongo

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The sync collections. Synced documents live in collections named after their sync
// collection ("todos" is the MongoDB collection "todos"), where a team expects them: the
// user's fields at the top level, Tideline's metadata in the subdocument _sync (see
// docRecord). Sync collection names never begin with "tideline_" or "system", so they
// cannot collide with these.
const (
	// Two documents: {_id: "counter", value: highest number handed out, at: time of the
	// latest allocation} and {_id: "watermark", value: W}. Kept together so that one query
	// reads both.
	sequenceCollection = "tideline_sync_sequence"
	// One entry per sequence number, the number as _id: {_id: seq, state: "pending" |
	// "done" | "void", ref: {c: collection, s: scope, d: doc id}, base: base version, at}.
	// A fence's void entry has no ref. Entries at or below the watermark are purged.
	ledgerCollection = "tideline_sync_ledger"
	// {_id: client id, userId, high}
	clientsCollection = "tideline_sync_clients"
	// {_id: name, policy, read, schema: JSON text (absent when none), maxDocBytes, notify,
	// updatedAt}. The schema is text because JSON Schema keys begin with '$'.
	collectionsCollection = "tideline_sync_collections"
	// {_id: name, since}: every collection that has held a synced document, so that a scan
	// of a bucket knows where to look. A collection is listed before its first document
	// is written.
	docCollectionsCollection = "tideline_sync_doc_collections"
	// {_id: name, value: binary}
	syncSecretsCollection = "tideline_sync_secrets"
)

// The _id values of the two documents of sequenceCollection.
const (
	counterID   = "counter"
	watermarkID = "watermark"
)

// docIndex is the index of every collection of synced documents: a bucket's changes in
// sequence order are one range of it. It is created the first time a node writes to the
// collection.
var docIndex = mongo.IndexModel{Keys: bson.D{{Key: "_sync.buckets", Value: 1}, {Key: "_sync.seq", Value: 1}}}

// migrateSync is migration 3: the sequence's counter and watermark, both starting at 0.
// $setOnInsert in an upsert writes nothing when the document exists, so a rerun or several
// nodes at once leave the values alone; a duplicate key means another node inserted it
// between our match and our insert. The ledger, clients, configurations and secrets need
// no index beyond _id; MongoDB creates a collection on its first insert.
func migrateSync(ctx context.Context, db *DB) error {
	seq := db.db.Collection(sequenceCollection)
	for _, id := range []string{counterID, watermarkID} {
		set := bson.M{"value": int64(0)}
		if id == counterID {
			set["at"] = time.Time{}
		}
		_, err := seq.UpdateOne(ctx, bson.M{"_id": id}, bson.M{"$setOnInsert": set}, options.UpdateOne().SetUpsert(true))
		if err != nil && !mongo.IsDuplicateKeyError(err) {
			return err
		}
	}
	return nil
}

// prepareCollection makes collection ready to hold synced documents: its index, and its
// entry in docCollectionsCollection, which must exist before any of its documents can be
// seen (a scan that does not know the collection would skip it). Both steps are
// idempotent; a node does them once per collection and remembers.
func (db *DB) prepareCollection(ctx context.Context, name string) error {
	if _, ok := db.syncer.prepared.Load(name); ok {
		return nil
	}
	if _, err := db.db.Collection(name).Indexes().CreateOne(ctx, docIndex); err != nil {
		return mapError(err, "index collection "+name)
	}
	_, err := db.db.Collection(docCollectionsCollection, syncOptions).UpdateOne(ctx, bson.M{"_id": name},
		bson.M{"$setOnInsert": bson.M{"since": db.clock.Now().UTC()}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return mapError(err, "register collection "+name)
	}
	db.syncer.prepared.Store(name, true)
	return nil
}

// docCollections lists the collections that hold synced documents.
func (db *DB) docCollections(ctx context.Context) ([]string, error) {
	type entry struct {
		Name string `bson:"_id"`
	}
	docs, err := findAll[entry](ctx, db.db.Collection(docCollectionsCollection, syncOptions), bson.M{},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "list synced collections")
	return convert(docs, err, func(e entry) string { return e.Name })
}
