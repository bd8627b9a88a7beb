package tideline

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFilesDirSweptAtOpenAndClear: what a crash leaves in the files directory (a copy or
// a download renamed into place by a transaction that then failed, a file whose row a
// committed transaction deleted) is removed at the next open; a temporary file another
// process may be writing is kept; Clear removes every file with the rows. No server: an
// attachment works offline.
func TestFilesDirSweptAtOpenAndClear(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "cache.db")
	open := func() *Client {
		t.Helper()
		c, err := Open(ctx, db, "http://127.0.0.1:1", Token("t"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	src := filepath.Join(dir, "photo.png")
	if err := os.WriteFile(src, []byte("png bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	ref, err := c.Attach(ctx, "todos", "t1", "photo", src, "")
	if err != nil {
		t.Fatal(err)
	}
	if ref.ContentType != "image/png" || ref.Size != 9 || ref.Pending == "" {
		t.Fatalf("the reference: %+v", ref)
	}
	copyPath, err := c.OpenFile(ctx, "todos", "t1", ref)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()

	files := db + ".files"
	orphans := []string{filepath.Join(files, "up", "0123abcd"), filepath.Join(files, "cache", "some-file-id")}
	young := filepath.Join(files, "cache", "tmp-123")
	for _, p := range append(orphans, young) {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := filepath.Join(files, "up", "tmp-old")
	if err := os.WriteFile(old, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	past := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(old, past, past); err != nil {
		t.Fatal(err)
	}

	c = open()
	defer c.Close()
	for _, p := range append(orphans, old) {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s survived the open: %v", p, err)
		}
	}
	for _, p := range []string{young, copyPath} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if q, err := c.Attachments(ctx); err != nil || len(q) != 1 || q[0].LocalID != ref.Pending {
		t.Fatalf("the queue after a reopen: %+v, %v", q, err)
	}

	if err := c.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copyPath); !os.IsNotExist(err) {
		t.Errorf("the attachment's copy survived Clear: %v", err)
	}
	if q, _ := c.Attachments(ctx); len(q) != 0 || c.Status().Uploads != 0 {
		t.Fatalf("the queue after Clear: %+v", q)
	}
	if _, err := c.OpenFile(ctx, "todos", "t1", ref); err != ErrNoFile {
		t.Fatalf("opening a cleared attachment: %v, want ErrNoFile", err)
	}
	// Bad input refused locally, before any file is copied.
	if _, err := c.Attach(ctx, "todos", "t1", "a.b", src, ""); err == nil {
		t.Error("a field name with a dot was accepted")
	}
	if _, err := c.Attach(ctx, "todos", "t1", "photo", filepath.Join(dir, "missing.png"), ""); err == nil {
		t.Error("a missing file was attached")
	}
	if _, err := c.OpenFile(ctx, "todos", "t1", FileRef{ID: "../cache.db"}); err == nil {
		t.Error("a file id that is a path was opened")
	}
}
