package sync

import (
	"context"
	"slices"

	"github.com/tideline-dev/tideline"
)

// deleteBatch is how many of a deleted user's documents are written as tombstones in one
// commit.
const deleteBatch = 100

// DeleteUser removes what a deleted user has in sync (auth's OnUserDeleted hook, which runs
// before the account is deleted): it is idempotent, and a failure halfway is finished by
// the retry of the deletion.
//
//   - Every document the user owns, in every collection, becomes a tombstone in the
//     buckets it was in: its fields are gone from the store, and every device that could
//     read it drops it at its next pull (a delete change), as with any delete. Nobody can
//     write it afterwards (an owner-shared document's _acl is gone with its fields), and
//     the tombstone is purged after the retention like any other.
//   - The groups the user owns are deleted: their members lose the group's bucket at their
//     next pull (removedBuckets), and documents of other owners shared with the group are
//     no longer read through it. (A group is its owner's: transferring it to a member would
//     give that member powers nobody granted them.)
//   - The user leaves every other group.
//   - What was recorded of their devices' activity (health.go) goes.
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	if err := s.deleteDocuments(ctx, userID); err != nil {
		return err
	}
	if err := s.deleteOwnedGroups(ctx, userID); err != nil {
		return err
	}
	if err := s.store.DeleteClients(ctx, userID); err != nil {
		return err
	}
	return s.store.DeleteMemberships(ctx, userID)
}

// deleteDocuments writes the owner's documents as tombstones, a batch at a time, until
// none is left. A document written meanwhile by someone else (a writer its _acl allows)
// conflicts, and is read and written again in the next round.
func (s *Service) deleteDocuments(ctx context.Context, owner string) error {
	for attempt := 0; ; {
		docs, err := s.store.ListOwnedDocuments(ctx, owner, deleteBatch)
		if err != nil || len(docs) == 0 {
			return err
		}
		writes := make([]Write, len(docs))
		for i, d := range docs {
			writes[i] = Write{BaseVersion: d.Version, Doc: s.tombstone(d)}
		}
		results, err := s.store.Commit(ctx, Commit{Writes: writes})
		if err != nil {
			return err
		}
		if s.hub != nil {
			s.hub.kick()
		}
		if !slices.ContainsFunc(results, func(r CommitResult) bool { return r.Conflict }) {
			attempt = 0
			continue
		}
		if attempt++; attempt == maxCommitAttempts {
			return tideline.Errorf(tideline.CodeUnavailable, "The account's documents are changing too fast to delete; retry.")
		}
		if err := backoff(ctx, attempt); err != nil {
			return err
		}
	}
}

// tombstone is d deleted by the server: no fields and no history, in the buckets it was in
// (its readers get a delete), still the owner's (nobody else may write it).
func (s *Service) tombstone(d Document) Document {
	return Document{
		Ref: d.Ref, Owner: d.Owner, Version: d.Version + 1, Deleted: true, Fields: map[string]any{},
		Buckets: d.Buckets, Evicted: d.Evicted, EvictSeq: d.EvictSeq,
		Meta: Meta{Delete: s.hlc.now("tideline")}, UpdatedAt: s.clock.Now(),
	}
}

// deleteOwnedGroups deletes the groups userID owns, and lets their members' open streams
// on this node see that they are gone.
func (s *Service) deleteOwnedGroups(ctx context.Context, userID string) error {
	ms, err := s.store.ListGroups(ctx, userID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Group.OwnerID != userID {
			continue
		}
		members, err := s.store.ListMembers(ctx, m.Group.ID)
		if err != nil {
			return err
		}
		if err := s.store.DeleteGroup(ctx, m.Group.ID); err != nil && tideline.ErrorCode(err) != tideline.CodeNotFound {
			return err
		}
		for _, member := range members {
			s.membershipChanged(ctx, member.UserID)
		}
	}
	return nil
}
