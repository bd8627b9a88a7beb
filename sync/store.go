package sync

import (
	"context"
	"time"

	"github.com/tideline-dev/tideline"
)

// DocRef names a document: its collection, its scope, and the id the client chose. In
// collections with the owner rule every user has a namespace of their own (Scope is the
// owner's user id), so two users' "settings" are two documents and a user can never touch,
// or learn of, another's. Elsewhere Scope is "".
type DocRef struct {
	Collection string
	Scope      string
	ID         string
}

// Document is a document's stored state.
type Document struct {
	Ref     DocRef
	Owner   string // the user who created it
	Version int64  // 1 when created, one more for every write that changed it
	Seq     int64  // the sequence number of its last write (set by Store.Commit)
	Deleted bool   // a tombstone: kept so that clients learn of the delete
	// Fields are the visible user fields: JSON values, numbers int64 or float64.
	Fields map[string]any
	// Buckets are the principals that may read it: "user:<id>", "group:<id>",
	// "role:<name>", "authenticated", "public".
	Buckets []string
	// Evicted are buckets the document has left and not rejoined: a scan of one of them
	// still returns the document (at its current Seq), so that the bucket's readers learn
	// that they may no longer read it. The service computes it; engines store and index it.
	Evicted []string
	// EvictSeq is the Seq of the write that last added a bucket to Evicted: a reader whose
	// position in an evicted bucket is at or past it has had its evict change. In a Write,
	// 0 with a non-empty Evicted means this write: Commit stores the write's Seq.
	EvictSeq  int64
	Meta      Meta
	UpdatedAt time.Time
}

// Write is one document in a Commit: its new state, to be written only if the stored
// version is still BaseVersion (0: the document must not exist).
type Write struct {
	Doc         Document // Doc.Version is BaseVersion + 1; Doc.Seq is ignored
	BaseVersion int64
}

// ClientMark is the highest mutation id a client has had processed, and its user.
type ClientMark struct {
	ClientID string
	UserID   string
	High     int64
}

// Commit is a batch of document writes and the pushing client's new mark.
type Commit struct {
	Writes []Write
	// Client, when not nil, names the pushing client and its user. The first commit that
	// names a client id claims it for its user (a mark at 0), atomically with the commit
	// and whatever its writes' outcome; a commit that names a client of another user
	// writes nothing and fails with ErrClientTaken's code (forbidden). The mark is raised
	// to Client.High after the writes (never lowered), and only when no write was a
	// Conflict: the mark says every mutation up to High is settled, which a conflicting
	// write (to be retried) is not.
	Client *ClientMark
}

// ErrClientTaken is Commit's error for a client id that another user claimed first.
var ErrClientTaken = errBatch(tideline.CodeForbidden, "clientId", "This client id belongs to another user; every install needs its own.")

// CommitResult is the outcome of one Write.
type CommitResult struct {
	// Seq is the sequence number the write got; 0 when it was not written.
	Seq int64
	// Conflict is set when the stored version was not BaseVersion: nothing was written.
	Conflict bool
}

// BucketScan asks for a bucket's changes.
type BucketScan struct {
	Bucket string
	// After and Through bound the sequence numbers: After < Seq <= Through.
	After, Through int64
	Limit          int
	// SkipDeleted leaves out tombstones and documents that only left the bucket (the
	// initial sync of a client that holds no documents needs neither).
	SkipDeleted bool
	// Collections keeps only these collections; empty means all.
	Collections []string
}

// Touched is a bucket in which a document of collection changed.
type Touched struct {
	Bucket     string
	Collection string
}

// Group is a set of users sharing documents through the bucket "group:<id>".
type Group struct {
	ID        string
	Name      string
	OwnerID   string
	CreatedAt time.Time
}

// Member is a user's membership in a group.
type Member struct {
	GroupID string
	UserID  string
	// Role is "owner" or "member".
	Role    string
	AddedAt time.Time
}

// Membership is a group with the caller's role in it.
type Membership struct {
	Group Group
	Role  string
}

