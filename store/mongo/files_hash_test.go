package mongo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The conformance suite (TestConformance/Files/HashUpload) checks HashUpload's answers;
// these cases check how this engine gets them: from the state kept with the upload,
// without reading its parts, and by reading the parts of an upload written before the
// state was kept.

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestHashUploadFromTheKeptState(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	data := bytes.Repeat([]byte("state "), 100_000) // three parts
	u := storetest.NewUpload("u1", data)
	if err := fs.CreateUpload(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// Without its parts the upload can only be hashed from its state.
	if _, err := db.db.Collection(uploadPartsCollection).DeleteMany(t.Context(), bson.D{{Key: "upload", Value: u.ID}}); err != nil {
		t.Fatal(err)
	}
	if sum, n, err := fs.HashUpload(t.Context(), u.ID); err != nil || n != int64(len(data)) || sum != hexSum(data) {
		t.Fatalf("HashUpload = %s, %d, %v; want the hash of the state", sum, n, err)
	}
}

func TestHashUploadWithoutState(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	data := bytes.Repeat([]byte("older "), 100_000)
	u := storetest.NewUpload("u1", data)
	if err := fs.CreateUpload(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data[:300_000])); err != nil {
		t.Fatal(err)
	}
	// As an upload written by a version that kept no state.
	if _, err := db.db.Collection(uploadsCollection).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: u.ID}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "hashState", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	// The rest is written without a state (there is none to go on from), and the hash is
	// read from the parts.
	if _, err := fs.WriteUpload(t.Context(), u.ID, 300_000, bytes.NewReader(data[300_000:])); err != nil {
		t.Fatal(err)
	}
	d, err := fs.(fileStore).findUpload(t.Context(), u.ID)
	if err != nil || d.HashState != nil {
		t.Fatalf("upload %v, state %x: want no state", err, d.HashState)
	}
	if sum, n, err := fs.HashUpload(t.Context(), u.ID); err != nil || n != int64(len(data)) || sum != hexSum(data) {
		t.Fatalf("HashUpload = %s, %d, %v; want %s", sum, n, err, hexSum(data))
	}
}

// TestFinishAfterACrashBetweenRecordAndCleanup: a commit that recorded the file (usage
// raised, content stored) and stopped before it deleted the upload leaves both; finishing
// the upload then gives the file, deletes the upload and charges nothing more (it used to
// be a duplicate record, refused as a conflict at every try until the upload expired).
func TestFinishAfterACrashBetweenRecordAndCleanup(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	data := bytes.Repeat([]byte("recorded "), 50_000)
	u := storetest.NewUpload("u1", data)
	if err := fs.CreateUpload(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// The commit's steps up to the file's record, as CommitUpload takes them.
	f := files.File{ID: u.ID, Owner: u.Owner, Name: u.Name, ContentType: u.ContentType, Size: u.Size, SHA256: u.SHA256, CreatedAt: storetest.Epoch}
	store := fs.(fileStore)
	if err := store.reserve(t.Context(), f.Owner, f.Size, 0); err != nil {
		t.Fatal(err)
	}
	if err := store.storeContent(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	if _, err := db.db.Collection(filesCollection).InsertOne(t.Context(), fileDoc{ID: f.ID, Owner: f.Owner, Name: f.Name,
		ContentType: f.ContentType, Size: f.Size, SHA256: f.SHA256, CreatedAt: f.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	svc := files.New(fs, files.Config{Clock: tideline.NewManualClock(storetest.Epoch)})
	got, err := svc.Finish(t.Context(), u)
	if err != nil || got.ID != u.ID || got.SHA256 != u.SHA256 {
		t.Fatalf("Finish = %+v, %v", got, err)
	}
	if _, err := fs.FindUpload(t.Context(), u.ID); tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("the upload after the finish: %v", err)
	}
	if used, err := fs.Usage(t.Context(), "u1"); err != nil || used != u.Size {
		t.Fatalf("usage %d, %v; want %d (charged once)", used, err, u.Size)
	}
	r, err := fs.OpenFile(t.Context(), got)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, data) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
}

// TestFinishAfterACrashAfterTheReservation: a commit that raised the owner's usage and
// stopped (before the content or the record) leaves the upload marked reserved; finishing
// it later does not raise the usage again, so an owner whose quota has room for the file
// once gets it (it used to be counted twice, refused as over the quota, and deleted).
func TestFinishAfterACrashAfterTheReservation(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	data := bytes.Repeat([]byte("reserved "), 50_000)
	u := storetest.NewUpload("u1", data)
	if err := fs.CreateUpload(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	// The commit's first steps, as CommitUpload takes them; then it stopped.
	if _, err := db.db.Collection(uploadsCollection).UpdateOne(t.Context(), bson.D{{Key: "_id", Value: u.ID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "reserved", Value: true}}}}); err != nil {
		t.Fatal(err)
	}
	if err := fs.(fileStore).reserve(t.Context(), u.Owner, u.Size, u.Size); err != nil {
		t.Fatal(err)
	}
	svc := files.New(fs, files.Config{QuotaBytes: u.Size, Clock: tideline.NewManualClock(storetest.Epoch)})
	if _, err := svc.Finish(t.Context(), u); err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if used, err := fs.Usage(t.Context(), "u1"); err != nil || used != u.Size {
		t.Fatalf("usage %d, %v; want %d (charged once)", used, err, u.Size)
	}
	if _, err := fs.FindFile(t.Context(), u.ID); err != nil {
		t.Fatalf("FindFile: %v", err)
	}
	// A commit refused for the quota leaves no mark: the next try checks the quota again.
	v := storetest.NewUpload("u1", []byte("one byte too many"))
	if err := fs.CreateUpload(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.WriteUpload(t.Context(), v.ID, 0, bytes.NewReader([]byte("one byte too many"))); err != nil {
		t.Fatal(err)
	}
	f := files.File{ID: v.ID, Owner: v.Owner, Size: v.Size, SHA256: v.SHA256, CreatedAt: storetest.Epoch}
	if err := fs.CommitUpload(t.Context(), f, u.Size); tideline.ErrorCode(err) != tideline.CodeTooLarge {
		t.Fatalf("CommitUpload over the quota: %v", err)
	}
	if d, err := fs.(fileStore).findUpload(t.Context(), v.ID); err != nil || d.Reserved {
		t.Fatalf("the refused upload: reserved %v, %v", d.Reserved, err)
	}
}
