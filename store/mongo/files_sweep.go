package mongo

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The files sweeper's steps on MongoDB, without transactions.
//
// References: every synced document carries the ids of the files its fields refer to in
// _sync.files, written in the same single-document write as the fields (encodeDoc), so a
// document's references are exactly its committed state; a sparse index on each collection
// of synced documents finds those that refer to a file.
//
// Deleting a file is ordered with document commits in three steps: (1) the file is hidden
// (deleting: FindFile no longer finds it, so nothing downloads it) by an update
// conditional on the mark the sweep read; (2) the references are counted again; (3) if
// one appeared the file is shown again and unmarked, otherwise its record is deleted and
// its usage lowered. A commit that ended before (1) is seen by (2); one after (1) refers
// to a file already gone (as a reference to a deleted account's file). A sweep stopped
// after (1) leaves a hidden file, which the next sweep takes up at (2). A stop between the
// record's deletion and the usage's leaves a usage too high, which SweepContent
// reconciles.
//
// Content (a GridFS file and its record in tideline_content_hashes) no file names is
// marked (orphanAt) by one sweep and removed by a later one once the mark has settled, by a
// delete conditional on the mark; a commit that finds the content clears the mark first
// (storeContent), so content a commit is about to use is never removed under it.

// The gaps in a sweep where the test hook (DB.filesHook) runs.
const (
	stepHidden        = "hidden"         // a file is hidden, its references not counted again
	stepRecordDeleted = "record deleted" // its record is deleted, its usage not lowered
	stepContentMarked = "content marked" // content is marked (or found marked), not removed
)

// fileHook runs the test hook, if any, at step: an error stops the sweep there, as a crash would.
func (db *DB) fileHook(step, id string) error {
	if db.filesHook != nil {
		return db.filesHook(step, id)
	}
	return nil
}

// migrateFileRefs is migration 13 (additive): the {_sync.files} index on the collections
// of synced documents that exist (new ones get it when first written, docIndexes), an
// index of content records by GridFS file, and the references of documents written before
// it, when there are files at all (a document whose version changed meanwhile was
// rewritten with its references).
func migrateFileRefs(ctx context.Context, db *DB) error {
	if _, err := db.db.Collection(contentHashCollection).Indexes().CreateOne(ctx,
		mongo.IndexModel{Keys: bson.D{{Key: "gridfs", Value: 1}}}); err != nil {
		return err
	}
	names, err := db.docCollections(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if _, err := db.db.Collection(name).Indexes().CreateOne(ctx, filesIndex); err != nil {
			return err
		}
	}
	if err := db.db.Collection(filesCollection).FindOne(ctx, bson.D{}).Err(); errors.Is(err, mongo.ErrNoDocuments) {
		return nil
	} else if err != nil {
		return err
	}
	for _, name := range names {
		cur, err := db.docs(name).Find(ctx, bson.D{{Key: "_sync.deleted", Value: false}, {Key: "_sync.files", Value: bson.D{{Key: "$exists", Value: false}}}})
		if err != nil {
			return err
		}
		for cur.Next(ctx) {
			var r docRecord
			if err := cur.Decode(&r); err != nil {
				cur.Close(ctx)
				return err
			}
			refs := files.Refs(r.document(name).Fields)
			if len(refs) == 0 {
				continue
			}
			if _, err := db.docs(name).UpdateOne(ctx, bson.D{{Key: "_id", Value: cur.Current.Lookup("_id")}, {Key: "_sync.version", Value: r.Sync.Version}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "_sync.files", Value: refs}}}}); err != nil {
				cur.Close(ctx)
				return err
			}
		}
		err = cur.Err()
		cur.Close(ctx)
		if err != nil {
			return err
		}
	}
	return nil
}

// referenced returns which of ids some synced document refers to. (A find, not distinct:
// FerretDB v1's distinct answers are not what the driver decodes.)
func (s fileStore) referenced(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	names, err := s.db.docCollections(ctx)
	if err != nil {
		return nil, err
	}
	type refsOnly struct {
		Sync struct {
			Files []string `bson:"files"`
		} `bson:"_sync"`
	}
	for _, name := range names {
		docs, err := findAll[refsOnly](ctx, s.db.docs(name), bson.D{{Key: "_sync.files", Value: bson.D{{Key: "$in", Value: ids}}}},
			options.Find().SetProjection(bson.D{{Key: "_sync.files", Value: 1}}), "find file references")
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			for _, id := range d.Sync.Files {
				out[id] = true
			}
		}
	}
	return out, nil
}

