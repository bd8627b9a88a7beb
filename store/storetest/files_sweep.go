package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
	"github.com/tideline-dev/tideline/sync"
)

// runFilesSweep checks the sweeper's steps (files.Store's Sweep methods) with a manual
// clock: references recorded by document commits (at any depth; removed by a patch or a
// delete), the mark and the retention, a reference that comes back, content shared by
// files and deleted accounts' content, expired uploads, and content that a commit takes
// up again after a sweep found it unused.
func runFilesSweep(t *testing.T, h Harness) {
	const retention = 30 * 24 * time.Hour
	t.Run("References", func(t *testing.T) {
		e := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch))
		fs, ss := e.Files(), e.Sync()
		shared := pattern(3000)
		a := CommitFile(t, fs, "u1", pattern(1000))
		b := CommitFile(t, fs, "u1", pattern(2000))
		c := CommitFile(t, fs, "u1", shared) // never referenced
		d := CommitFile(t, fs, "u2", shared) // the same content as c, referenced
		e1 := CommitFile(t, fs, "u2", pattern(4000))
		ref := func(id string) map[string]any { return map[string]any{files.RefField: id, "name": "x.jpg"} }
		commit(t, ss, sync.Write{Doc: newDoc("d1", 1, map[string]any{"photo": ref(a.ID)})})
		commit(t, ss, sync.Write{Doc: newDoc("d2", 1, map[string]any{"a": map[string]any{"list": []any{"x", ref(b.ID), ref(d.ID)}}})})
		// A tombstone refers to nothing, whatever a client sent; e1 is referred to by a
		// document that is then deleted.
		commit(t, ss, sync.Write{Doc: newDoc("d3", 1, map[string]any{"p": ref(e1.ID)})})
		tomb := newDoc("d3", 2, map[string]any{})
		tomb.Deleted = true
		commit(t, ss, sync.Write{Doc: tomb, BaseVersion: 1})

		t0 := Epoch.Add(time.Hour)
		res := sweepFiles(t, fs, t0, t0.Add(-retention))
		if res.Marked != 2 || res.Deleted != 0 {
			t.Fatalf("first sweep %+v, want c and e1 marked, nothing deleted", res)
		}
		// Within the retention nothing goes; meanwhile d1 drops a, and d2 is deleted.
		res = sweepFiles(t, fs, t0.Add(retention/2), t0.Add(retention/2-retention))
		if res.Deleted != 0 || res.Marked != 0 {
			t.Fatalf("sweep within the retention %+v, want nothing", res)
		}
		commit(t, ss, sync.Write{Doc: newDoc("d1", 2, map[string]any{"photo": nil, "title": "no photo"}), BaseVersion: 1})
		tomb2 := newDoc("d2", 2, map[string]any{})
		tomb2.Deleted = true
		commit(t, ss, sync.Write{Doc: tomb2, BaseVersion: 1})

		t1 := t0.Add(retention)
		res = sweepFiles(t, fs, t1, t1.Add(-retention))
		if res.Deleted != 2 || res.Marked != 3 {
			t.Fatalf("sweep after the retention %+v, want c and e1 deleted, a, b and d marked", res)
		}
		for _, f := range []files.File{c, e1} {
			_, err := fs.FindFile(t.Context(), f.ID)
			wantCode(t, err, tideline.CodeNotFound, "FindFile of a swept file")
		}
		// d shares c's content: it still reads.
		if got := readFile(t, fs, d); !bytes.Equal(got, shared) {
			t.Fatal("the content c shared with d is gone")
		}
		if used, err := fs.Usage(t.Context(), "u2"); err != nil || used != d.Size {
			t.Fatalf("u2's usage %d, %v; want %d", used, err, d.Size)
		}
		// a is referred to again (an offline device's write, say) before its retention.
		commit(t, ss, sync.Write{Doc: newDoc("d1", 3, map[string]any{"photo": ref(a.ID)}), BaseVersion: 2})
		t2 := t1.Add(retention)
		res = sweepFiles(t, fs, t2, t2.Add(-retention))
		if res.Deleted != 2 || res.Unmarked != 1 {
			t.Fatalf("second sweep after the retention %+v, want b and d deleted, a unmarked", res)
		}
		if got := readFile(t, fs, a); !bytes.Equal(got, pattern(1000)) {
			t.Fatal("a, referred to again, does not read")
		}
		// a's mark went: a later reference's removal starts a new retention.
		commit(t, ss, sync.Write{Doc: newDoc("d1", 4, map[string]any{}), BaseVersion: 3})
		t3 := t2.Add(retention)
		if res = sweepFiles(t, fs, t3, t3.Add(-retention)); res.Deleted != 0 || res.Marked != 1 {
			t.Fatalf("sweep %+v, want a marked anew, not deleted", res)
		}
		for _, u := range []string{"u1", "u2"} {
			want := map[string]int64{"u1": a.Size, "u2": 0}[u]
			if used, err := fs.Usage(t.Context(), u); err != nil || used != want {
				t.Fatalf("%s's usage %d, %v; want %d", u, used, err, want)
			}
		}
		// Leftover content (c's, shared with d, and b's) is gone after SweepContent has
		// run past the settling time: a new upload of b's bytes reads right.
		sweepContent(t, fs, t3, t3.Add(-time.Hour))
		sweepContent(t, fs, t3.Add(2*time.Hour), t3.Add(time.Hour))
		b2 := CommitFile(t, fs, "u1", pattern(2000))
		if got := readFile(t, fs, b2); !bytes.Equal(got, pattern(2000)) {
			t.Fatal("content uploaded again after its sweep does not read")
		}
	})

	t.Run("ContentTakenUpAgain", func(t *testing.T) {
		e := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch))
		fs := e.Files()
		data := pattern(700_000)
		f := CommitFile(t, fs, "alice", data)
		must(t, fs.DeleteOwner(t.Context(), "alice"), "DeleteOwner")
		t0 := Epoch.Add(time.Hour)
		sweepContent(t, fs, t0, t0.Add(-time.Hour)) // MongoDB marks the content; SQLite removed it with the owner
		// bob commits the same bytes: his commit finds the content (MongoDB) and keeps it
		// from the sweep that would have removed it.
		g := CommitFile(t, fs, "bob", data)
		sweepContent(t, fs, t0.Add(2*time.Hour), t0.Add(time.Hour))
		sweepContent(t, fs, t0.Add(4*time.Hour), t0.Add(3*time.Hour))
		if got := readFile(t, fs, g); !bytes.Equal(got, data) {
			t.Fatal("bob's file, whose content a sweep had found unused, does not read")
		}
		_, err := fs.FindFile(t.Context(), f.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindFile of a deleted owner's file")
		// bob goes too: then the content does.
		must(t, fs.DeleteOwner(t.Context(), "bob"), "DeleteOwner")
		t1 := t0.Add(10 * time.Hour)
		var removed int
		for i := range 2 {
			now := t1.Add(time.Duration(i) * 2 * time.Hour)
			removed += sweepContent(t, fs, now, now.Add(-time.Hour)).Content
		}
		if h.Engine == "mongodb" && removed != 1 {
			t.Fatalf("removed %d pieces of content, want 1 (the content alice and bob shared)", removed)
		}
	})

	t.Run("ExpireUploads", func(t *testing.T) {
		fs := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		old := newUpload("alice", pattern(500_000))
		fresh := newUpload("alice", pattern(1000))
		fresh.CreatedAt = Epoch.Add(2 * time.Hour)
		for _, u := range []files.Upload{old, fresh} {
			must(t, fs.CreateUpload(t.Context(), u), "CreateUpload")
			if _, err := fs.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(pattern(int(u.Size))[:u.Size/2])); err != nil {
				t.Fatal(err)
			}
		}
		n, err := fs.ExpireUploads(t.Context(), Epoch.Add(time.Hour), 10)
		if err != nil || n != 1 {
			t.Fatalf("ExpireUploads = %d, %v; want 1", n, err)
		}
		_, err = fs.FindUpload(t.Context(), old.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindUpload of an expired upload")
		if u, err := fs.FindUpload(t.Context(), fresh.ID); err != nil || u.Offset != fresh.Size/2 {
			t.Fatalf("the fresh upload: %+v, %v", u, err)
		}
		// A commit of the expired upload finds nothing.
		wantCode(t, fs.CommitUpload(t.Context(), fileOf(old), 0), tideline.CodeNotFound, "CommitUpload of an expired upload")
		if n, err := fs.ExpireUploads(t.Context(), Epoch.Add(time.Hour), 10); err != nil || n != 0 {
			t.Fatalf("ExpireUploads again = %d, %v; want 0", n, err)
		}
	})
}

