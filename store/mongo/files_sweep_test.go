package mongo

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/storetest"
	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// The conformance suite (TestConformance/FilesSweep) covers the sweeper's promises; these
// cases cover the gaps between this engine's steps, where a test hook stops a sweep as a
// crash of its node would, or lets a document commit land in the middle of a deletion.

func newFilesDB(t *testing.T) *DB {
	t.Helper()
	uri := storetest.MongoURI(t)
	return mustOpen(t, uri, newDatabaseName(t, uri), migrations)
}

// refDoc commits (or rewrites, at version) the document "d" of collection notes, referring
// to the files ids.
func refDoc(t *testing.T, s sync.Store, version int64, ids ...string) {
	t.Helper()
	var list []any
	for _, id := range ids {
		list = append(list, map[string]any{files.RefField: id})
	}
	d := sync.Document{Ref: sync.DocRef{Collection: "notes", ID: "d"}, Owner: "u1", Version: version,
		Fields: map[string]any{"photos": list}, Buckets: []string{"user:u1"}, UpdatedAt: storetest.Epoch}
	res, err := s.Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: d, BaseVersion: version - 1}}})
	if err != nil || res[0].Conflict {
		t.Fatalf("commit: %v %+v", err, res)
	}
}

// sweepAt runs a pass of SweepFiles at now, deleting what was marked an hour before or
// earlier.
func sweepAt(t *testing.T, s files.Store, now time.Time) (files.SweepResult, error) {
	t.Helper()
	_, res, err := s.SweepFiles(t.Context(), "", 100, now, now.Add(-time.Hour))
	return res, err
}

func TestFilesSweepReferenceDuringDelete(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	f := storetest.CommitFile(t, fs, "u1", []byte("a photo"))
	if res, err := sweepAt(t, fs, storetest.Epoch); err != nil || res.Marked != 1 {
		t.Fatalf("first sweep %+v, %v", res, err)
	}
	// The file is hidden for deletion; a document referring to it commits right then.
	db.filesHook = func(step, id string) error {
		if step == stepHidden && id == f.ID {
			if _, err := fs.FindFile(t.Context(), f.ID); tideline.ErrorCode(err) != tideline.CodeNotFound {
				t.Errorf("FindFile of a hidden file: %v, want not_found", err)
			}
			refDoc(t, db.Sync(), 1, f.ID)
		}
		return nil
	}
	res, err := sweepAt(t, fs, storetest.Epoch.Add(2*time.Hour))
	if err != nil || res.Deleted != 0 || res.Unmarked != 1 {
		t.Fatalf("sweep %+v, %v; want the file shown again, unmarked", res, err)
	}
	db.filesHook = nil
	if _, err := fs.FindFile(t.Context(), f.ID); err != nil {
		t.Fatalf("FindFile after the reference came: %v", err)
	}
	// Unmarked: the next sweep finds it referenced and leaves it.
	if res, err := sweepAt(t, fs, storetest.Epoch.Add(100*time.Hour)); err != nil || res != (files.SweepResult{}) {
		t.Fatalf("later sweep %+v, %v; want nothing done", res, err)
	}
}

