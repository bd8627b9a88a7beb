package mongo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The file store on MongoDB, in the deployment's own database, so every node sees every
// upload and file with no new infrastructure:
//   - An upload in progress is a document in tideline_uploads with its offset and the ids
//     of its parts, in order; each part (at most uploadPartBytes) is a document in
//     tideline_upload_parts. A part is written first, then joined to the upload by an
//     update conditional on the offset it was written at, so of two writers racing on one
//     upload one wins and the other's part is dropped. (GridFS files are written once, in
//     one stream, so they cannot hold an upload that resumes on another node.)
//   - A finished file's content is a GridFS file in the bucket tideline_content (readable
//     with any GridFS tool, such as mongofiles), named by its SHA-256; tideline_content_hashes
//     maps each hash to its one GridFS file, so content is stored once per hash.
//   - tideline_files holds the files' records, tideline_file_usage each owner's total,
//     raised by a conditional update before a file is recorded (the quota holds under
//     concurrent commits on any number of nodes) and lowered if recording it fails.
//
// A crash between the steps of a commit leaves an unreferenced GridFS file, or a usage
// counting a file that was never recorded; the sweeper reconciles both (files_sweep.go).
const (
	uploadsCollection     = "tideline_uploads"
	uploadPartsCollection = "tideline_upload_parts"
	contentBucket         = "tideline_content"
	contentHashCollection = "tideline_content_hashes"
	filesCollection       = "tideline_files"
	fileUsageCollection   = "tideline_file_usage"
)

// uploadPartBytes is the largest part of an upload: the GridFS default chunk size.
const uploadPartBytes = 255 << 10

// migrateFiles is migration 9: the indexes of the file store (one per command, see
// docs/architecture.md on FerretDB).
func migrateFiles(ctx context.Context, db *DB) error {
	for _, ix := range []struct {
		coll string
		keys bson.D
	}{
		{uploadPartsCollection, bson.D{{Key: "upload", Value: 1}}},
		{filesCollection, bson.D{{Key: "owner", Value: 1}}},
		{filesCollection, bson.D{{Key: "sha256", Value: 1}}},
	} {
		if _, err := db.db.Collection(ix.coll).Indexes().CreateOne(ctx, mongo.IndexModel{Keys: ix.keys}); err != nil {
			return err
		}
	}
	return nil
}

// Files returns the engine's file store.
func (db *DB) Files() files.Store { return fileStore{db: db} }

type fileStore struct{ db *DB }

func (s fileStore) coll(name string) *mongo.Collection { return s.db.db.Collection(name, syncOptions) }

func (s fileStore) bucket() *mongo.GridFSBucket {
	return s.db.db.GridFSBucket(options.GridFSBucket().SetName(contentBucket))
}

type uploadDoc struct {
	ID          string    `bson:"_id"`
	Owner       string    `bson:"owner"`
	Size        int64     `bson:"size"`
	Offset      int64     `bson:"offset"`
	Parts       []string  `bson:"parts"`
	Name        string    `bson:"name"`
	ContentType string    `bson:"contentType"`
	SHA256      string    `bson:"sha256"`
	CreatedAt   time.Time `bson:"createdAt"`
	// HashState is the SHA-256 state (sha256's MarshalBinary) after the bytes of Parts,
	// set with each part, so that the commit need not read the parts for the hash. An
	// upload that holds bytes without it (written before it was kept) is hashed by reading.
	HashState []byte `bson:"hashState,omitempty"`
	// Claim is until when a request is finishing the upload (ClaimUpload).
	Claim *time.Time `bson:"claim,omitempty"`
	// Reserved says that a commit raised the owner's usage for this upload: set before the
	// usage is raised, so that a commit that stops after that step (a crash) and is
	// finished later does not count the file twice (the usage is lower than the files
	// instead if it stopped between the two, until the sweeper reconciles it).
	Reserved bool `bson:"reserved,omitempty"`
}

type fileDoc struct {
	ID          string    `bson:"_id"`
	Owner       string    `bson:"owner"`
	Name        string    `bson:"name"`
	ContentType string    `bson:"contentType"`
	Size        int64     `bson:"size"`
	SHA256      string    `bson:"sha256"`
	CreatedAt   time.Time `bson:"createdAt"`
	// UnreferencedAt is when a sweep found no document referring to the file.
	UnreferencedAt *time.Time `bson:"unreferencedAt,omitempty"`
	// Deleting hides a file the sweeper is deleting (files_sweep.go).
	Deleting bool `bson:"deleting,omitempty"`
}

