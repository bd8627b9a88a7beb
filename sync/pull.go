package sync

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"

	"github.com/tideline-dev/tideline"
)

// Change is one document in a pull page.
type Change struct {
	Collection string
	DocID      string
	// Op is "upsert" (Fields is the document), "delete" (a tombstone), or "evict": the
	// caller may no longer read the document (it was unshared, or left a bucket); drop it.
	Op      string
	Fields  map[string]any
	Version int64
	Seq     int64
	// Buckets are the document's buckets that the caller is in (none for an evict).
	Buckets []string
}

// Change ops.
const (
	OpUpsert = "upsert"
	OpDelete = "delete"
	OpEvict  = "evict"
)

// Page is a pull's answer.
type Page struct {
	Changes []Change
	Cursor  string
	// HasMore is set when more changes are waiting: pull again at once with Cursor.
	HasMore bool
	// Collections are the collections the cursor now covers (nil: all); a client drops its
	// local documents of collections no longer covered.
	Collections []string
	// RemovedBuckets are buckets the caller no longer reads (left a group, lost a role): the
	// client drops the local documents left in none of its buckets.
	RemovedBuckets []string
	// ResetBuckets are buckets synced again from the start, because the cursor is older
	// than what the server keeps of their deletions: the client marks its local documents
	// of these buckets, keeps those re-sent, and at ResetComplete drops the others.
	ResetBuckets []string
	// ResetComplete are reset buckets whose new sync is complete.
	ResetComplete []string
	// Live is set when the request's Stream took over from this page: it sends the
	// changes after Cursor, each message with its own cursor, until it falls behind and
	// pokes (protocol 2).
	Live bool
}

// PullRequest is what a client asks a pull for.
type PullRequest struct {
	// Cursor is the previous page's cursor ("" for an initial sync).
	Cursor string
	// Collections, when not empty, is the subscription: a collection added to it gets its
	// own initial sync while the others continue; one removed from it is dropped from the
	// cursor.
	Collections []string
	// Limit is the most changes in the page (0: the default).
	Limit int
	// Fresh says the client holds no documents. Only then does a bucket's initial sync
	// leave out tombstones and evictions: a client that pushed before it pulled holds the
	// documents its receipts gave it, and must hear of their deletion.
	Fresh bool
	// Stream names the caller's realtime stream on this node (protocol 2; "" for none).
	// When the page completes the pull (HasMore false), the stream takes over from the
	// page's cursor and sends the later changes itself (Page.Live; see Hub).
	Stream string
}

// MaxSubscription is the most collections a pull may name. A cursor keeps the names, and
// a pull scans each bucket for them, so a subscription must stay small; an app syncs a
// handful of collections (or all: none named).
const MaxSubscription = 100

