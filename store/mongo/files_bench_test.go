package mongo

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/tideline-dev/tideline/store/storetest"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// BenchmarkRawGridFS50MB is the baseline of the MongoDB engine's file benchmarks
// (httpapi's BenchmarkFileUpload50MB and BenchmarkFileDownload50MB, docs/benchmarks.md): 50
// MB written to and read from GridFS through the driver alone, on the same test server
// (FerretDB v1 on SQLite, one connection, unless TIDELINE_TEST_MONGODB_URI names a MongoDB).
func BenchmarkRawGridFS50MB(b *testing.B) {
	const size = 50 << 20
	uri := storetest.MongoURI(b)
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Disconnect(b.Context()) })
	bucket := c.Database(newDatabaseName(b, uri)).GridFSBucket(options.GridFSBucket().SetName("bench"))
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 31)
	}
	var last bson.ObjectID
	b.Run("upload", func(b *testing.B) {
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			copy(data, fmt.Sprintf("%016x", i))
			last = bson.NewObjectID()
			if err := bucket.UploadFromStreamWithID(b.Context(), last, "f", bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("download", func(b *testing.B) {
		if last.IsZero() {
			b.Skip("the upload did not run")
		}
		b.SetBytes(size)
		for b.Loop() {
			st, err := bucket.OpenDownloadStream(b.Context(), last)
			if err != nil {
				b.Fatal(err)
			}
			if n, err := io.Copy(io.Discard, st); err != nil || n != size {
				b.Fatal(n, err)
			}
			st.Close()
		}
	})
}