func TestFilesSweepStoppedAfterHiding(t *testing.T) {
	t.Parallel()
	for _, referenced := range []bool{false, true} {
		db := newFilesDB(t)
		fs := db.Files()
		f := storetest.CommitFile(t, fs, "u1", []byte("a document"))
		if _, err := sweepAt(t, fs, storetest.Epoch); err != nil {
			t.Fatal(err)
		}
		db.filesHook = func(step, _ string) error {
			if step == stepHidden {
				return errCrash
			}
			return nil
		}
		if _, err := sweepAt(t, fs, storetest.Epoch.Add(2*time.Hour)); !errors.Is(err, errCrash) {
			t.Fatalf("sweep = %v, want the crash", err)
		}
		db.filesHook = nil
		if _, err := fs.FindFile(t.Context(), f.ID); tideline.ErrorCode(err) != tideline.CodeNotFound {
			t.Fatalf("FindFile of the hidden file: %v, want not_found", err)
		}
		if referenced { // a reference committed after the hiding: the next sweep brings it back
			refDoc(t, db.Sync(), 1, f.ID)
		}
		res, err := sweepAt(t, fs, storetest.Epoch.Add(3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		_, ferr := fs.FindFile(t.Context(), f.ID)
		used, _ := fs.Usage(t.Context(), "u1")
		switch {
		case referenced && (res.Unmarked != 1 || ferr != nil || used != f.Size):
			t.Fatalf("referenced meanwhile: sweep %+v, FindFile %v, usage %d; want it back", res, ferr, used)
		case !referenced && (res.Deleted != 1 || tideline.ErrorCode(ferr) != tideline.CodeNotFound || used != 0):
			t.Fatalf("sweep %+v, FindFile %v, usage %d; want it deleted, usage 0", res, ferr, used)
		}
	}
}

func TestFilesSweepStoppedBeforeUsage(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	f := storetest.CommitFile(t, fs, "u1", []byte("twelve bytes"))
	keep := storetest.CommitFile(t, fs, "u1", []byte("kept"))
	refDoc(t, db.Sync(), 1, keep.ID)
	if _, err := sweepAt(t, fs, storetest.Epoch); err != nil {
		t.Fatal(err)
	}
	db.filesHook = func(step, _ string) error {
		if step == stepRecordDeleted {
			return errCrash
		}
		return nil
	}
	if _, err := sweepAt(t, fs, storetest.Epoch.Add(2*time.Hour)); !errors.Is(err, errCrash) {
		t.Fatalf("sweep = %v, want the crash", err)
	}
	db.filesHook = nil
	if used, _ := fs.Usage(t.Context(), "u1"); used != f.Size+keep.Size {
		t.Fatalf("usage %d, want %d: the record went, the usage not yet", used, f.Size+keep.Size)
	}
	// The usage was last changed at Epoch (the engine's clock): a content sweep settled
	// past it reconciles it; one settled before it leaves it.
	if res, err := fs.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch.Add(-time.Minute)); err != nil || res.Reconciled != 0 {
		t.Fatalf("unsettled content sweep %+v, %v; want no reconciliation", res, err)
	}
	if res, err := fs.SweepContent(t.Context(), storetest.Epoch.Add(3*time.Hour), storetest.Epoch.Add(time.Hour)); err != nil || res.Reconciled != 1 {
		t.Fatalf("content sweep %+v, %v; want one usage reconciled", res, err)
	}
	if used, _ := fs.Usage(t.Context(), "u1"); used != keep.Size {
		t.Fatalf("usage %d after reconciling, want %d", used, keep.Size)
	}
}

func TestFilesSweepStoppedBeforeContentRemoval(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files()
	data := bytes.Repeat([]byte("content "), 100_000) // several GridFS chunks
	storetest.CommitFile(t, fs, "u1", data)
	if err := fs.DeleteOwner(t.Context(), "u1"); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch.Add(-time.Hour)); err != nil { // marks it
		t.Fatal(err)
	}
	db.filesHook = func(step, _ string) error {
		if step == stepContentMarked {
			return errCrash
		}
		return nil
	}
	if _, err := fs.SweepContent(t.Context(), storetest.Epoch.Add(2*time.Hour), storetest.Epoch.Add(time.Hour)); !errors.Is(err, errCrash) {
		t.Fatalf("content sweep = %v, want the crash", err)
	}
	db.filesHook = nil
	res, err := fs.SweepContent(t.Context(), storetest.Epoch.Add(3*time.Hour), storetest.Epoch.Add(2*time.Hour))
	if err != nil || res.Content != 1 {
		t.Fatalf("content sweep %+v, %v; want the content removed", res, err)
	}
	for _, coll := range []string{contentHashCollection, contentBucket + ".files", contentBucket + ".chunks"} {
		if n, err := db.db.Collection(coll).CountDocuments(t.Context(), bson.D{}); err != nil || n != 0 {
			t.Fatalf("%s holds %d documents, %v; want none", coll, n, err)
		}
	}
	// The same bytes again: stored anew, read right.
	g := storetest.CommitFile(t, fs, "u2", data)
	r, err := fs.OpenFile(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
}

// TestFilesSweepGridFSLeftovers: a commit that stopped after storing its GridFS file and
// before recording it, and one that stopped midway through the chunks, leave content that
// no record names: removed once settled, never before; recorded content stays.
func TestFilesSweepGridFSLeftovers(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	fs := db.Files().(fileStore)
	kept := storetest.CommitFile(t, fs, "u1", []byte("recorded"))
	whole := objectIDAt(storetest.Epoch)
	if err := fs.bucket().UploadFromStreamWithID(t.Context(), whole, "deadbeef", bytes.NewReader(bytes.Repeat([]byte("x"), 600_000))); err != nil {
		t.Fatal(err)
	}
	partial := objectIDAt(storetest.Epoch)
	if _, err := fs.bucket().GetChunksCollection().InsertOne(t.Context(), bson.D{{Key: "files_id", Value: partial}, {Key: "n", Value: 0}, {Key: "data", Value: []byte("half")}}); err != nil {
		t.Fatal(err)
	}
	if res, err := fs.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch.Add(-time.Hour)); err != nil || res.Content != 0 {
		t.Fatalf("unsettled sweep %+v, %v; want nothing removed", res, err)
	}
	res, err := fs.SweepContent(t.Context(), storetest.Epoch.Add(2*time.Hour), storetest.Epoch.Add(time.Hour))
	if err != nil || res.Content != 2 {
		t.Fatalf("settled sweep %+v, %v; want 2 leftovers removed", res, err)
	}
	ids, err := distinctValues(t.Context(), fs.bucket().GetChunksCollection(), "files_id", bson.D{},
		func(a, b bson.ObjectID) bool { return bytes.Compare(a[:], b[:]) < 0 })
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(ids, whole) || slices.Contains(ids, partial) || len(ids) != 1 {
		t.Fatalf("chunks left of %v; want only the recorded content's", ids)
	}
	r, err := fs.OpenFile(t.Context(), kept)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != "recorded" {
		t.Fatalf("recorded content reads %q", got)
	}
}

