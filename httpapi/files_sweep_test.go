package httpapi_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/app"
	"github.com/tideline-dev/tideline/files"
	datasync "github.com/tideline-dev/tideline/sync"
)

// TestSweeperWithTheApp: the sweeper as the node runs it (files.Service.Sweep, on the
// app's manual clock), on files uploaded and referred to through the API: an abandoned
// upload goes after files.uploadExpiry; a file never referred to, and one whose reference
// a patch removed, go once sync.retention has passed since a sweep found them
// unreferenced, with their content; a referred file stays.
func TestSweeperWithTheApp(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.Sync.Retention, c.Files.UploadExpiry = 48*time.Hour, 2*time.Hour })
	ada := a.signUp("ada@example.com").AccessToken
	adaID := a.userID(ada)
	upload := func(data []byte) string {
		up := a.startUpload(ada, data, "")
		if rec := a.patchUpload(ada, up, 0, data); rec.Code != 204 {
			t.Fatalf("upload: %d %s", rec.Code, rec.Body)
		}
		return fileID(up)
	}
	attached, later, never, kept := upload(content(5000, 1)), upload(content(5000, 2)), upload(content(5000, 3)), upload(content(5000, 4))
	abandoned := a.startUpload(ada, content(5000, 5), "")
	a.patchUpload(ada, abandoned, 0, content(5000, 5)[:1000])
	a.pushOK(ada, fmt.Sprintf(`{"id":1,"collection":"notes","docId":"n1","op":"put","fields":{"photo":{"_file":%q},"more":{"_file":%q}}}`, attached, later))
	a.pushOK(ada, fmt.Sprintf(`{"id":2,"collection":"notes","docId":"n2","op":"put","fields":{"photos":[{"_file":%q}]}}`, kept))
	sweep := func(want files.SweepResult) {
		t.Helper()
		got, err := a.app.Files.Sweep(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if got.Marked != want.Marked || got.Deleted != want.Deleted || got.Uploads != want.Uploads || got.Unmarked != want.Unmarked {
			t.Fatalf("sweep at %v: %+v, want %+v", a.app.Clock.Now(), got, want)
		}
	}
	sweep(files.SweepResult{Marked: 1}) // never
	a.app.Clock.Advance(3 * time.Hour)
	sweep(files.SweepResult{Uploads: 1})
	if _, err := a.app.Store.Files().FindUpload(t.Context(), fileID(abandoned)); tideline.ErrorCode(err) != tideline.CodeNotFound {
		t.Fatalf("the abandoned upload: %v", err)
	}
	// A patch (through the service: ada's access token has expired on this clock) removes
	// the reference to "later".
	receipts, err := a.app.Sync.Push(t.Context(), datasync.Caller{UserID: adaID}, "c2", []datasync.Mutation{
		{ID: 1, Collection: "notes", DocID: "n1", Op: "patch", Fields: map[string]any{"more": nil}}})
	if err != nil || receipts[0].Status != datasync.Applied {
		t.Fatalf("patch: %+v %v", receipts, err)
	}
	sweep(files.SweepResult{Marked: 1}) // later
	a.app.Clock.Advance(46 * time.Hour) // 49 h after the first sweep, 46 h after the second
	sweep(files.SweepResult{Deleted: 1})
	a.app.Clock.Advance(3 * time.Hour)
	sweep(files.SweepResult{Deleted: 1})
	for id, want := range map[string]tideline.Code{never: tideline.CodeNotFound, later: tideline.CodeNotFound, attached: "", kept: ""} {
		if _, err := a.app.Store.Files().FindFile(t.Context(), id); tideline.ErrorCode(err) != want {
			t.Errorf("file %s: %v, want %q", id, err, want)
		}
	}
	for _, seed := range []byte{2, 3} {
		sum := hexSHA(content(5000, seed))
		if _, err := os.Stat(filepath.Join(a.app.Config.DataDir, "files", "blobs", sum[:2], sum)); !os.IsNotExist(err) {
			t.Errorf("the content of a swept file is still on disk: %v", err)
		}
	}
}

// TestFilesSweepLeaseIsShort: a sweep holds the files sweeper's lease for half of
// sync.sweepEvery plus a minute, as the sync sweeper does, so a node that dies holding it
// keeps the others from sweeping minutes, not an hour (it was an hour).
func TestFilesSweepLeaseIsShort(t *testing.T) {
	t.Parallel()
	a := newAPI(t, func(c *app.Config) { c.SweepEvery = 10 * time.Minute })
	if _, err := a.app.Files.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	take := func() bool {
		now := a.app.Clock.Now()
		ok, err := a.app.Store.Sync().AcquireLease(t.Context(), "files-sweep", "another node", now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	a.app.Clock.Advance(5 * time.Minute)
	if take() {
		t.Fatal("another node took the lease of a sweep 5 minutes old")
	}
	a.app.Clock.Advance(time.Minute + time.Second)
	if !take() {
		t.Fatal("the lease of a sweep 6 minutes old still holds: a dead node would stop the sweeps")
	}
}
