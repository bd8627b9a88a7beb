package mongo

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// What the admin console reads of sync (sync.BrowseStore).
//
// clientHealthCollection holds, per user and client id, {_id: {u, c}, userId, clientId,
// sdk, protocol, lastPush, lastPull, seen}: the times in Unix ms (0: never), seen the
// later of the two, which the quiet clients are found by. Its indexes: {userId, seen} (a
// user's clients) and {seen} (the quiet ones).
const clientHealthCollection = "tideline_sync_client_health"

// nodesCollection holds, per node, {_id: node, streams, at}: the streams it held at its
// last report (at in Unix ms). A handful of documents: no index but _id.
const nodesCollection = "tideline_sync_nodes"

var clientHealthIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "userId", Value: 1}, {Key: "seen", Value: -1}}},
	{Keys: bson.D{{Key: "seen", Value: 1}}},
}

// migrateClientHealth is migration 8 (additive): the indexes of clientHealthCollection,
// one command each.
func migrateClientHealth(ctx context.Context, db *DB) error {
	for _, ix := range clientHealthIndexes {
		if _, err := db.db.Collection(clientHealthCollection).Indexes().CreateOne(ctx, ix); err != nil {
			return fmt.Errorf("index %v on %s: %w", ix.Keys, clientHealthCollection, err)
		}
	}
	return nil
}

// stored is the filter of what is a document to readers: not a placeholder (version 0).
var stored = bson.M{"$gt": 0}

// CountDocuments counts each collection that has held synced documents, leaving out those
// that hold none now. (Each count reads the collection: issue 17 keeps counters.)
func (s syncStore) CountDocuments(ctx context.Context) ([]sync.DocumentCount, error) {
	names, err := s.db.docCollections(ctx)
	if err != nil {
		return nil, err
	}
	var out []sync.DocumentCount
	for _, name := range names {
		n := sync.DocumentCount{Collection: name}
		for deleted, count := range map[bool]*int64{false: &n.Live, true: &n.Deleted} {
			if *count, err = s.db.docs(name).CountDocuments(ctx, bson.M{"_sync.version": stored, "_sync.deleted": deleted}); err != nil {
				return nil, mapError(err, "count documents")
			}
		}
		if n.Live+n.Deleted > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// summaryRecord is the part of a stored document that a list shows.
type summaryRecord struct {
	Sync struct {
		Scope     string    `bson:"scope"`
		DocID     string    `bson:"docId"`
		Owner     string    `bson:"owner"`
		Version   int64     `bson:"version"`
		Seq       int64     `bson:"seq"`
		Deleted   bool      `bson:"deleted"`
		UpdatedAt time.Time `bson:"updatedAt"`
	} `bson:"_sync"`
}

var summaryProjection = bson.D{
	{Key: "_sync.scope", Value: 1}, {Key: "_sync.docId", Value: 1}, {Key: "_sync.owner", Value: 1}, {Key: "_sync.version", Value: 1},
	{Key: "_sync.seq", Value: 1}, {Key: "_sync.deleted", Value: 1}, {Key: "_sync.updatedAt", Value: 1},
}

// ListDocuments queries each collection it names ({_sync.seq} index, newest first) for the
// summaries alone, and merges.
func (s syncStore) ListDocuments(ctx context.Context, q sync.DocumentQuery) ([]sync.DocumentSummary, error) {
	names := []string{q.Collection}
	if q.Collection == "" {
		var err error
		if names, err = s.db.docCollections(ctx); err != nil {
			return nil, err
		}
	}
	filter := bson.M{"_sync.version": stored}
	switch q.State {
	case sync.LiveDocs:
		filter["_sync.deleted"] = false
	case sync.DeletedDocs:
		filter["_sync.deleted"] = true
	}
	if q.Owner != "" {
		filter["_sync.owner"] = q.Owner
	}
	if q.IDPrefix != "" {
		filter["_sync.docId"] = bson.M{"$regex": "^" + regexp.QuoteMeta(q.IDPrefix)}
	}
	if q.Before > 0 {
		filter["_sync.seq"] = bson.M{"$lt": q.Before}
	}
	limit := max(1, q.Limit)
	opts := options.Find().SetSort(bson.D{{Key: "_sync.seq", Value: -1}}).SetLimit(int64(limit)).SetProjection(summaryProjection)
	var out []sync.DocumentSummary
	for _, name := range names {
		recs, err := findAll[summaryRecord](ctx, s.db.docs(name), filter, opts, "list documents")
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, sync.DocumentSummary{Ref: sync.DocRef{Collection: name, Scope: r.Sync.Scope, ID: r.Sync.DocID},
				Owner: r.Sync.Owner, Version: r.Sync.Version, Seq: r.Sync.Seq, Deleted: r.Sync.Deleted, UpdatedAt: r.Sync.UpdatedAt.UTC()})
		}
	}
	slices.SortFunc(out, func(a, b sync.DocumentSummary) int { return cmp.Compare(b.Seq, a.Seq) })
	return out[:min(len(out), limit)], nil
}