// distinctValues returns the values of field in coll (of documents that filter matches),
// each once, in order: one indexed query per value, so a field that many documents share
// (a GridFS file's chunks, an upload's parts) costs one query, not a scan of them all.
func distinctValues[T any](ctx context.Context, coll *mongo.Collection, field string, filter bson.D, less func(a, b T) bool) ([]T, error) {
	var out []T
	for {
		f := slices.Clone(filter)
		if len(out) > 0 {
			f = append(f, bson.E{Key: field, Value: bson.D{{Key: "$gt", Value: out[len(out)-1]}}})
		}
		var doc bson.Raw
		err := coll.FindOne(ctx, bson.D{{Key: "$and", Value: bson.A{f}}}, options.FindOne().SetSort(bson.D{{Key: field, Value: 1}}).SetProjection(bson.D{{Key: field, Value: 1}})).Decode(&doc)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		var v T
		if err := doc.Lookup(field).Unmarshal(&v); err != nil {
			return nil, err
		}
		if len(out) > 0 && !less(out[len(out)-1], v) {
			return nil, errors.New("distinct values out of order")
		}
		out = append(out, v)
	}
}

func (s fileStore) ListUploads(ctx context.Context, before time.Time, after string, limit int) ([]files.Upload, error) {
	docs, err := findAll[uploadDoc](ctx, s.coll(uploadsCollection), bson.D{{Key: "createdAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}},
		{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetProjection(bson.D{{Key: "parts", Value: 0}, {Key: "hashState", Value: 0}}).SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(max(1, limit))), "list uploads")
	out := make([]files.Upload, len(docs))
	for i, d := range docs {
		out[i] = files.Upload{ID: d.ID, Owner: d.Owner, Size: d.Size, Offset: d.Offset, Name: d.Name, ContentType: d.ContentType,
			SHA256: d.SHA256, CreatedAt: d.CreatedAt.UTC()}
	}
	return out, err
}

func (s fileStore) ExpireUploads(ctx context.Context, before time.Time, limit int) (int, error) {
	type idOnly struct {
		ID string `bson:"_id"`
	}
	ups, err := findAll[idOnly](ctx, s.coll(uploadsCollection), bson.D{{Key: "createdAt", Value: bson.D{{Key: "$lt", Value: before.UTC()}}}},
		options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}).SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(max(1, limit))), "list expired uploads")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range ups {
		if err := s.DeleteUpload(ctx, u.ID); err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
			return n, err
		}
		n++
	}
	return n, nil
}

func (s fileStore) SweepFiles(ctx context.Context, after string, limit int, now, deleteBefore time.Time) (string, files.SweepResult, error) {
	var res files.SweepResult
	batch, err := findAll[fileDoc](ctx, s.coll(filesCollection), bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}},
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(max(1, limit))), "list files")
	if err != nil || len(batch) == 0 {
		return "", res, err
	}
	ids := make([]string, len(batch))
	for i, f := range batch {
		ids[i] = f.ID
	}
	refs, err := s.referenced(ctx, ids)
	if err != nil {
		return "", res, err
	}
	coll := s.coll(filesCollection)
	for _, f := range batch {
		filter := bson.D{{Key: "_id", Value: f.ID}, {Key: "unreferencedAt", Value: f.UnreferencedAt}, {Key: "deleting", Value: bson.D{{Key: "$ne", Value: true}}}}
		if f.UnreferencedAt == nil {
			filter[1].Value = bson.D{{Key: "$exists", Value: false}}
		}
		switch {
		case f.Deleting: // a sweep stopped after hiding it
			err = s.finishDelete(ctx, f, &res)
		case refs[f.ID] && f.UnreferencedAt != nil:
			_, err = coll.UpdateOne(ctx, filter, bson.D{{Key: "$unset", Value: bson.D{{Key: "unreferencedAt", Value: ""}}}})
			res.Unmarked++
		case refs[f.ID]:
		case f.UnreferencedAt == nil:
			_, err = coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "unreferencedAt", Value: now.UTC()}}}})
			res.Marked++
		case !f.UnreferencedAt.After(deleteBefore):
			var hid *mongo.UpdateResult
			hid, err = coll.UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "deleting", Value: true}}}})
			if err == nil && hid.ModifiedCount > 0 {
				if err = s.db.fileHook(stepHidden, f.ID); err == nil {
					err = s.finishDelete(ctx, f, &res)
				}
			}
		}
		if err != nil {
			return "", res, mapError(err, "sweep file")
		}
	}
	return batch[len(batch)-1].ID, res, nil
}