type contentHashDoc struct {
	SHA256 string        `bson:"_id"`
	GridFS bson.ObjectID `bson:"gridfs"`
	Size   int64         `bson:"size"`
	// OrphanAt is when a sweep found no file with this content; a commit that finds the
	// content clears it (storeContent), which keeps the sweeper from removing it.
	OrphanAt *time.Time `bson:"orphanAt,omitempty"`
}

func (s fileStore) CreateUpload(ctx context.Context, u files.Upload) error {
	_, err := s.coll(uploadsCollection).InsertOne(ctx, uploadDoc{ID: u.ID, Owner: u.Owner, Size: u.Size, Parts: []string{},
		Name: u.Name, ContentType: u.ContentType, SHA256: u.SHA256, CreatedAt: u.CreatedAt.UTC()})
	return mapError(err, "create upload")
}

func (s fileStore) findUpload(ctx context.Context, id string) (uploadDoc, error) {
	var d uploadDoc
	err := s.coll(uploadsCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	return d, mapError(err, "find upload")
}

func (s fileStore) FindUpload(ctx context.Context, id string) (files.Upload, error) {
	d, err := s.findUpload(ctx, id)
	if err != nil {
		return files.Upload{}, err
	}
	return files.Upload{ID: d.ID, Owner: d.Owner, Size: d.Size, Offset: d.Offset, Name: d.Name, ContentType: d.ContentType,
		SHA256: d.SHA256, CreatedAt: d.CreatedAt.UTC()}, nil
}

func (s fileStore) WriteUpload(ctx context.Context, id string, offset int64, r io.Reader) (int64, error) {
	d, err := s.findUpload(ctx, id)
	if err != nil {
		return 0, err
	}
	if d.Offset != offset {
		return 0, tideline.Errorf(tideline.CodeConflict, "The upload is at offset %d, not %d.", d.Offset, offset)
	}
	// The running hash goes on from the upload's state, whichever node wrote before.
	var h hash.Hash
	if offset == 0 || d.HashState != nil {
		h = sha256.New()
		if offset > 0 {
			if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(d.HashState); err != nil {
				return 0, tideline.Wrap(err, tideline.CodeInternal, "")
			}
		}
	}
	buf := make([]byte, uploadPartBytes)
	var written int64
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			if err := s.appendPart(ctx, id, offset+written, buf[:n], h); err != nil {
				return written, err
			}
			written += int64(n)
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}

// appendPart writes one part and joins it to the upload if the upload is still at offset;
// h, when not nil, is the hash of the bytes before it, whose state after it is stored in
// the same update.
func (s fileStore) appendPart(ctx context.Context, id string, offset int64, data []byte, h hash.Hash) error {
	partID := id + "/" + tideline.NewID()
	parts := s.coll(uploadPartsCollection)
	if _, err := parts.InsertOne(ctx, bson.D{{Key: "_id", Value: partID}, {Key: "upload", Value: id}, {Key: "data", Value: data}}); err != nil {
		return mapError(err, "write upload part")
	}
	set := bson.D{{Key: "offset", Value: offset + int64(len(data))}}
	if h != nil {
		h.Write(data)
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return tideline.Wrap(err, tideline.CodeInternal, "")
		}
		set = append(set, bson.E{Key: "hashState", Value: state})
	}
	res, err := s.coll(uploadsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "offset", Value: offset}},
		bson.D{{Key: "$set", Value: set}, {Key: "$push", Value: bson.D{{Key: "parts", Value: partID}}}})
	if err == nil && res.MatchedCount == 0 {
		err = tideline.Errorf(tideline.CodeConflict, "Another request wrote to this upload meanwhile.")
		if _, ferr := s.findUpload(ctx, id); tideline.ErrorCode(ferr) == tideline.CodeNotFound {
			err = ferr
		}
	}
	if err != nil {
		_, _ = parts.DeleteOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: partID}})
		return mapError(err, "join upload part")
	}
	return nil
}

func (s fileStore) OpenUpload(ctx context.Context, id string) (io.ReadCloser, error) {
	d, err := s.findUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	return &partsReader{ctx: ctx, coll: s.coll(uploadPartsCollection), parts: d.Parts}, nil
}

