package sync

import (
	"cmp"
	"context"
	"maps"
	"regexp"
	"slices"
	"time"

	"github.com/tideline-dev/tideline"
)

// BrowseStore is what an admin reads of the stored documents and of the clients that sync
// them: the admin console's data browser and its sync health per device. Nothing here is
// on the path of a push or a pull, except RecordClient, which the Service throttles (see
// health.go).
type BrowseStore interface {
	// CountDocuments returns, for every collection that holds documents (tombstones
	// included), how many are live and how many are tombstones, by collection name.
	CountDocuments(ctx context.Context) ([]DocumentCount, error)
	// ListDocuments returns summaries of the documents q matches, the latest written first
	// (Seq descending), at most q.Limit (at least 1).
	ListDocuments(ctx context.Context, q DocumentQuery) ([]DocumentSummary, error)

	// RecordClient records a client's activity: for the pair (UserID, ClientID), LastPush
	// and LastPull are raised to a's when a's are later (a zero time leaves them), and SDK
	// and Protocol are replaced when a's are set. A user has at most MaxClientsPerUser
	// records: recording a new client past it drops the user's least recently seen one.
	RecordClient(ctx context.Context, a ClientActivity) error
	// ListClients returns a user's client records, the most recently seen first, each with
	// the High of the client's mark when the mark is the user's (0 otherwise).
	ListClients(ctx context.Context, userID string) ([]ClientActivity, error)
	// ListQuietClients returns the client records last seen before before (by
	// ClientActivity.Seen), the most recently seen first, at most limit, and how many
	// there are in all.
	ListQuietClients(ctx context.Context, before time.Time, limit int) ([]ClientActivity, int, error)
	// DeleteClients removes a user's client records (the user is deleted).
	DeleteClients(ctx context.Context, userID string) error

	// RecordNode records how many streams a node holds, as of n.At (a later report of the
	// node replaces an earlier one, an earlier one changes nothing), and forgets the nodes
	// that have not reported for a day.
	RecordNode(ctx context.Context, n NodeStreams) error
	// ListNodes returns the nodes that reported at or after since, by name.
	ListNodes(ctx context.Context, since time.Time) ([]NodeStreams, error)
}

// NodeStreams is a node's report of the realtime streams it holds.
type NodeStreams struct {
	Node    string
	Streams int64
	At      time.Time
}

// DocumentCount is how many documents a collection holds.
type DocumentCount struct {
	Collection    string
	Live, Deleted int64
}

// DocState selects documents by whether they are tombstones.
type DocState int

// The states a DocumentQuery selects.
const (
	LiveDocs DocState = iota
	DeletedDocs
	AllDocs
)

// DocumentQuery selects documents for an admin.
type DocumentQuery struct {
	// Collection keeps only its documents; "" means every collection.
	Collection string
	// Owner keeps only the documents of this user (Document.Owner); "" means anyone's.
	Owner string
	// IDPrefix keeps only the documents whose id begins with it.
	IDPrefix string
	State    DocState
	// Before keeps the documents whose Seq is below it (0: no bound): the Seq of the last
	// document of the previous page.
	Before int64
	Limit  int
}

// DocumentSummary is what a list of documents shows of each: no fields, no metadata.
type DocumentSummary struct {
	Ref       DocRef
	Owner     string
	Version   int64
	Seq       int64
	Deleted   bool
	UpdatedAt time.Time
}

// CollectionStats is a collection as an admin sees it: its configuration (the default
// one when it is not configured) and its documents.
type CollectionStats struct {
	Collection
	// Configured is false for a collection that has documents and no configuration: it
	// behaves as Collection says (owner-private, last writer wins).
	Configured    bool
	Live, Deleted int64
}

// BrowseCollections returns every configured collection and every collection that holds
// documents, by name, with their document counts (admin).
func (s *Service) BrowseCollections(ctx context.Context) ([]CollectionStats, error) {
	all, err := s.collections(ctx)
	if err != nil {
		return nil, err
	}
	counts, err := s.store.CountDocuments(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]CollectionStats{}
	for name, c := range all {
		out[name] = CollectionStats{Collection: c, Configured: true}
	}
	for _, n := range counts {
		st, ok := out[n.Collection]
		if !ok {
			st = CollectionStats{Collection: defaultCollection(n.Collection)}
		}
		st.Live, st.Deleted = n.Live, n.Deleted
		out[n.Collection] = st
	}
	return slices.SortedFunc(maps.Values(out), func(a, b CollectionStats) int { return cmp.Compare(a.Name, b.Name) }), nil
}

// MaxBrowsePage is the most documents BrowseDocuments returns at once.
const MaxBrowsePage = 100

