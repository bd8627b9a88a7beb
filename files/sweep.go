package files

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline"
)

// The sweeper deletes what nothing needs any more (docs/files.md, "The sweeper"), and
// finishes what a crash left unfinished:
//   - uploads started more than SettleAfter ago that hold every byte but of which no file
//     was made (the server stopped between the last byte and the commit) are finished,
//     as a HEAD of their owner's would (Finish);
//   - uploads started more than UploadExpiry ago and never finished, with their bytes;
//   - files no document refers to: a sweep marks such a file, and a later sweep deletes it
//     once Retention has passed since the mark, if still no document refers to it. A file
//     referred to again loses its mark. So a file lives at least Retention after the first
//     sweep that found it unreferenced: a file uploaded offline-first, attached by a patch
//     pushed later, and a reference that an offline device's pending write restores, both
//     have that long;
//   - content, upload bytes and (MongoDB) usage left behind by crashes and deleted
//     accounts, once SettleAfter has passed (a commit under way may be about to use them).

// DefaultRetention is how long an unreferenced file is kept: sync's default retention.
const DefaultRetention = 30 * 24 * time.Hour

// DefaultUploadExpiry is how long an unfinished upload is kept.
const DefaultUploadExpiry = 24 * time.Hour

// DefaultSettleAfter is how long what a crash left behind is kept before it is removed:
// longer than any commit takes.
const DefaultSettleAfter = time.Hour

// DefaultLeaseFor is how long a sweep holds the lease unless Config.LeaseFor says (the
// sync sweeper's with the default sync.sweepEvery of 10 minutes).
const DefaultLeaseFor = 6 * time.Minute

// sweepBatch is how many uploads or files one store call handles.
const sweepBatch = 500

// Lease takes or renews the lease that lets one node at a time sweep (app wires the sync
// store's AcquireLease). nil: every node sweeps, which is safe, only wasteful.
type Lease func(ctx context.Context, now, until time.Time) (bool, error)

// Sweep runs the sweeper once, at the configured clock's now: it expires abandoned
// uploads, marks, unmarks and deletes files by their references (a whole pass over the
// files), and removes leftovers. It returns what it did. Tests call it with a manual clock
// (Config.Clock) to step through the retention; RunSweeper calls it every interval.
// When Config.Lease is set and another node holds it, Sweep does nothing.
func (s *Service) Sweep(ctx context.Context) (SweepResult, error) {
	var total SweepResult
	now := s.cfg.Clock.Now()
	if s.cfg.Lease != nil {
		ok, err := s.cfg.Lease(ctx, now, now.Add(s.cfg.LeaseFor))
		if err != nil || !ok {
			return total, err
		}
	}
	res, err := s.finishStuck(ctx, now.Add(-s.cfg.SettleAfter))
	total.Add(res)
	if err != nil {
		return total, err
	}
	for {
		n, err := s.store.ExpireUploads(ctx, now.Add(-s.cfg.UploadExpiry), sweepBatch)
		total.Uploads += n
		if err != nil {
			return total, err
		}
		if n < sweepBatch {
			break
		}
	}
	after := ""
	for {
		last, res, err := s.store.SweepFiles(ctx, after, sweepBatch, now, now.Add(-s.cfg.Retention))
		total.Add(res)
		if err != nil {
			return total, err
		}
		if last == "" {
			break
		}
		after = last
	}
	res, err = s.store.SweepContent(ctx, now, now.Add(-s.cfg.SettleAfter))
	total.Add(res)
	return total, err
}

// finishStuck finishes the uploads created before before that hold every byte but of
// which no file was made (the server stopped between the last byte and the commit, and
// the client has not come back to ask, which would have finished it): a client that comes
// back later, even after files.uploadExpiry, finds the file. One that another request is
// finishing is left to it.
func (s *Service) finishStuck(ctx context.Context, before time.Time) (SweepResult, error) {
	var res SweepResult
	after := ""
	for {
		batch, err := s.store.ListUploads(ctx, before, after, sweepBatch)
		if err != nil || len(batch) == 0 {
			return res, err
		}
		for _, u := range batch {
			if u.Offset < u.Size {
				continue
			}
			_, err := s.Finish(ctx, u)
			switch tideline.ErrorCode(err) {
			case "":
				res.Finished++
			case tideline.CodeInvalid, tideline.CodeTooLarge: // refused, and deleted
				res.Uploads++
				s.cfg.Logger.InfoContext(ctx, "files sweep refused an upload", "upload_id", u.ID, "error", err.Error())
			case tideline.CodeConflict, tideline.CodeNotFound: // another request has it, or had it
			default:
				return res, err
			}
		}
		after = batch[len(batch)-1].ID
	}
}

// RunSweeper sweeps every interval until ctx is done, logging what it did and failures.
func (s *Service) RunSweeper(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if res, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("files sweep failed", "err", err.Error())
		} else if res != (SweepResult{}) {
			s.cfg.Logger.Info("files sweep", "deleted", res.Deleted, "marked", res.Marked, "unmarked", res.Unmarked,
				"uploads", res.Uploads, "finished", res.Finished, "content", res.Content, "reconciled", res.Reconciled)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