func (s fileStore) HashUpload(ctx context.Context, id string) (string, int64, error) {
	d, err := s.findUpload(ctx, id)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	switch {
	case d.HashState != nil:
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(d.HashState); err != nil {
			return "", 0, tideline.Wrap(err, tideline.CodeInternal, "")
		}
		return hex.EncodeToString(h.Sum(nil)), d.Offset, nil
	case d.Offset == 0:
		return hex.EncodeToString(h.Sum(nil)), 0, nil
	}
	// Written without the state: read it.
	n, err := io.Copy(h, &partsReader{ctx: ctx, coll: s.coll(uploadPartsCollection), parts: d.Parts})
	if err != nil {
		return "", 0, mapError(err, "hash upload")
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ClaimUpload sets the upload's claim by a conditional update, so that of the nodes
// trying at once one does.
func (s fileStore) ClaimUpload(ctx context.Context, id string, now, until time.Time) (bool, error) {
	res, err := s.coll(uploadsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "$or", Value: bson.A{
		bson.D{{Key: "claim", Value: bson.D{{Key: "$exists", Value: false}}}},
		bson.D{{Key: "claim", Value: bson.D{{Key: "$lte", Value: now.UTC()}}}},
	}}}, bson.D{{Key: "$set", Value: bson.D{{Key: "claim", Value: until.UTC()}}}})
	if err != nil {
		return false, mapError(err, "claim upload")
	}
	if res.MatchedCount == 0 {
		_, err := s.findUpload(ctx, id)
		return false, err
	}
	return true, nil
}

func (s fileStore) ReleaseUpload(ctx context.Context, id string, until time.Time) error {
	_, err := s.coll(uploadsCollection).UpdateOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "claim", Value: until.UTC()}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "claim", Value: ""}}}})
	return mapError(err, "release upload")
}

// partsReader reads an upload's parts in order, one part in memory at a time.
type partsReader struct {
	ctx   context.Context
	coll  *mongo.Collection
	parts []string
	cur   *bytes.Reader
}

func (p *partsReader) Read(b []byte) (int, error) {
	for p.cur == nil || p.cur.Len() == 0 {
		if len(p.parts) == 0 {
			return 0, io.EOF
		}
		var part struct {
			Data []byte `bson:"data"`
		}
		if err := p.coll.FindOne(p.ctx, bson.D{{Key: "_id", Value: p.parts[0]}}).Decode(&part); err != nil {
			return 0, mapError(err, "read upload part")
		}
		p.parts, p.cur = p.parts[1:], bytes.NewReader(part.Data)
	}
	return p.cur.Read(b)
}

func (p *partsReader) Close() error { return nil }

func (s fileStore) DeleteUpload(ctx context.Context, id string) error {
	res, err := s.coll(uploadsCollection).DeleteOne(ctx, bson.D{{Key: "_id", Value: id}})
	if err != nil {
		return mapError(err, "delete upload")
	}
	if res.DeletedCount == 0 {
		return tideline.Errorf(tideline.CodeNotFound, "Not found.")
	}
	// A large upload's parts take longer to delete than one operation may (the timeout
	// applies to the one DeleteMany); what a failure leaves, the sweeper removes.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), partsDeleteTimeout)
	defer cancel()
	_, err = s.coll(uploadPartsCollection).DeleteMany(pctx, bson.D{{Key: "upload", Value: id}})
	return mapError(err, "delete upload parts")
}

// partsDeleteTimeout bounds the deletion of an upload's parts (up to maxFileBytes of them).
const partsDeleteTimeout = 10 * time.Minute