// CommitFile uploads data as owner's file, at the store.
func CommitFile(t *testing.T, s files.Store, owner string, data []byte) files.File {
	t.Helper()
	u := newUpload(owner, data)
	must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
	if _, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data)); err != nil {
		t.Fatalf("WriteUpload: %v", err)
	}
	f := fileOf(u)
	must(t, s.CommitUpload(t.Context(), f, 0), "CommitUpload")
	return f
}

func readFile(t *testing.T, s files.Store, f files.File) []byte {
	t.Helper()
	got, err := s.FindFile(t.Context(), f.ID)
	must(t, err, "FindFile")
	r, err := s.OpenFile(t.Context(), got)
	return readAll(t, r, err)
}

// sweepFiles runs a whole pass of SweepFiles, two files at a time (so that passes span
// calls), and adds up what it did.
func sweepFiles(t *testing.T, s files.Store, now, deleteBefore time.Time) files.SweepResult {
	t.Helper()
	var total files.SweepResult
	after := ""
	for {
		last, res, err := s.SweepFiles(t.Context(), after, 2, now, deleteBefore)
		must(t, err, "SweepFiles")
		total.Add(res)
		if last == "" {
			return total
		}
		after = last
	}
}

func sweepContent(t *testing.T, s files.Store, now, settled time.Time) files.SweepResult {
	t.Helper()
	res, err := s.SweepContent(t.Context(), now, settled)
	must(t, err, "SweepContent")
	return res
}