type clientKey struct {
	User   string `bson:"u"`
	Client string `bson:"c"`
}

type clientHealthRecord struct {
	UserID   string `bson:"userId"`
	ClientID string `bson:"clientId"`
	SDK      string `bson:"sdk,omitempty"`
	Protocol int    `bson:"protocol,omitempty"`
	LastPush int64  `bson:"lastPush"`
	LastPull int64  `bson:"lastPull"`
}

// RecordClient upserts the record with $max on the times; a record it inserted may put
// the user past sync.MaxClientsPerUser, and then the least recently seen go. (Two nodes
// inserting at once may both keep theirs for a moment; the next insert trims again.)
func (s syncStore) RecordClient(ctx context.Context, a sync.ClientActivity) error {
	push, pull := unixMillis(a.LastPush), unixMillis(a.LastPull)
	update := bson.M{
		"$setOnInsert": bson.M{"userId": a.UserID, "clientId": a.ClientID},
		"$max":         bson.M{"lastPush": push, "lastPull": pull, "seen": max(push, pull)},
	}
	set := bson.M{}
	if a.SDK != "" {
		set["sdk"] = a.SDK
	}
	if a.Protocol != 0 {
		set["protocol"] = a.Protocol
	}
	if len(set) > 0 {
		update["$set"] = set
	}
	c := s.db.docs(clientHealthCollection)
	var res *mongo.UpdateResult
	var err error
	for range 2 { // two first upserts may race: the loser's retry updates
		res, err = c.UpdateOne(ctx, bson.M{"_id": clientKey{a.UserID, a.ClientID}}, update, options.UpdateOne().SetUpsert(true))
		if !mongo.IsDuplicateKeyError(err) {
			break
		}
	}
	if err != nil || res.UpsertedCount == 0 {
		return mapError(err, "record client")
	}
	n, err := c.CountDocuments(ctx, bson.M{"userId": a.UserID})
	if err != nil || n <= sync.MaxClientsPerUser {
		return mapError(err, "record client")
	}
	type keyOnly struct {
		ID clientKey `bson:"_id"`
	}
	oldest, err := findAll[keyOnly](ctx, c, bson.M{"userId": a.UserID},
		options.Find().SetSort(bson.D{{Key: "seen", Value: 1}, {Key: "clientId", Value: -1}}).SetLimit(n-sync.MaxClientsPerUser).SetProjection(bson.M{"_id": 1}), "record client")
	if err != nil {
		return err
	}
	ids := make([]clientKey, len(oldest))
	for i, o := range oldest {
		ids[i] = o.ID
	}
	_, err = c.DeleteMany(ctx, bson.M{"_id": bson.M{"$in": ids}})
	return mapError(err, "record client")
}

// unixMillis is t in Unix ms, and 0 for the zero time (never).
func unixMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnixMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func (s syncStore) ListClients(ctx context.Context, userID string) ([]sync.ClientActivity, error) {
	recs, err := findAll[clientHealthRecord](ctx, s.db.docs(clientHealthCollection), bson.M{"userId": userID},
		options.Find().SetSort(bson.D{{Key: "seen", Value: -1}, {Key: "clientId", Value: 1}}), "list clients")
	if err != nil {
		return nil, err
	}
	return s.withMarks(ctx, recs)
}