func (s fileStore) CommitUpload(ctx context.Context, f files.File, quota int64) error {
	d, err := s.findUpload(ctx, f.ID)
	if err != nil {
		return err
	}
	uploads := s.coll(uploadsCollection)
	setReserved := func(ctx context.Context, on bool) error {
		_, err := uploads.UpdateOne(ctx, bson.D{{Key: "_id", Value: f.ID}}, bson.D{{Key: "$set", Value: bson.D{{Key: "reserved", Value: on}}}})
		return mapError(err, "mark upload reserved")
	}
	if !d.Reserved { // else a commit that stopped raised the usage already
		if err := setReserved(ctx, true); err != nil {
			return err
		}
		if err := s.reserve(ctx, f.Owner, f.Size, quota); err != nil {
			return errors.Join(err, setReserved(context.WithoutCancel(ctx), false))
		}
	}
	err = s.storeContent(ctx, f)
	if err == nil {
		_, err = s.coll(filesCollection).InsertOne(ctx, fileDoc{ID: f.ID, Owner: f.Owner, Name: f.Name, ContentType: f.ContentType,
			Size: f.Size, SHA256: f.SHA256, CreatedAt: f.CreatedAt.UTC()})
		err = mapError(err, "record file")
	}
	if err != nil {
		_, uerr := s.coll(fileUsageCollection).UpdateOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: f.Owner}}, s.usageChange(-f.Size))
		return errors.Join(err, mapError(uerr, "release file usage"), setReserved(context.WithoutCancel(ctx), false))
	}
	// The file is recorded: the upload's parts are no longer needed. A failure to delete
	// them is not the commit's (the client would upload again for nothing): the sweeper
	// removes parts whose upload is gone.
	if err := s.DeleteUpload(ctx, f.ID); err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
		if s.db.log != nil {
			s.db.log.WarnContext(ctx, "delete a committed upload", "upload_id", f.ID, "error", err)
		}
	}
	return nil
}

// usageChange adds delta to a usage and stamps it (at), which keeps the sweeper from
// reconciling a usage that a commit under way has just changed.
func (s fileStore) usageChange(delta int64) bson.D {
	return bson.D{{Key: "$inc", Value: bson.D{{Key: "bytes", Value: delta}}}, {Key: "$set", Value: bson.D{{Key: "at", Value: s.db.clock.Now().UTC()}}}}
}

// reserve adds size to the owner's usage, only if it stays within quota (> 0).
func (s fileStore) reserve(ctx context.Context, owner string, size, quota int64) error {
	overQuota := tideline.Errorf(tideline.CodeTooLarge, "The file does not fit in the owner's quota.")
	filter := bson.D{{Key: "_id", Value: owner}}
	if quota > 0 {
		if size > quota {
			return overQuota
		}
		filter = append(filter, bson.E{Key: "bytes", Value: bson.D{{Key: "$lte", Value: quota - size}}})
	}
	_, err := s.coll(fileUsageCollection).UpdateOne(ctx, filter, s.usageChange(size), options.UpdateOne().SetUpsert(true))
	if quota > 0 && mongo.IsDuplicateKeyError(err) { // the owner's usage exists and is too high
		return overQuota
	}
	return mapError(err, "reserve file usage")
}

// storeContent copies an upload into GridFS unless content with its hash is stored.
func (s fileStore) storeContent(ctx context.Context, f files.File) error {
	hashes := s.coll(contentHashCollection)
	// Found: the content stays, and its orphan mark goes, so that the sweeper, which
	// removes content only while its mark is unchanged, leaves it alone.
	res, err := hashes.UpdateOne(ctx, bson.D{{Key: "_id", Value: f.SHA256}}, bson.D{{Key: "$unset", Value: bson.D{{Key: "orphanAt", Value: ""}}}})
	if err != nil {
		return mapError(err, "find content")
	} else if res.MatchedCount > 0 {
		return nil
	}
	r, err := s.OpenUpload(ctx, f.ID)
	if err != nil {
		return err
	}
	defer r.Close()
	// The driver bounds a whole GridFS upload by the operation timeout unless its context
	// has a deadline: a large file's copy gets time in proportion to its size.
	ctx, cancel := context.WithTimeout(ctx, s.db.opTimeout+time.Duration(f.Size/contentBytesPerSecond)*time.Second)
	defer cancel()
	oid := objectIDAt(s.db.clock.Now()) // its age, by the engine's clock, is what the sweeper reads
	if err := s.bucket().UploadFromStreamWithID(ctx, oid, f.SHA256, r); err != nil {
		return mapError(err, "store content")
	}
	_, err = hashes.InsertOne(ctx, contentHashDoc{SHA256: f.SHA256, GridFS: oid, Size: f.Size})
	if mongo.IsDuplicateKeyError(err) { // stored meanwhile by another commit: keep that one
		return mapError(s.bucket().Delete(context.WithoutCancel(ctx), oid), "drop duplicate content")
	}
	return mapError(err, "record content")
}

