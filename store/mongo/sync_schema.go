package mongo

import (
	"context"
	"fmt"
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
	// latest allocation, collections: a version raised whenever a node prepares a
	// collection (docCollectionsThrough)} and {_id: "watermark", value: W}. Kept together
	// so that one query reads both.
	sequenceCollection = "tideline_sync_sequence"
	// One entry per sequence number, the number as _id: {_id: seq, state: "pending" |
	// "done" | "void", ref: {c: collection, s: scope, d: doc id}, base: base version, at:
	// when it was written, by its writer's clock (for people: fencing never reads it)}.
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
	syncSecretsCollection = "tideline_sync_secrets" // until schema 6 (see secretsCollection)
	// {_id: "purgeHorizon", value: the highest seq purged}. Not in sequenceCollection,
	// which every write reads whole.
	syncStateCollection = "tideline_sync_state"
	// {_id: name, holder, until}
	leasesCollection = "tideline_sync_leases"
	// {_id: group id, name, ownerId, createdAt}
	groupsCollection = "tideline_sync_groups"
	// {_id: {groupId, userId}, groupId, userId, role, addedAt}: the unique _id makes adding
	// a membership idempotent; the copies of its fields are what the indexes cover.
	membersCollection = "tideline_sync_members"
)

// The _id values of the two documents of sequenceCollection.
const (
	counterID   = "counter"
	watermarkID = "watermark"
)

// scanIndex is the index of a bucket scan: ScanBucket hints it.
var scanIndex = bson.D{{Key: "_sync.reach", Value: 1}, {Key: "_sync.seq", Value: 1}}

// docIndexes are the indexes of every collection of synced documents, created the first
// time a node writes to the collection:
//   - {reach, seq}: a bucket's changes in sequence order (ScanBucket) are one range of it;
//   - {seq}: the changes in a range of numbers, whatever their bucket (TouchedBuckets);
//   - {owner}: the documents of a user who is deleted (ListOwnedDocuments);
//   - {purgeAt}, sparse: only tombstones and documents with evictions carry purgeAt, so
//     this index holds what PurgeDocuments looks for, oldest first, and nothing else
//     (a sparse index, not a partial one, which FerretDB lacks; a range query on purgeAt
//     cannot match a document without it, so MongoDB may use the sparse index for it);
//   - {files}, sparse: the documents that refer to a file (the files sweeper).
var ownerIndex = mongo.IndexModel{Keys: bson.D{{Key: "_sync.owner", Value: 1}}}

var filesIndex = mongo.IndexModel{Keys: bson.D{{Key: "_sync.files", Value: 1}}, Options: options.Index().SetSparse(true)}

var docIndexes = []mongo.IndexModel{
	filesIndex,
	{Keys: scanIndex},
	{Keys: bson.D{{Key: "_sync.seq", Value: 1}}},
	ownerIndex,
	{Keys: bson.D{{Key: "_sync.purgeAt", Value: 1}}, Options: options.Index().SetSparse(true)},
}

// syncIndexes are the secondary indexes of the other sync collections: a user's
// memberships (ListGroups, DeleteMemberships) and a group's (ListMembers). The ledger,
// clients, configurations, secrets, state, leases and groups need no index beyond _id.
var syncIndexes = []struct {
	collection string
	model      mongo.IndexModel
}{
	{membersCollection, mongo.IndexModel{Keys: bson.D{{Key: "userId", Value: 1}}}},
	{membersCollection, mongo.IndexModel{Keys: bson.D{{Key: "groupId", Value: 1}}}},
}

// migrateSync is migration 3: the sequence's counter and watermark, both starting at 0,
// and the indexes of the membership collection. $setOnInsert in an upsert writes nothing
// when the document exists, so a rerun or several nodes at once leave the values alone; a
// duplicate key means another node inserted it between our match and our insert. Creating
// an index that exists does nothing; each is its own command (FerretDB v1 panics on a
// createIndexes that lists two existing ones). MongoDB creates a collection on its first
// insert.
func migrateSync(ctx context.Context, db *DB) error {
	seq := db.db.Collection(sequenceCollection, syncOptions)
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
	for _, ix := range syncIndexes {
		if _, err := db.db.Collection(ix.collection).Indexes().CreateOne(ctx, ix.model); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.model.Keys, ix.collection, err)
		}
	}
	return nil
}

// prepareCollection makes collection ready to hold synced documents: its indexes (one
// command each), its entry in docCollectionsCollection, which must exist before any of its
// documents can be seen (a scan that does not know the collection would skip it), and a
// raise of the counter document's collections version, which tells every node's cached
// list (docCollectionsThrough) that it may lack one. Every step is idempotent; a node does
// them once per collection and remembers. A node prepares a collection before its first
// write to it, whichever node registered it first, so every document written follows a
// raise of the version by its writer.
func (db *DB) prepareCollection(ctx context.Context, name string) error {
	if _, ok := db.syncer.prepared.Load(name); ok {
		return nil
	}
	for _, ix := range docIndexes {
		if _, err := db.db.Collection(name).Indexes().CreateOne(ctx, ix); err != nil {
			return mapError(err, "index collection "+name)
		}
	}
	_, err := db.db.Collection(docCollectionsCollection, syncOptions).UpdateOne(ctx, bson.M{"_id": name},
		bson.M{"$setOnInsert": bson.M{"since": db.clock.Now().UTC()}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return mapError(err, "register collection "+name)
	}
	if _, err := db.seqColl().UpdateOne(ctx, bson.M{"_id": counterID}, bson.M{"$inc": bson.M{"collections": int64(1)}}); err != nil {
		return mapError(err, "register collection "+name)
	}
	db.syncer.prepared.Store(name, true)
	return nil
}

// collectionList is a node's copy of the list of collections that hold synced documents,
// and the collections version (the counter document's) it is as new as.
type collectionList struct {
	names   []string
	version int64
}

// docCollectionsThrough lists the collections that may hold a synced document numbered
// up to through: the node's copy when it is new enough, else a fresh read.
//
// Why the copy is enough. A document numbered s was written after its writer raised the
// collections version (prepareCollection), and s was allocated ($inc on the counter
// document) after that raise: so any read of the counter document that shows the counter
// at s or above shows that raise too (one document; its reads are atomic). The node
// remembers the highest counter and version it has read (readSequence, in every commit and
// every advance: the watermarks this node hands out come from such reads). When through
// is at most that counter, a list read after that version was seen holds every
// collection with a document up to through; otherwise the node reads the counter document
// first.
func (db *DB) docCollectionsThrough(ctx context.Context, through int64) ([]string, error) {
	sy := db.syncer
	if through > sy.seenCounter.Load() {
		if _, err := db.readSequence(ctx); err != nil {
			return nil, err
		}
	}
	version := sy.seenVersion.Load()
	if l := sy.collections.Load(); l != nil && l.version >= version {
		return l.names, nil
	}
	names, err := db.docCollections(ctx)
	if err != nil {
		return nil, err
	}
	sy.collections.Store(&collectionList{names: names, version: version}) // a later, larger copy may be overwritten: it is read again
	return names, nil
}

// migrateOwnerIndex is migration 7 (additive): the {owner} index (see docIndexes) on the
// collections of synced documents that exist already; new ones get it when first written.
func migrateOwnerIndex(ctx context.Context, db *DB) error {
	names, err := db.docCollections(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.db.Collection(name).Indexes().CreateOne(ctx, ownerIndex); err != nil {
			return fmt.Errorf("owner index on %s: %w", name, err)
		}
	}
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