// Pull returns the changes in caller's buckets after the request's cursor, in sequence
// order, each document once in its latest state, at most Limit of them and about
// MaxPageBytes. A bucket new to the cursor starts from 0: an initial sync of that bucket,
// which sends no tombstones and no evictions when the client is Fresh. More than
// MaxSubscription collections (duplicates count once) are invalid.
func (s *Service) Pull(ctx context.Context, caller Caller, req PullRequest) (Page, error) {
	rawCursor, collections, limit := req.Cursor, req.Collections, req.Limit
	if n := len(sortedUnique(collections)); n > MaxSubscription {
		msg := fmt.Sprintf("A pull names at most %d collections (this one names %d); pull all of them (name none), or fewer.", MaxSubscription, n)
		return Page{}, &tideline.Error{Code: tideline.CodeInvalid, Message: msg, Fields: map[string]string{"collections": fmt.Sprintf("names more than %d collections", MaxSubscription)}}
	}
	for _, c := range collections {
		if err := checkCollectionName(c); err != nil {
			return Page{}, &tideline.Error{Code: tideline.CodeInvalid, Message: err.Error(), Fields: map[string]string{"collections": err.Error()}}
		}
	}
	switch {
	case limit <= 0:
		limit = s.cfg.DefaultPage
	case limit > s.cfg.MaxPage:
		limit = s.cfg.MaxPage
	}
	cur, err := s.decodeCursor(rawCursor, caller.UserID)
	if err != nil {
		return Page{}, err
	}
	want := setOf(collections)
	cur.subscribe(want)
	mine, err := s.bucketsOf(ctx, caller)
	if err != nil {
		return Page{}, err
	}
	var page Page
	var streams []stream
	var through int64
	start := cur
	for attempt := 0; ; attempt++ {
		// A purge between reading the horizon and scanning could remove a change this
		// pull then moves past: when the horizon moved meanwhile, the pull starts again.
		cur = start.clone()
		page = Page{Changes: []Change{}}
		if !want.all {
			page.Collections = want.names
		}
		horizon, err := s.store.PurgeHorizon(ctx)
		if err != nil {
			return Page{}, err
		}
		page.RemovedBuckets, page.ResetBuckets = reconcileBuckets(&cur, mine, horizon)
		if through, err = s.watermark(ctx); err != nil {
			return Page{}, err
		}
		if streams, err = s.scanStreams(ctx, cur, mine, through, limit, req.Fresh); err != nil {
			return Page{}, err
		}
		again, err := s.store.PurgeHorizon(ctx)
		if err != nil {
			return Page{}, err
		}
		if again == horizon {
			break
		}
		if attempt == 3 {
			return Page{}, tideline.Errorf(tideline.CodeUnavailable, "The server is purging old changes; pull again.")
		}
	}
	cut, more := s.fillPage(&page, streams, mine, through, limit)
	for _, st := range streams {
		for _, b := range st.buckets {
			pos := max(st.track.Positions[b], cut)
			if st.exhausted(cut) {
				pos = through // nothing more in this stream up to the watermark
			}
			st.track.Positions[b] = pos
		}
	}
	for _, b := range slices.Clone(cur.Resetting) {
		if allAt(cur, b, through) {
			page.ResetComplete = append(page.ResetComplete, b)
			cur.Resetting = slices.DeleteFunc(cur.Resetting, func(x string) bool { return x == b })
		}
	}
	cur.merge()
	if page.Cursor, err = s.encodeCursor(cur); err != nil {
		return Page{}, err
	}
	page.HasMore = more
	s.noteClient(ctx, caller, caller.Client.ID, true)
	if req.Stream != "" && !more && s.hub != nil {
		page.Live = s.hub.handoff(req.Stream, caller.UserID, mine, cur, through)
	}
	return page, nil
}

// reconcileBuckets fits the cursor's positions to the caller's buckets: lost buckets are
// removed, new ones start at 0, and buckets whose position is behind the purge horizon are
// reset (every track syncs them again from 0).
func reconcileBuckets(cur *cursor, mine []string, horizon int64) (removed, reset []string) {
	for _, t := range cur.Tracks {
		for b, pos := range t.Positions {
			if !slices.Contains(mine, b) {
				delete(t.Positions, b)
				if !slices.Contains(removed, b) {
					removed = append(removed, b)
				}
			} else if pos > 0 && pos < horizon && !slices.Contains(reset, b) && !slices.Contains(cur.Resetting, b) {
				// (A bucket already resetting is past the horizon it reset for: its
				// documents from before the horizon are re-sent whole.)
				reset = append(reset, b)
			}
		}
	}
	for _, b := range reset {
		for _, t := range cur.Tracks {
			t.Positions[b] = 0
		}
		if !slices.Contains(cur.Resetting, b) {
			cur.Resetting = append(cur.Resetting, b)
		}
	}
	cur.Resetting = slices.DeleteFunc(cur.Resetting, func(b string) bool { return slices.Contains(removed, b) })
	sort.Strings(removed)
	sort.Strings(reset)
	return removed, reset
}

// stream is one track's scan of its buckets that were at one position.
type stream struct {
	track   *track
	buckets []string
	after   int64      // the buckets' position in the track before the scan
	docs    []Document // the scanned documents of the track's collections
	last    int64      // the Seq of the last document scanned (0: none)
	more    bool       // the scan stopped at its limit: there may be more after last
}

// exhausted reports whether the stream has nothing beyond cut up to the watermark.
func (st stream) exhausted(cut int64) bool { return !st.more && st.last <= cut }