// finishDelete takes up a hidden file: it counts its references again, and shows it
// again if one appeared, or deletes its record and lowers its owner's usage.
func (s fileStore) finishDelete(ctx context.Context, f fileDoc, res *files.SweepResult) error {
	refs, err := s.referenced(ctx, []string{f.ID})
	if err != nil {
		return err
	}
	if refs[f.ID] {
		_, err := s.coll(filesCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: f.ID}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "deleting", Value: ""}, {Key: "unreferencedAt", Value: ""}}}})
		res.Unmarked++
		return err
	}
	del, err := s.coll(filesCollection).DeleteOne(ctx, bson.D{{Key: "_id", Value: f.ID}, {Key: "deleting", Value: true}})
	if err != nil || del.DeletedCount == 0 {
		return err
	}
	res.Deleted++
	if err := s.db.fileHook(stepRecordDeleted, f.ID); err != nil {
		return err
	}
	_, err = s.coll(fileUsageCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: f.Owner}}, s.usageChange(-f.Size))
	return err
}

// objectIDAt is a new ObjectID whose time is t, by the engine's clock: the age of a GridFS
// file the sweeper reads from its id, which a manual clock then governs in tests.
func objectIDAt(t time.Time) bson.ObjectID {
	id := bson.NewObjectID()
	ts := bson.NewObjectIDFromTimestamp(t)
	copy(id[:4], ts[:4])
	return id
}

