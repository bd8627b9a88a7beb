// Package files is Tideline's file store: photos and documents attached to synced
// documents. Clients upload with the tus resumable upload protocol (tusd's handler, on a
// data store backed by the engine's Store), so an upload cut by a mobile network resumes
// where it stopped; a finished upload becomes a File, stored once per content hash. A
// document refers to a file through a field holding a reference ({"_file": id, ...}, see
// Ref), and whoever may read that document may download the file. See docs/files.md.
package files

import (
	"context"
	"io"
	"time"
)

// File is a finished upload: content stored by its SHA-256, and what describes it.
type File struct {
	// ID is the id of the upload that made it (a tideline.NewID).
	ID string
	// Owner is the user who uploaded it; the file counts against their quota.
	Owner       string
	Name        string
	ContentType string
	Size        int64
	// SHA256 is the content's hash, lowercase hex; files with the same hash share their
	// content in the store.
	SHA256    string
	CreatedAt time.Time
}

// Upload is a resumable upload in progress.
type Upload struct {
	ID    string
	Owner string
	// Size is the length the client declared; Offset how many bytes the store holds.
	Size, Offset int64
	// Name, ContentType and SHA256 are what the client declared; the hash is checked when
	// the last byte arrives.
	Name, ContentType, SHA256 string
	CreatedAt                 time.Time
}

// Store is what each storage engine implements for files. Errors are *tideline.Error
// values with the codes named.
type Store interface {
	// CreateUpload records an upload holding no bytes yet. Conflict when the id is taken.
	CreateUpload(ctx context.Context, u Upload) error
	// FindUpload returns an upload with its current Offset. Not found when absent.
	FindUpload(ctx context.Context, id string) (Upload, error)
	// WriteUpload appends what r yields to the upload, only if offset is the upload's
	// Offset (conflict otherwise, also while another call writes to the same upload), and
	// returns how many bytes it appended. Bytes it returns as appended are durable and the
	// upload's Offset counts them, also when r fails midway (a dropped connection): n is
	// then what was kept, with r's error. The caller bounds r by the declared Size.
	WriteUpload(ctx context.Context, id string, offset int64, r io.Reader) (n int64, err error)
	// OpenUpload reads the bytes an upload holds. Not found when absent.
	OpenUpload(ctx context.Context, id string) (io.ReadCloser, error)
	// HashUpload returns the SHA-256 (lowercase hex) of the bytes an upload holds and how
	// many there are. An engine may keep the hash as the bytes arrive (MongoDB keeps the
	// running state with the upload, so that any node goes on from where the last write
	// stopped) rather than read them again. Not found when absent.
	HashUpload(ctx context.Context, id string) (sum string, n int64, err error)
	// ClaimUpload lets one caller at a time, on any node, finish an upload (hash it, then
	// commit or refuse it): it gives the caller the claim until until and returns true,
	// unless another claim on the upload runs past now (false: someone else is finishing
	// it). A claimer that stops without releasing (a crash) holds the claim until its
	// until. Not found when the upload is absent.
	ClaimUpload(ctx context.Context, id string, now, until time.Time) (bool, error)
	// ReleaseUpload ends the claim that ClaimUpload gave until until; a claim taken over
	// since (by a later claimer) stays. No error when the upload is gone.
	ReleaseUpload(ctx context.Context, id string, until time.Time) error
	// DeleteUpload removes an upload and its bytes. Not found when absent.
	DeleteUpload(ctx context.Context, id string) error
	// CommitUpload turns the complete upload f.ID into the file f, whose SHA256 the caller
	// has checked: the bytes are kept once per hash (content already stored under it is
	// shared), the file is recorded and the upload is gone. When quota > 0 and the owner's
	// files would then exceed quota bytes, it fails with too_large and changes nothing.
	// Not found when the upload is absent.
	CommitUpload(ctx context.Context, f File, quota int64) error
	// FindFile returns a file. Not found when absent.
	FindFile(ctx context.Context, id string) (File, error)
	// OpenFile reads a file's content.
	OpenFile(ctx context.Context, f File) (io.ReadSeekCloser, error)
	// Usage is the total size of the owner's files.
	Usage(ctx context.Context, owner string) (int64, error)
	// DeleteOwner deletes the owner's files and uploads, and their usage. Content that no
	// other file shares is deleted too where the engine can tell so without a race with a
	// commit of the same content (the embedded engine); elsewhere it is left for the
	// sweeper, unreachable meanwhile (no file refers to it).
	DeleteOwner(ctx context.Context, owner string) error

	// The sweeper's steps (see Service.Sweep). Each is safe to run on several nodes at
	// once and to stop at any point: a run that stops midway leaves what the next run
	// finishes, never a file deleted that a document refers to.

	// ListUploads returns up to limit uploads created before before whose ids come after
	// after, in id order, with their offsets (the sweeper finishes those holding every
	// byte).
	ListUploads(ctx context.Context, before time.Time, after string, limit int) ([]Upload, error)
	// ExpireUploads deletes up to limit uploads created before before, with their bytes,
	// and returns how many it deleted.
	ExpireUploads(ctx context.Context, before time.Time, limit int) (int, error)
	// SweepFiles looks at up to limit files whose ids come after after, in id order, and
	// returns the last id it looked at ("" when there was none: the pass is over). Whether
	// a document refers to a file is known from the references the engine records with
	// every document it commits (Refs of the document's fields, in the same atomic write),
	// tombstones referring to nothing. A file that no document refers to is marked
	// unreferenced at now, unless it is marked already; a file that one refers to loses
	// its mark; a file marked at or before deleteBefore that still no document refers to
	// is deleted (its record, its usage, and on the embedded engine its content when no
	// other file shares it). The deletion is ordered with document commits: a commit that
	// ends before the deletion and refers to the file keeps it (the embedded engine checks
	// and deletes in one write transaction; MongoDB hides the file, checks again, and
	// brings it back if a reference appeared), and references committed after it refer to
	// nothing, as those to a deleted account's files do.
	SweepFiles(ctx context.Context, after string, limit int, now, deleteBefore time.Time) (last string, res SweepResult, err error)
	// SweepContent removes what no record refers to any more, left by crashes between the
	// steps of a commit or a delete and by deleted accounts: content no file shares, the
	// bytes of uploads that no longer exist, and on MongoDB GridFS files and chunks that
	// no content record names. It sets an owner's usage to the total of their files where
	// the two differ (MongoDB; the embedded engine computes usage from the files). Where a
	// commit under way on another node may be about to use something (MongoDB), it is
	// only removed or corrected once unused or unchanged since settled: content found
	// unused is marked at now and removed by a later call once its mark is at or before
	// settled.
	SweepContent(ctx context.Context, now, settled time.Time) (SweepResult, error)
}

// SweepResult counts what a sweep step did.
type SweepResult struct {
	// Marked files were found unreferenced; Unmarked were referenced again.
	Marked, Unmarked int
	// Finished uploads held every byte but no file had been made of them, and the sweeper
	// committed them (one it refused is deleted and counted in Uploads).
	Finished int
	// Deleted files, expired uploads, and content (blobs, GridFS files, orphan upload
	// bytes) removed.
	Deleted, Uploads, Content int
	// Reconciled owners' usage was corrected.
	Reconciled int
}

// Add adds o's counts to r.
func (r *SweepResult) Add(o SweepResult) {
	r.Marked += o.Marked
	r.Unmarked += o.Unmarked
	r.Deleted += o.Deleted
	r.Uploads += o.Uploads
	r.Finished += o.Finished
	r.Content += o.Content
	r.Reconciled += o.Reconciled
}