// scanStreams scans, for every track, its buckets after their positions, limit+1
// documents a scan: the buckets at one position with one scan (in an incremental pull
// they all are, so a pull costs one scan per track). A track covering "all collections
// except some" scans all and leaves those out here. A fresh client's initial syncs skip
// tombstones and evictions.
func (s *Service) scanStreams(ctx context.Context, cur cursor, mine []string, through int64, limit int, fresh bool) ([]stream, error) {
	var out []stream
	for i := range cur.Tracks {
		t := &cur.Tracks[i]
		var only []string
		if !t.All {
			only = t.Names
		}
		byPos := map[int64][]string{}
		for _, b := range mine {
			after := t.Positions[b]
			if _, ok := t.Positions[b]; !ok {
				t.Positions[b] = 0
			}
			if after < through {
				byPos[after] = append(byPos[after], b)
			}
		}
		for _, after := range slices.Sorted(maps.Keys(byPos)) {
			buckets := byPos[after]
			docs, err := s.store.ScanBucket(ctx, BucketScan{Buckets: buckets, After: after, Through: through, Limit: limit + 1, SkipDeleted: fresh && after == 0, Collections: only})
			if err != nil {
				return nil, err
			}
			st := stream{track: t, buckets: buckets, after: after, more: len(docs) > limit}
			if len(docs) > 0 {
				st.last = docs[len(docs)-1].Seq
			}
			for _, d := range docs {
				if t.set().has(d.Ref.Collection) {
					st.docs = append(st.docs, d)
				}
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// fillPage merges the streams' documents by sequence number and fills the page. The page
// stops at the lowest last document of the streams that have more (past it, such a stream
// was not read), at limit changes and at about MaxPageBytes. It returns the position every
// stream is complete to, and whether more is waiting.
func (s *Service) fillPage(page *Page, streams []stream, mine []string, through int64, limit int) (int64, bool) {
	bound := through
	var merged []Document
	from := map[DocRef]int64{} // the lowest position a document was scanned after
	for _, st := range streams {
		if st.more {
			bound = min(bound, st.last)
		}
		merged = append(merged, st.docs...)
		for _, d := range st.docs {
			if p, ok := from[d.Ref]; !ok || st.after < p {
				from[d.Ref] = st.after
			}
		}
	}
	sort.SliceStable(merged, func(i, j int) bool { return merged[i].Seq < merged[j].Seq })
	seen := map[DocRef]bool{}
	bytes, cut, truncated := 0, bound, false
	for _, d := range merged {
		if d.Seq > bound {
			break
		}
		if seen[d.Ref] {
			continue
		}
		if len(page.Changes) == limit || (len(page.Changes) > 0 && bytes >= s.cfg.MaxPageBytes) {
			truncated = true
			break
		}
		seen[d.Ref] = true
		c, keep := changeOf(d, mine, from[d.Ref])
		if !keep {
			continue
		}
		if c.Op == OpUpsert {
			bytes += jsonSize(c.Fields)
		}
		page.Changes = append(page.Changes, c)
	}
	if truncated {
		cut = page.Changes[len(page.Changes)-1].Seq
	}
	return cut, truncated || bound < through
}

// changeOf is document d as a change for a reader of the buckets mine whose position was
// after: an upsert or a delete with the buckets of d it reads, or an evict when it reads
// none of them any more. keep is false when the reader heard of the eviction before after
// (it hears nothing of the document's later writes). Pulls and streams share it.
func changeOf(d Document, mine []string, after int64) (c Change, keep bool) {
	c = Change{Collection: d.Ref.Collection, DocID: d.Ref.ID, Version: d.Version, Seq: d.Seq, Buckets: intersect(d.Buckets, mine)}
	switch {
	case len(c.Buckets) == 0 && after >= d.EvictSeq:
		return c, false
	case len(c.Buckets) == 0:
		c.Op = OpEvict
	case d.Deleted:
		c.Op = OpDelete
	default:
		c.Op, c.Fields = OpUpsert, normalizeInPlace(d.Fields).(map[string]any)
	}
	return c, true
}

// allAt reports whether every track has bucket b at position through.
func allAt(c cursor, b string, through int64) bool {
	for _, t := range c.Tracks {
		if t.Positions[b] < through {
			return false
		}
	}
	return true
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