// docIDPrefixForm is what may begin a document id (see docIDForm): a search for anything
// else could match nothing.
var docIDPrefixForm = regexp.MustCompile(`^[A-Za-z0-9._:@~-]{0,128}$`)

// scopeForm is what a DocRef's Scope (a user id) may look like when it comes from a URL.
var scopeForm = regexp.MustCompile(`^[\x21-\x7e]{1,256}$`)

// BrowseDocuments returns a page of the documents q selects, the latest written first
// (admin), and the Before of the next page (0: this is the last). A collection that is
// not a collection name, or an id prefix no id can begin with, is invalid.
func (s *Service) BrowseDocuments(ctx context.Context, q DocumentQuery) ([]DocumentSummary, int64, error) {
	if q.Collection != "" {
		if err := checkCollectionName(q.Collection); err != nil {
			return nil, 0, &tideline.Error{Code: tideline.CodeInvalid, Message: "No collection can be called that.", Fields: map[string]string{"collection": err.Error()}}
		}
	}
	if !docIDPrefixForm.MatchString(q.IDPrefix) {
		return nil, 0, &tideline.Error{Code: tideline.CodeInvalid, Message: "Document ids are made of letters, digits and . _ : @ ~ - (at most 128): no id begins with that.",
			Fields: map[string]string{"id": "not the beginning of a document id"}}
	}
	if q.Limit <= 0 || q.Limit > MaxBrowsePage {
		q.Limit = MaxBrowsePage
	}
	q.Before = max(0, q.Before)
	docs, err := s.store.ListDocuments(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(docs) == q.Limit {
		next = docs[len(docs)-1].Seq
	}
	return docs, next, nil
}

// Document returns a stored document, tombstones included (admin). Not found when absent,
// or when ref cannot name a document (no collection is called that, no id has that form,
// or a scope that is no user id): a ref from a URL is checked before a store sees it.
func (s *Service) Document(ctx context.Context, ref DocRef) (Document, error) {
	if checkCollectionName(ref.Collection) != nil || !docIDForm.MatchString(ref.ID) || (ref.Scope != "" && !scopeForm.MatchString(ref.Scope)) {
		return Document{}, tideline.Errorf(tideline.CodeNotFound, "No such document.")
	}
	docs, err := s.load(ctx, []DocRef{ref})
	if err != nil {
		return Document{}, err
	}
	d, ok := docs[ref]
	if !ok {
		return Document{}, tideline.Errorf(tideline.CodeNotFound, "No such document.")
	}
	return *d, nil
}

// DeleteDocument deletes a document for an admin: a tombstone written through the same
// commit as any write, in the buckets the document was in, so every device that holds it
// drops it at its next pull. A version conflict (a device wrote it meanwhile) reads it
// again and retries. It returns the tombstone, and whether this call wrote it: deleting a
// tombstone writes nothing. Not found when absent.
//
// The tombstone is the server's delete: fields and history go, and it is stamped with the
// server's clock, later than every write the server has seen. A device that writes the
// document afterwards, with a later clock, creates it again, as after any delete.
func (s *Service) DeleteDocument(ctx context.Context, ref DocRef) (Document, bool, error) {
	for attempt := 1; ; attempt++ {
		d, err := s.Document(ctx, ref)
		if err != nil || d.Deleted {
			return d, false, err
		}
		t := s.tombstone(d)
		results, err := s.store.Commit(ctx, Commit{Writes: []Write{{Doc: t, BaseVersion: d.Version}}})
		if err != nil {
			return Document{}, false, err
		}
		if !results[0].Conflict {
			if s.hub != nil {
				s.hub.kick()
			}
			t.Seq = results[0].Seq
			return t, true, nil
		}
		if attempt == maxCommitAttempts {
			return Document{}, false, tideline.Errorf(tideline.CodeUnavailable, "The document is changing too fast to delete; retry.")
		}
		if err := backoff(ctx, attempt); err != nil {
			return Document{}, false, err
		}
	}
}

// Latest is the latest clock in m: the stamp of the last mutation that changed the
// document (its node is the client that wrote it, "tideline" for the server). "" when m
// has none.
func (m Meta) Latest() HLC {
	h := maxHLC(maxHLC(m.Replace, m.Delete), m.Touch)
	for _, f := range m.Fields {
		h = maxHLC(h, f.Clock)
		for _, op := range f.Ops {
			h = maxHLC(h, op.Clock)
		}
		for _, e := range f.Elems {
			h = maxHLC(h, e.Clock)
		}
	}
	return h
}

// Node is the node that made the stamp: a client id, or "tideline" for the server. ""
// when h is not a valid stamp.
func (h HLC) Node() string {
	_, _, node := h.parts()
	return node
}