func (s fileStore) SweepContent(ctx context.Context, now, settled time.Time) (files.SweepResult, error) {
	var res files.SweepResult
	for _, step := range []func(context.Context, time.Time, time.Time, *files.SweepResult) error{
		s.sweepHashes, s.sweepGridFS, s.sweepParts, s.reconcileUsage,
	} {
		if err := step(ctx, now, settled, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// exists reports whether coll holds a document that filter matches.
func exists(ctx context.Context, coll *mongo.Collection, filter bson.D, what string) (bool, error) {
	err := coll.FindOne(ctx, filter, options.FindOne().SetProjection(bson.D{{Key: "_id", Value: 1}})).Err()
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	return err == nil, mapError(err, what)
}

// sweepHashes marks content that no file has, unmarks content that one has again, and
// removes content marked at or before settled (its record, by a delete conditional on the
// mark, then its GridFS file).
func (s fileStore) sweepHashes(ctx context.Context, now, settled time.Time, res *files.SweepResult) error {
	hashes := s.coll(contentHashCollection)
	cur, err := hashes.Find(ctx, bson.D{})
	if err != nil {
		return mapError(err, "list content")
	}
	defer cur.Close(ctx)
	for cur.Next(ctx) {
		var h contentHashDoc
		if err := cur.Decode(&h); err != nil {
			return mapError(err, "list content")
		}
		used, err := exists(ctx, s.coll(filesCollection), bson.D{{Key: "sha256", Value: h.SHA256}}, "find files of content")
		if err != nil {
			return err
		}
		mark := bson.D{{Key: "_id", Value: h.SHA256}, {Key: "orphanAt", Value: h.OrphanAt}}
		if h.OrphanAt == nil {
			mark[1].Value = bson.D{{Key: "$exists", Value: false}}
		}
		switch {
		case used && h.OrphanAt != nil:
			_, err = hashes.UpdateOne(ctx, mark, bson.D{{Key: "$unset", Value: bson.D{{Key: "orphanAt", Value: ""}}}})
		case used:
		case h.OrphanAt == nil:
			_, err = hashes.UpdateOne(ctx, mark, bson.D{{Key: "$set", Value: bson.D{{Key: "orphanAt", Value: now.UTC()}}}})
		case !h.OrphanAt.After(settled):
			if err = s.db.fileHook(stepContentMarked, h.SHA256); err != nil {
				return err
			}
			var del *mongo.DeleteResult
			if del, err = hashes.DeleteOne(ctx, mark); err == nil && del.DeletedCount > 0 {
				if err = s.bucket().Delete(ctx, h.GridFS); errors.Is(err, mongo.ErrFileNotFound) {
					err = nil
				}
				res.Content++
			}
		}
		if err != nil {
			return mapError(err, "sweep content")
		}
	}
	return mapError(cur.Err(), "list content")
}

// sweepGridFS removes GridFS files (and chunks without a file) older than settled that no
// content record names: a commit stopped between storing content and recording it.
func (s fileStore) sweepGridFS(ctx context.Context, _, settled time.Time, res *files.SweepResult) error {
	bound := bson.D{{Key: "$lt", Value: bson.NewObjectIDFromTimestamp(settled.Add(time.Second))}}
	var ids []bson.ObjectID
	less := func(a, b bson.ObjectID) bool { return bytes.Compare(a[:], b[:]) < 0 }
	for _, c := range []struct {
		coll  *mongo.Collection
		field string
	}{{s.bucket().GetFilesCollection(), "_id"}, {s.bucket().GetChunksCollection(), "files_id"}} {
		found, err := distinctValues(ctx, c.coll, c.field, bson.D{{Key: c.field, Value: bound}}, less)
		if err != nil {
			return mapError(err, "list stored content")
		}
		ids = append(ids, found...)
	}
	seen := map[bson.ObjectID]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		named, err := exists(ctx, s.coll(contentHashCollection), bson.D{{Key: "gridfs", Value: id}}, "find content record")
		if err != nil {
			return err
		}
		if named {
			continue
		}
		if err := s.bucket().Delete(ctx, id); err != nil && !errors.Is(err, mongo.ErrFileNotFound) {
			return mapError(err, "remove stored content")
		}
		res.Content++
	}
	return nil
}

// sweepParts removes upload parts whose upload is gone (a delete stopped between the
// upload and its parts; a part written as its upload was deleted). An upload is created
// before any part of it, so a part whose upload is absent is never one of an upload to be.
func (s fileStore) sweepParts(ctx context.Context, _, _ time.Time, res *files.SweepResult) error {
	uploads, err := distinctValues(ctx, s.coll(uploadPartsCollection), "upload", bson.D{}, func(a, b string) bool { return a < b })
	if err != nil {
		return mapError(err, "list upload parts")
	}
	for _, id := range uploads {
		live, err := exists(ctx, s.coll(uploadsCollection), bson.D{{Key: "_id", Value: id}}, "find upload")
		if err != nil {
			return err
		}
		if live {
			continue
		}
		del, err := s.coll(uploadPartsCollection).DeleteMany(ctx, bson.D{{Key: "upload", Value: id}})
		if err != nil {
			return mapError(err, "remove upload parts")
		}
		res.Content += int(del.DeletedCount)
	}
	return nil
}

// reconcileUsage sets each owner's usage that has not changed since settled to the total
// of their files, by an update conditional on the usage read: a commit that reserves or
// releases meanwhile stamps it, and is left to the next sweep.
func (s fileStore) reconcileUsage(ctx context.Context, now, settled time.Time, res *files.SweepResult) error {
	type usageDoc struct {
		Owner string     `bson:"_id"`
		Bytes int64      `bson:"bytes"`
		At    *time.Time `bson:"at"`
	}
	usages, err := findAll[usageDoc](ctx, s.coll(fileUsageCollection), bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "at", Value: bson.D{{Key: "$lte", Value: settled.UTC()}}}},
		bson.D{{Key: "at", Value: bson.D{{Key: "$exists", Value: false}}}},
	}}}, options.Find(), "list usage")
	if err != nil {
		return err
	}
	for _, u := range usages {
		sizes, err := findAll[struct {
			Size int64 `bson:"size"`
		}](ctx, s.coll(filesCollection), bson.D{{Key: "owner", Value: u.Owner}}, options.Find().SetProjection(bson.D{{Key: "size", Value: 1}}), "sum usage")
		if err != nil {
			return err
		}
		var total int64
		for _, f := range sizes {
			total += f.Size
		}
		if total == u.Bytes {
			continue
		}
		filter := bson.D{{Key: "_id", Value: u.Owner}, {Key: "bytes", Value: u.Bytes}, {Key: "at", Value: u.At}}
		if u.At == nil {
			filter[2].Value = bson.D{{Key: "$exists", Value: false}}
		}
		up, err := s.coll(fileUsageCollection).UpdateOne(ctx, filter, bson.D{{Key: "$set", Value: bson.D{{Key: "bytes", Value: total}, {Key: "at", Value: now.UTC()}}}})
		if err != nil {
			return mapError(err, "reconcile usage")
		}
		res.Reconciled += int(up.ModifiedCount)
	}
	return nil
}