// TestFilesMigrationBackfill: migration 13 gives documents written before it their
// references.
func TestFilesMigrationBackfill(t *testing.T) {
	t.Parallel()
	db := newFilesDB(t)
	f := storetest.CommitFile(t, db.Files(), "u1", []byte("old"))
	refDoc(t, db.Sync(), 1, f.ID)
	if _, err := db.db.Collection("notes").UpdateMany(t.Context(), bson.D{}, bson.D{{Key: "$unset", Value: bson.D{{Key: "_sync.files", Value: ""}}}}); err != nil {
		t.Fatal(err)
	}
	if res, err := sweepAt(t, db.Files(), storetest.Epoch); err != nil || res.Marked != 1 {
		t.Fatalf("sweep without the references %+v, %v; want the file marked", res, err)
	}
	if err := migrateFileRefs(t.Context(), db); err != nil {
		t.Fatal(err)
	}
	if res, err := sweepAt(t, db.Files(), storetest.Epoch.Add(2*time.Hour)); err != nil || res.Unmarked != 1 || res.Deleted != 0 {
		t.Fatalf("sweep after the migration %+v, %v; want the file unmarked", res, err)
	}
}

// TestFilesSlowDownloadOutlivesTheOperationTimeout: the driver caps a GridFS stream's whole
// life with the operation timeout unless its context has a deadline; a download read more
// slowly than that (a phone on a slow network) must still finish. (The wait is a deadline
// passing, not a race: before the fix the stream failed every time.)
func TestFilesSlowDownloadOutlivesTheOperationTimeout(t *testing.T) {
	t.Parallel()
	uri := storetest.MongoURI(t)
	name := newDatabaseName(t, uri)
	// 20 MB: more chunks than the first batch of the stream's cursor holds (16 MiB), so
	// that reading on needs another round trip after the wait.
	data := bytes.Repeat([]byte("slow phone "), 2_000_000)
	f := storetest.CommitFile(t, mustOpen(t, uri, name, migrations).Files(), "u1", data)
	short, err := Open(t.Context(), Options{URI: uri, Database: name, Clock: tideline.NewManualClock(storetest.Epoch), OperationTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { short.Close() })
	r, err := short.Files().OpenFile(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // past the operation timeout
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), data) {
		t.Fatalf("the slow download: %d bytes, %v", len(head)+len(rest), err)
	}
}
