package mongo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

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