// GroupStore keeps groups and their members.
type GroupStore interface {
	// CreateGroup stores a group and its owner as its first member. Conflict when the id
	// exists.
	CreateGroup(ctx context.Context, g Group) error
	// FindGroup returns a group. Not found when absent.
	FindGroup(ctx context.Context, id string) (Group, error)
	// ListGroups returns the groups userID is a member of, by name then id.
	ListGroups(ctx context.Context, userID string) ([]Membership, error)
	// ListMembers returns a group's members, owner first, then by when they were added.
	ListMembers(ctx context.Context, groupID string) ([]Member, error)
	// AddMember adds (or keeps) a member with role. Not found when the group is absent.
	AddMember(ctx context.Context, m Member) error
	// RemoveMember removes a member. Not found when they are not a member.
	RemoveMember(ctx context.Context, groupID, userID string) error
	// DeleteMemberships removes userID from every group (the user is deleted).
	DeleteMemberships(ctx context.Context, userID string) error
	// DeleteGroup removes a group and its memberships: at once nobody is a member (and
	// ListGroups lists it for nobody), even if removing the memberships fails midway,
	// which a retry finishes. Not found when the group is absent.
	DeleteGroup(ctx context.Context, id string) error
}

// Store keeps synced documents. Each storage engine implements it, and store/storetest
// checks every promise below against each, including under concurrent writers and
// writers stopped between any two of their steps.
//
// The sequence: every write Commit makes gets a number from one global sequence, strictly
// increasing and without gaps (a number that no write can use any more is void, and counts
// as done).
type Store interface {
	// FindDocuments returns the documents among refs that exist (tombstones included), in
	// any order.
	FindDocuments(ctx context.Context, refs []DocRef) ([]Document, error)

	// ListOwnedDocuments returns up to limit documents whose Owner is owner and that are
	// not tombstones, of any collection, in any order, each whole (as FindDocuments does).
	// The user owner is being deleted: its documents are written as tombstones until none
	// is left.
	ListOwnedDocuments(ctx context.Context, owner string, limit int) ([]Document, error)

	// Commit applies the writes in order. Each is written only if the document's stored
	// version (0 when absent) is still its BaseVersion, atomically with that check, and
	// then gets the next sequence number; a write that finds another version is a
	// Conflict and changes nothing. The results are in the order of the writes. A commit
	// whose Client belongs to another user writes nothing and fails with forbidden (see
	// Commit.Client).
	Commit(ctx context.Context, c Commit) ([]CommitResult, error)

	// Watermark returns W such that every write with a sequence number <= W is visible to
	// ScanBucket, and no write with a number <= W can become visible later. It never goes
	// back. A reader that has seen everything up to W and scans from W on misses nothing.
	Watermark(ctx context.Context) (int64, error)

	// ScanBucket returns the current state of the documents whose Buckets or Evicted hold
	// s.Bucket and whose Seq is in (s.After, s.Through], in Seq order, at most s.Limit.
	// Pulls need only Ref, Version, Seq, Deleted, Fields, Buckets, Evicted and EvictSeq, so
	// an engine may leave Owner, Meta and UpdatedAt empty.
	ScanBucket(ctx context.Context, s BucketScan) ([]Document, error)

	// TouchedBuckets returns, without duplicates, the buckets of the documents whose Seq is
	// in (after, through], with their collections: who to tell of new changes. That is
	// Buckets, and Evicted when the write was the eviction (EvictSeq == Seq): a later
	// write to a document must not be announced to those who lost it. At most limit
	// entries; more is true when there were more.
	TouchedBuckets(ctx context.Context, after, through int64, limit int) (touched []Touched, more bool, err error)

	// PurgeDocuments removes the tombstones last written before before, and clears the
	// Evicted of documents last written before before, at most limit documents at a time,
	// and raises the purge horizon to the highest Seq it purged. It returns how many
	// documents it changed. A reader whose position in a bucket is below the horizon may
	// have missed a purged change: it must sync that bucket again.
	PurgeDocuments(ctx context.Context, before time.Time, limit int) (int, error)
	// PurgeHorizon returns the highest Seq purged so far (0: none).
	PurgeHorizon(ctx context.Context) (int64, error)
	// AcquireLease takes or renews the lease called name for holder until until: it
	// succeeds when the lease is free, expired (its until is not after now), or already
	// holder's. Of concurrent callers, at most one holds it at a time.
	AcquireLease(ctx context.Context, name, holder string, now, until time.Time) (bool, error)

	GroupStore
	BrowseStore

	// FindClient returns a client's mark. Not found when the client has pushed nothing.
	FindClient(ctx context.Context, clientID string) (ClientMark, error)

	// ListCollections returns the collections configured through the API, by name.
	ListCollections(ctx context.Context) ([]Collection, error)
	// PutCollection creates or replaces a collection's configuration.
	PutCollection(ctx context.Context, c Collection) error
	// DeleteCollection removes a collection's configuration (not its documents). Not
	// found when absent.
	DeleteCollection(ctx context.Context, name string) error
}