func (s fileStore) FindFile(ctx context.Context, id string) (files.File, error) {
	var d fileDoc
	if err := s.coll(filesCollection).FindOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "deleting", Value: bson.D{{Key: "$ne", Value: true}}}}).Decode(&d); err != nil {
		return files.File{}, mapError(err, "find file")
	}
	return files.File{ID: d.ID, Owner: d.Owner, Name: d.Name, ContentType: d.ContentType, Size: d.Size, SHA256: d.SHA256, CreatedAt: d.CreatedAt.UTC()}, nil
}

func (s fileStore) OpenFile(ctx context.Context, f files.File) (io.ReadSeekCloser, error) {
	var h contentHashDoc
	if err := s.coll(contentHashCollection).FindOne(ctx, bson.D{{Key: "_id", Value: f.SHA256}}).Decode(&h); err != nil {
		return nil, mapError(err, "find content")
	}
	return &gridfsReader{ctx: ctx, bucket: s.bucket(), id: h.GridFS, size: h.Size}, nil
}

// contentBytesPerSecond is the slowest copy of content into GridFS that a commit waits
// for; streamLifetime bounds a download's GridFS stream (the request's context ends it
// sooner when the client goes).
const (
	contentBytesPerSecond = 256 << 10
	streamLifetime        = 6 * time.Hour
)

// gridfsReader reads a GridFS file from any position: a seek reopens the download stream
// and skips to the position (GridFS skips whole chunks without reading them).
type gridfsReader struct {
	ctx    context.Context
	bucket *mongo.GridFSBucket
	id     bson.ObjectID
	size   int64
	pos    int64
	stream *mongo.GridFSDownloadStream
	cancel context.CancelFunc // the stream's context's
}

func (g *gridfsReader) Read(b []byte) (int, error) {
	if g.pos >= g.size {
		return 0, io.EOF
	}
	if g.stream == nil {
		// A context with a deadline of its own: without one, the driver ends the stream
		// after the operation timeout, and a download to a slow phone takes longer.
		ctx, cancel := context.WithTimeout(g.ctx, streamLifetime)
		st, err := g.bucket.OpenDownloadStream(ctx, g.id)
		if err != nil {
			cancel()
			return 0, mapError(err, "open content")
		}
		if _, err := st.Skip(g.pos); err != nil {
			_ = st.Close()
			cancel()
			return 0, mapError(err, "seek content")
		}
		g.stream, g.cancel = st, cancel
	}
	n, err := g.stream.Read(b)
	g.pos += int64(n)
	return n, err
}

func (g *gridfsReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		offset += g.pos
	case io.SeekEnd:
		offset += g.size
	}
	if offset < 0 {
		return 0, errors.New("seek before the start")
	}
	if offset != g.pos && g.stream != nil {
		_ = g.stream.Close()
		g.cancel()
		g.stream = nil
	}
	g.pos = offset
	return offset, nil
}

func (g *gridfsReader) Close() error {
	if g.stream != nil {
		defer g.cancel()
		return g.stream.Close()
	}
	return nil
}

func (s fileStore) Usage(ctx context.Context, owner string) (int64, error) {
	var u struct {
		Bytes int64 `bson:"bytes"`
	}
	err := s.coll(fileUsageCollection).FindOne(ctx, bson.D{{Key: "_id", Value: owner}}).Decode(&u)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return 0, nil
	}
	return u.Bytes, mapError(err, "file usage")
}

// DeleteOwner deletes the owner's uploads (with their parts), files and usage. Content is
// left in GridFS: another node may be committing a file with the same hash at this moment,
// having found the content present; the sweeper removes content no file refers to.
func (s fileStore) DeleteOwner(ctx context.Context, owner string) error {
	type idOnly struct {
		ID string `bson:"_id"`
	}
	ups, err := findAll[idOnly](ctx, s.coll(uploadsCollection), bson.D{{Key: "owner", Value: owner}}, options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}), "list owner's uploads")
	if err != nil {
		return err
	}
	for _, u := range ups {
		if err := s.DeleteUpload(ctx, u.ID); err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
			return err
		}
	}
	if _, err := s.coll(filesCollection).DeleteMany(ctx, bson.D{{Key: "owner", Value: owner}}); err != nil {
		return mapError(err, "delete owner's files")
	}
	_, err = s.coll(fileUsageCollection).DeleteOne(ctx, bson.D{{Key: "_id", Value: owner}})
	return mapError(err, "delete owner's usage")
}