func (s syncStore) ListQuietClients(ctx context.Context, before time.Time, limit int) ([]sync.ClientActivity, int, error) {
	c := s.db.docs(clientHealthCollection)
	filter := bson.M{"seen": bson.M{"$lt": before.UnixMilli()}}
	n, err := c.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, mapError(err, "count quiet clients")
	}
	recs, err := findAll[clientHealthRecord](ctx, c, filter, options.Find().SetLimit(int64(max(1, limit))).
		SetSort(bson.D{{Key: "seen", Value: -1}, {Key: "userId", Value: 1}, {Key: "clientId", Value: 1}}), "list quiet clients")
	if err != nil {
		return nil, 0, err
	}
	list, err := s.withMarks(ctx, recs)
	return list, int(n), err
}

// withMarks is recs with the High of each client's mark, when the mark is the record's
// user's.
func (s syncStore) withMarks(ctx context.Context, recs []clientHealthRecord) ([]sync.ClientActivity, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ClientID
	}
	type mark struct {
		ID     string `bson:"_id"`
		UserID string `bson:"userId"`
		High   int64  `bson:"high"`
	}
	marks, err := findAll[mark](ctx, s.db.docs(clientsCollection), bson.M{"_id": bson.M{"$in": ids}}, nil, "find client marks")
	if err != nil {
		return nil, err
	}
	high := map[clientKey]int64{}
	for _, m := range marks {
		high[clientKey{m.UserID, m.ID}] = m.High
	}
	out := make([]sync.ClientActivity, len(recs))
	for i, r := range recs {
		out[i] = sync.ClientActivity{UserID: r.UserID, ClientID: r.ClientID, SDK: r.SDK, Protocol: r.Protocol,
			LastPush: fromUnixMillis(r.LastPush), LastPull: fromUnixMillis(r.LastPull), High: high[clientKey{r.UserID, r.ClientID}]}
	}
	return out, nil
}

func (s syncStore) DeleteClients(ctx context.Context, userID string) error {
	_, err := s.db.docs(clientHealthCollection).DeleteMany(ctx, bson.M{"userId": userID})
	return mapError(err, "delete clients")
}

// RecordNode replaces the node's report unless it has a later one (a conditional upsert:
// a duplicate key means a later report is there), then forgets the nodes silent for a day.
func (s syncStore) RecordNode(ctx context.Context, n sync.NodeStreams) error {
	c := s.db.docs(nodesCollection)
	at := n.At.UnixMilli()
	_, err := c.UpdateOne(ctx, bson.M{"_id": n.Node, "at": bson.M{"$lte": at}},
		bson.M{"$set": bson.M{"streams": n.Streams, "at": at}}, options.UpdateOne().SetUpsert(true))
	if err != nil && !mongo.IsDuplicateKeyError(err) {
		return mapError(err, "record node")
	}
	_, err = c.DeleteMany(ctx, bson.M{"at": bson.M{"$lt": n.At.Add(-24 * time.Hour).UnixMilli()}})
	return mapError(err, "record node")
}

func (s syncStore) ListNodes(ctx context.Context, since time.Time) ([]sync.NodeStreams, error) {
	type rec struct {
		Node    string `bson:"_id"`
		Streams int64  `bson:"streams"`
		At      int64  `bson:"at"`
	}
	recs, err := findAll[rec](ctx, s.db.docs(nodesCollection), bson.M{"at": bson.M{"$gte": since.UnixMilli()}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}), "list nodes")
	if err != nil {
		return nil, err
	}
	out := make([]sync.NodeStreams, len(recs))
	for i, r := range recs {
		out[i] = sync.NodeStreams{Node: r.Node, Streams: r.Streams, At: time.UnixMilli(r.At).UTC()}
	}
	return out, nil
}
