package sync

import (
	"context"

	"github.com/tideline-dev/tideline"
)

// ReadDocument returns the fields of a document the caller may read: one of its current
// buckets is one of the caller's, as a pull would deliver it. An absent or deleted
// document, or one the caller may not read, is not_found alike, so a caller learns nothing
// of documents beyond their reach. Files use it: whoever reads a document may download the
// files it refers to.
func (s *Service) ReadDocument(ctx context.Context, caller Caller, collection, id string) (map[string]any, error) {
	notFound := tideline.Errorf(tideline.CodeNotFound, "There is no such document, or you may not read it.")
	if !collectionName.MatchString(collection) || !docIDForm.MatchString(id) {
		return nil, notFound
	}
	all, err := s.collections(ctx)
	if err != nil {
		return nil, err
	}
	col, _ := s.collection(all, collection)
	ref := DocRef{Collection: collection, Scope: col.scope(caller.UserID), ID: id}
	docs, err := s.load(ctx, []DocRef{ref})
	if err != nil {
		return nil, err
	}
	d := docs[ref]
	if d == nil || d.Deleted {
		return nil, notFound
	}
	mine, err := s.bucketsOf(ctx, caller)
	if err != nil {
		return nil, err
	}
	if !intersects(d.Buckets, mine) {
		return nil, notFound
	}
	return d.Fields, nil
}
