package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/files"
)

// runFiles checks the engine's files.Store: appends only at the upload's offset, bytes
// kept when the reader fails midway, a commit that keeps content once per hash and
// refuses to pass the owner's quota (also under concurrent commits), and reads with seeks.
func runFiles(t *testing.T, h Harness) {
	t.Run("UploadWriteCommitRead", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		data := pattern(600_000) // more than one chunk on MongoDB
		u := newUpload("alice", data)
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		wantCode(t, s.CreateUpload(t.Context(), u), tideline.CodeConflict, "CreateUpload with a taken id")
		got, err := s.FindUpload(t.Context(), u.ID)
		must(t, err, "FindUpload")
		if got.Offset != 0 || got.Size != u.Size || got.Owner != "alice" || got.SHA256 != u.SHA256 || got.Name != u.Name || !got.CreatedAt.Equal(Epoch) {
			t.Fatalf("FindUpload = %+v, want %+v", got, u)
		}
		n, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data[:250_000]))
		if err != nil || n != 250_000 {
			t.Fatalf("WriteUpload = %d, %v", n, err)
		}
		_, err = s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data[:10]))
		wantCode(t, err, tideline.CodeConflict, "WriteUpload at a stale offset")
		_, err = s.WriteUpload(t.Context(), u.ID, 300_000, bytes.NewReader(data[:10]))
		wantCode(t, err, tideline.CodeConflict, "WriteUpload past the offset")
		n, err = s.WriteUpload(t.Context(), u.ID, 250_000, bytes.NewReader(data[250_000:]))
		if err != nil || n != int64(len(data)-250_000) {
			t.Fatalf("WriteUpload = %d, %v", n, err)
		}
		if got, _ := s.FindUpload(t.Context(), u.ID); got.Offset != int64(len(data)) {
			t.Fatalf("offset %d, want %d", got.Offset, len(data))
		}
		if b := readUpload(t, s, u.ID); !bytes.Equal(b, data) {
			t.Fatalf("OpenUpload read %d bytes, not what was written", len(b))
		}
		f := fileOf(u)
		must(t, s.CommitUpload(t.Context(), f, 0), "CommitUpload")
		_, err = s.FindUpload(t.Context(), u.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindUpload after the commit")
		got2, err := s.FindFile(t.Context(), u.ID)
		must(t, err, "FindFile")
		if got2 != f {
			t.Fatalf("FindFile = %+v, want %+v", got2, f)
		}
		r, err := s.OpenFile(t.Context(), got2)
		must(t, err, "OpenFile")
		defer r.Close()
		if pos, err := r.Seek(123_456, io.SeekStart); err != nil || pos != 123_456 {
			t.Fatalf("Seek = %d, %v", pos, err)
		}
		part := make([]byte, 300_000)
		if _, err := io.ReadFull(r, part); err != nil || !bytes.Equal(part, data[123_456:423_456]) {
			t.Fatalf("read after a seek: %v", err)
		}
		if end, err := r.Seek(0, io.SeekEnd); err != nil || end != int64(len(data)) {
			t.Fatalf("Seek to the end = %d, %v", end, err)
		}
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if b, err := io.ReadAll(r); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("read the whole file again: %d bytes, %v", len(b), err)
		}
		if used, err := s.Usage(t.Context(), "alice"); err != nil || used != int64(len(data)) {
			t.Fatalf("Usage = %d, %v", used, err)
		}
		_, err = s.FindFile(t.Context(), tideline.NewID())
		wantCode(t, err, tideline.CodeNotFound, "FindFile of an absent file")
	})

	t.Run("ReaderFailureKeepsWhatArrived", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		data := pattern(100_000)
		u := newUpload("alice", data)
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		cut := errors.New("connection reset")
		n, err := s.WriteUpload(t.Context(), u.ID, 0, io.MultiReader(bytes.NewReader(data[:40_000]), failing{cut}))
		if !errors.Is(err, cut) || n != 40_000 {
			t.Fatalf("WriteUpload = %d, %v; want 40000 and the reader's error", n, err)
		}
		if got, _ := s.FindUpload(t.Context(), u.ID); got.Offset != 40_000 {
			t.Fatalf("offset %d after a cut, want 40000", got.Offset)
		}
		if _, err := s.WriteUpload(t.Context(), u.ID, 40_000, bytes.NewReader(data[40_000:])); err != nil {
			t.Fatal(err)
		}
		if b := readUpload(t, s, u.ID); !bytes.Equal(b, data) {
			t.Fatal("the resumed upload differs")
		}
	})

	t.Run("HashUpload", func(t *testing.T) {
		loc := h.NewLocation(t)
		e := open(t, h, loc, tideline.NewManualClock(Epoch))
		s := e.Files()
		data := pattern(700_000) // parts of several sizes on MongoDB
		u := newUpload("alice", data)
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		sum, n, err := s.HashUpload(t.Context(), u.ID)
		if empty := sha256.Sum256(nil); err != nil || n != 0 || sum != hex.EncodeToString(empty[:]) {
			t.Fatalf("HashUpload of an empty upload = %s, %d, %v", sum, n, err)
		}
		// A cut write, the rest in two writes with a restart (another node) between them.
		cut := errors.New("connection reset")
		if n, err := s.WriteUpload(t.Context(), u.ID, 0, io.MultiReader(bytes.NewReader(data[:300_001]), failing{cut})); n != 300_001 || !errors.Is(err, cut) {
			t.Fatalf("WriteUpload = %d, %v", n, err)
		}
		if sum, n, err := s.HashUpload(t.Context(), u.ID); err != nil || n != 300_001 || sum != hexSum(data[:300_001]) {
			t.Fatalf("HashUpload of the first 300001 bytes = %s, %d, %v", sum, n, err)
		}
		_, err = s.WriteUpload(t.Context(), u.ID, 300_001, bytes.NewReader(data[300_001:500_000]))
		must(t, err, "WriteUpload")
		must(t, e.Close(), "Close")
		s = open(t, h, loc, tideline.NewManualClock(Epoch)).Files()
		_, err = s.WriteUpload(t.Context(), u.ID, 500_000, bytes.NewReader(data[500_000:]))
		must(t, err, "WriteUpload after a restart")
		if sum, n, err := s.HashUpload(t.Context(), u.ID); err != nil || n != int64(len(data)) || sum != u.SHA256 {
			t.Fatalf("HashUpload = %s, %d, %v; want %s, %d", sum, n, err, u.SHA256, len(data))
		}
		_, _, err = s.HashUpload(t.Context(), tideline.NewID())
		wantCode(t, err, tideline.CodeNotFound, "HashUpload of an absent upload")
	})

	t.Run("ClaimUpload", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		u := newUpload("alice", pattern(10))
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		claim := func(now, until time.Time) bool {
			t.Helper()
			ok, err := s.ClaimUpload(t.Context(), u.ID, now, until)
			must(t, err, "ClaimUpload")
			return ok
		}
		first := Epoch.Add(time.Minute)
		if !claim(Epoch, first) {
			t.Fatal("the first claim failed")
		}
		if claim(Epoch.Add(time.Second), Epoch.Add(2*time.Minute)) {
			t.Fatal("a second claim succeeded while the first runs")
		}
		// The first claimer stopped without releasing (a crash): its claim runs out.
		second := Epoch.Add(3 * time.Minute)
		if !claim(first, second) {
			t.Fatal("a claim that ran out was not taken over")
		}
		must(t, s.ReleaseUpload(t.Context(), u.ID, first), "ReleaseUpload of the claim taken over")
		if claim(first.Add(time.Second), Epoch.Add(4*time.Minute)) {
			t.Fatal("the first claimer's release ended the second's claim")
		}
		must(t, s.ReleaseUpload(t.Context(), u.ID, second), "ReleaseUpload")
		if !claim(first.Add(time.Second), Epoch.Add(4*time.Minute)) {
			t.Fatal("no claim after the release")
		}
		must(t, s.DeleteUpload(t.Context(), u.ID), "DeleteUpload")
		_, err := s.ClaimUpload(t.Context(), u.ID, Epoch, first)
		wantCode(t, err, tideline.CodeNotFound, "ClaimUpload of a deleted upload")
		must(t, s.ReleaseUpload(t.Context(), u.ID, Epoch.Add(4*time.Minute)), "ReleaseUpload of a deleted upload")
		_, err = s.ClaimUpload(t.Context(), tideline.NewID(), Epoch, first)
		wantCode(t, err, tideline.CodeNotFound, "ClaimUpload of an absent upload")
	})

	t.Run("ListUploads", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		var us []files.Upload
		for i := range 4 {
			u := newUpload("alice", pattern(100+i))
			u.CreatedAt = Epoch.Add(time.Duration(i) * time.Hour)
			must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
			_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(pattern(100 + i)[:10*i]))
			must(t, err, "WriteUpload")
			us = append(us, u)
		}
		// Ids are made in time order: the list's order is the creation's.
		before := Epoch.Add(150 * time.Minute) // the first three
		got, err := s.ListUploads(t.Context(), before, "", 2)
		must(t, err, "ListUploads")
		if len(got) != 2 || got[0].ID != us[0].ID || got[1].ID != us[1].ID || got[1].Offset != 10 || got[1].Size != 101 ||
			got[1].SHA256 != us[1].SHA256 || got[1].Owner != "alice" || !got[1].CreatedAt.Equal(us[1].CreatedAt) {
			t.Fatalf("ListUploads, first page = %+v", got)
		}
		got, err = s.ListUploads(t.Context(), before, got[1].ID, 2)
		must(t, err, "ListUploads")
		if len(got) != 1 || got[0].ID != us[2].ID || got[0].Offset != 20 {
			t.Fatalf("ListUploads, second page = %+v", got)
		}
		if got, err := s.ListUploads(t.Context(), before, us[2].ID, 2); err != nil || len(got) != 0 {
			t.Fatalf("ListUploads past the end = %+v, %v", got, err)
		}
	})

	t.Run("DeleteUpload", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		data := pattern(1000)
		u := newUpload("alice", data)
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data[:500]))
		must(t, err, "WriteUpload")
		must(t, s.DeleteUpload(t.Context(), u.ID), "DeleteUpload")
		wantCode(t, s.DeleteUpload(t.Context(), u.ID), tideline.CodeNotFound, "DeleteUpload again")
		_, err = s.FindUpload(t.Context(), u.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindUpload after DeleteUpload")
		_, err = s.OpenUpload(t.Context(), u.ID)
		wantCode(t, err, tideline.CodeNotFound, "OpenUpload after DeleteUpload")
		_, err = s.WriteUpload(t.Context(), u.ID, 500, bytes.NewReader(data[500:]))
		wantCode(t, err, tideline.CodeNotFound, "WriteUpload after DeleteUpload")
		wantCode(t, s.CommitUpload(t.Context(), fileOf(u), 0), tideline.CodeNotFound, "CommitUpload after DeleteUpload")
	})

	t.Run("SameContentStoredOnce", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		data := pattern(70_000)
		var fs []files.File
		for _, owner := range []string{"alice", "bob", "alice"} {
			u := newUpload(owner, data)
			must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
			_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data))
			must(t, err, "WriteUpload")
			must(t, s.CommitUpload(t.Context(), fileOf(u), 0), "CommitUpload")
			fs = append(fs, fileOf(u))
		}
		for _, f := range fs {
			r, err := s.OpenFile(t.Context(), f)
			must(t, err, "OpenFile")
			if b := readAll(t, r, err); !bytes.Equal(b, data) {
				t.Fatalf("file %s differs", f.ID)
			}
		}
		// Each file counts against its owner, whoever else holds the same bytes.
		if used, _ := s.Usage(t.Context(), "alice"); used != 2*int64(len(data)) {
			t.Fatalf("alice uses %d, want %d", used, 2*len(data))
		}
		if used, _ := s.Usage(t.Context(), "bob"); used != int64(len(data)) {
			t.Fatalf("bob uses %d", used)
		}
	})

	t.Run("EmptyFile", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		u := newUpload("alice", nil)
		must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
		if b := readUpload(t, s, u.ID); len(b) != 0 {
			t.Fatalf("an empty upload reads %d bytes", len(b))
		}
		must(t, s.CommitUpload(t.Context(), fileOf(u), 0), "CommitUpload")
		r, err := s.OpenFile(t.Context(), fileOf(u))
		if b := readAll(t, r, err); len(b) != 0 {
			t.Fatalf("an empty file reads %d bytes", len(b))
		}
	})

	t.Run("QuotaRefusesAndChangesNothing", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		commit := func(owner string, data []byte, quota int64) (files.Upload, error) {
			u := newUpload(owner, data)
			must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
			_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data))
			must(t, err, "WriteUpload")
			return u, s.CommitUpload(t.Context(), fileOf(u), quota)
		}
		_, err := commit("alice", pattern(600), 1000)
		must(t, err, "a commit within the quota")
		over, err := commit("alice", pattern(401), 1000)
		wantCode(t, err, tideline.CodeTooLarge, "a commit past the quota")
		if got, err := s.FindUpload(t.Context(), over.ID); err != nil || got.Offset != 401 {
			t.Fatalf("the refused upload: %+v, %v; want it as it was", got, err)
		}
		_, err = s.FindFile(t.Context(), over.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindFile of the refused upload")
		if used, _ := s.Usage(t.Context(), "alice"); used != 600 {
			t.Fatalf("alice uses %d after a refused commit, want 600", used)
		}
		_, err = commit("alice", pattern(400), 1000)
		must(t, err, "a commit that fills the quota exactly")
		_, err = commit("bob", pattern(900), 1000)
		must(t, err, "another user's quota is their own")
	})

	t.Run("DeleteOwner", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		shared, own := pattern(3000), pattern(3001)
		commit := func(owner string, data []byte) files.File {
			u := newUpload(owner, data)
			must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
			_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data))
			must(t, err, "WriteUpload")
			must(t, s.CommitUpload(t.Context(), fileOf(u), 0), "CommitUpload")
			return fileOf(u)
		}
		a1, a2, b1 := commit("alice", shared), commit("alice", own), commit("bob", shared)
		pending := newUpload("alice", own)
		must(t, s.CreateUpload(t.Context(), pending), "CreateUpload")
		_, err := s.WriteUpload(t.Context(), pending.ID, 0, bytes.NewReader(own[:100]))
		must(t, err, "WriteUpload")
		must(t, s.DeleteOwner(t.Context(), "alice"), "DeleteOwner")
		for _, f := range []files.File{a1, a2} {
			_, err := s.FindFile(t.Context(), f.ID)
			wantCode(t, err, tideline.CodeNotFound, "FindFile of a deleted owner's file")
		}
		_, err = s.FindUpload(t.Context(), pending.ID)
		wantCode(t, err, tideline.CodeNotFound, "FindUpload of a deleted owner's upload")
		if used, err := s.Usage(t.Context(), "alice"); err != nil || used != 0 {
			t.Fatalf("usage %d, %v after DeleteOwner", used, err)
		}
		// Bob's file shares alice's content: it stays whole.
		r, err := s.OpenFile(t.Context(), b1)
		if b := readAll(t, r, err); !bytes.Equal(b, shared) {
			t.Fatal("a file sharing the deleted owner's content lost it")
		}
		if used, _ := s.Usage(t.Context(), "bob"); used != 3000 {
			t.Fatalf("bob's usage %d", used)
		}
		must(t, s.DeleteOwner(t.Context(), "nobody"), "DeleteOwner of an owner with nothing")
	})

	t.Run("ConcurrentCommitsKeepTheQuota", func(t *testing.T) {
		s := open(t, h, h.NewLocation(t), tideline.NewManualClock(Epoch)).Files()
		var us []files.Upload
		for i := range 6 {
			data := pattern(100 + i) // different contents
			u := newUpload("alice", data)
			must(t, s.CreateUpload(t.Context(), u), "CreateUpload")
			_, err := s.WriteUpload(t.Context(), u.ID, 0, bytes.NewReader(data))
			must(t, err, "WriteUpload")
			us = append(us, u)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var committed int64
		for _, u := range us {
			wg.Go(func() {
				err := s.CommitUpload(t.Context(), fileOf(u), 320)
				switch tideline.ErrorCode(err) {
				case "":
					mu.Lock()
					committed += u.Size
					mu.Unlock()
				case tideline.CodeTooLarge:
				default:
					t.Errorf("CommitUpload: %v", err)
				}
			})
		}
		wg.Wait()
		used, err := s.Usage(t.Context(), "alice")
		must(t, err, "Usage")
		if used != committed || used > 320 || used < 200 {
			t.Fatalf("usage %d, committed %d; want equal, at most the quota of 320 and more than 200 (two files fit)", used, committed)
		}
	})
}

// pattern is n bytes that differ from any other length's.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

func hexSum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewUpload is an upload of data by owner (not yet created in a store), declared with
// data's hash.
func NewUpload(owner string, data []byte) files.Upload { return newUpload(owner, data) }

func newUpload(owner string, data []byte) files.Upload {
	sum := sha256.Sum256(data)
	return files.Upload{ID: tideline.NewID(), Owner: owner, Size: int64(len(data)), Name: "photo.jpg",
		ContentType: "image/jpeg", SHA256: hex.EncodeToString(sum[:]), CreatedAt: Epoch}
}

func fileOf(u files.Upload) files.File {
	return files.File{ID: u.ID, Owner: u.Owner, Name: u.Name, ContentType: u.ContentType, Size: u.Size, SHA256: u.SHA256, CreatedAt: Epoch.Add(time.Second)}
}

func readAll[R io.ReadCloser](t *testing.T, r R, err error) []byte {
	t.Helper()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return b
}

func readUpload(t *testing.T, s files.Store, id string) []byte {
	t.Helper()
	r, err := s.OpenUpload(t.Context(), id)
	return readAll(t, r, err)
}

// failing is a reader that fails, as a dropped connection does.
type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }
