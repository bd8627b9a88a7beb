package sync

import (
	"context"
	"slices"
	"sort"

	"github.com/tideline-dev/tideline"
)

// Change is one document in a pull page: its current state (or its deletion).
type Change struct {
	Collection string
	DocID      string
	Deleted    bool
	Fields     map[string]any // nil when Deleted
	Version    int64
	Seq        int64
	// Buckets are the document's buckets that the caller is in.
	Buckets []string
}

// Page is a pull's answer.
type Page struct {
	Changes []Change
	Cursor  string
	// HasMore is set when more changes are waiting: pull again at once with Cursor.
	HasMore bool
}

// userBuckets are the buckets user may read.
func userBuckets(user string) []string {
	return []string{UserBucket(user), BucketAuthenticated, BucketPublic}
}

// Pull returns the changes in user's buckets after cursor ("" for an initial sync), in
// sequence order, each document once in its latest state, at most limit of them (0: the
// default) and about MaxPageBytes. An initial sync (and a bucket new to the cursor) sends
// no tombstones. collections, when not empty, keeps only those collections; a cursor only
// continues with the same collections it was made for.
func (s *Service) Pull(ctx context.Context, user, rawCursor string, collections []string, limit int) (Page, error) {
	collections = slices.Clone(collections)
	slices.Sort(collections)
	collections = slices.Compact(collections)
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
	cur, err := s.decodeCursor(rawCursor, user, collections)
	if err != nil {
		return Page{}, err
	}
	mine := userBuckets(user)
	through, err := s.store.Watermark(ctx)
	if err != nil {
		return Page{}, err
	}

	// Each bucket's first limit+1 changes after its position: the lowest limit changes
	// overall are among them, so every bucket is complete up to the page's last change.
	var merged []Document
	more, sources := false, 0
	for _, b := range mine {
		after := cur.Positions[b]
		if after >= through {
			continue
		}
		docs, err := s.store.ScanBucket(ctx, BucketScan{Bucket: b, After: after, Through: through, Limit: limit + 1, SkipDeleted: after == 0, Collections: collections})
		if err != nil {
			return Page{}, err
		}
		if len(docs) > limit {
			more = true
		}
		if len(docs) > 0 {
			sources++
		}
		merged = append(merged, docs...)
	}
	if sources > 1 { // each scan is in order already
		sort.SliceStable(merged, func(i, j int) bool { return merged[i].Seq < merged[j].Seq })
	}

	page := Page{Changes: []Change{}}
	seen := map[DocRef]bool{}
	bytes, cut := 0, through
	for _, d := range merged {
		if seen[d.Ref] {
			continue // the same write, reached through another bucket
		}
		if len(page.Changes) == limit || (len(page.Changes) > 0 && bytes >= s.cfg.MaxPageBytes) {
			more = true
			break
		}
		seen[d.Ref] = true
		c := Change{Collection: d.Ref.Collection, DocID: d.Ref.ID, Deleted: d.Deleted, Version: d.Version, Seq: d.Seq, Buckets: intersect(d.Buckets, mine)}
		if !d.Deleted {
			c.Fields = normalizeInPlace(d.Fields).(map[string]any)
			bytes += jsonSize(c.Fields)
		}
		page.Changes = append(page.Changes, c)
	}
	if more && len(page.Changes) > 0 {
		cut = page.Changes[len(page.Changes)-1].Seq
	}
	next := cursor{User: user, Collections: collections, Positions: map[string]int64{}}
	for _, b := range mine {
		next.Positions[b] = max(cur.Positions[b], cut)
	}
	page.Cursor, page.HasMore = s.encodeCursor(next), more
	return page, nil
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
