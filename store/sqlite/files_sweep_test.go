package sqlite

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/store/storetest"
	"github.com/tideline-dev/tideline/sync"
)

// The conformance suite (TestConformance/FilesSweep) covers the sweeper's promises; these
// cases cover what only this engine has: bytes on disk that a crash left without a row
// (between a sweep's transaction and its blob removal, between an upload's deletion and
// its file's), and the migration that indexes the references of documents written before
// it.

func TestFilesSweepLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db := mustOpen(t, dir, migrations)
	s := db.Files().(fileStore)
	kept := storetest.CommitFile(t, s, "u1", []byte("kept"))
	live := files.Upload{ID: tideline.NewID(), Owner: "u1", Size: 10, SHA256: kept.SHA256, CreatedAt: storetest.Epoch}
	if err := s.CreateUpload(t.Context(), live); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteUpload(t.Context(), live.ID, 0, bytes.NewReader([]byte("half"))); err != nil {
		t.Fatal(err)
	}
	// What crashes leave: a blob whose file's row is gone, bytes whose upload's row is.
	orphanSum := hex.EncodeToString(bytes.Repeat([]byte{0xab}, 32))
	orphanBlob, orphanUpload := s.blobPath(orphanSum), s.uploadPath(tideline.NewID())
	for _, p := range []string{orphanBlob, orphanUpload} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("left behind"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch)
	if err != nil || res.Content != 2 {
		t.Fatalf("SweepContent = %+v, %v; want the 2 leftovers removed", res, err)
	}
	for _, p := range []string{orphanBlob, orphanUpload} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: %v, want it gone", p, err)
		}
	}
	r, err := s.OpenFile(t.Context(), kept)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, _ := io.ReadAll(r); string(got) != "kept" {
		t.Fatalf("the kept file reads %q", got)
	}
	if u, err := s.FindUpload(t.Context(), live.ID); err != nil || u.Offset != 4 {
		t.Fatalf("the live upload: %+v, %v", u, err)
	}
	if res, err := s.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch); err != nil || res.Content != 0 {
		t.Fatalf("SweepContent again = %+v, %v; want nothing", res, err)
	}
}

// TestFilesSweepBlobRemovalStopped: a sweep's transaction deleted a file, and the process
// died before removing its blob: the blob is left, unreferenced, and a content sweep
// removes it, while the content of a file that shares nothing with it stays.
func TestFilesSweepBlobRemovalStopped(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, t.TempDir(), migrations)
	s := db.Files().(fileStore)
	gone := storetest.CommitFile(t, s, "u1", []byte("gone"))
	kept := storetest.CommitFile(t, s, "u1", []byte("kept"))
	// The transaction's part of a deletion, without the removal after it.
	if _, err := db.write.ExecContext(t.Context(), `DELETE FROM files WHERE id = ?`, gone.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.blobPath(gone.SHA256)); err != nil {
		t.Fatalf("the blob should be left: %v", err)
	}
	if res, err := s.SweepContent(t.Context(), storetest.Epoch, storetest.Epoch); err != nil || res.Content != 1 {
		t.Fatalf("SweepContent = %+v, %v; want 1 blob removed", res, err)
	}
	if _, err := os.Stat(s.blobPath(gone.SHA256)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("blob: %v, want it gone", err)
	}
	if _, err := os.Stat(s.blobPath(kept.SHA256)); err != nil {
		t.Fatalf("the kept blob: %v", err)
	}
}

// TestFileRefsBackfill: migration 12 indexes the references of the documents already
// there, at any depth, and only live documents'.
func TestFileRefsBackfill(t *testing.T) {
	t.Parallel()
	db := mustOpen(t, t.TempDir(), migrations)
	f := storetest.CommitFile(t, db.Files(), "u1", []byte("x"))
	g := tideline.NewID()
	ref := func(id string) map[string]any { return map[string]any{files.RefField: id} }
	docs := []sync.Document{
		{Ref: sync.DocRef{Collection: "notes", ID: "a"}, Version: 1, Fields: map[string]any{"p": ref(f.ID)}},
		{Ref: sync.DocRef{Collection: "notes", ID: "b"}, Version: 1, Fields: map[string]any{"l": []any{1, map[string]any{"x": []any{ref(g), ref(f.ID)}}}}},
		{Ref: sync.DocRef{Collection: "notes", ID: "c"}, Version: 1, Deleted: true, Fields: map[string]any{"p": ref(g)}},
	}
	for _, d := range docs {
		d.Owner, d.Buckets, d.UpdatedAt = "u1", []string{"user:u1"}, storetest.Epoch
		if _, err := db.Sync().Commit(t.Context(), sync.Commit{Writes: []sync.Write{{Doc: d}}}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (n int) {
		if err := db.write.QueryRowContext(t.Context(), `SELECT count(*) FROM sync_doc_files`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 3 {
		t.Fatalf("%d references recorded by the commits, want 3", n)
	}
	if _, err := db.write.ExecContext(t.Context(), `DELETE FROM sync_doc_files`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(t.Context(), fileRefsSchema[len(fileRefsSchema)-1]); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 {
		t.Fatalf("%d references after the backfill, want 3 (a→f, b→g, b→f; none of the tombstone)", n)
	}
}
