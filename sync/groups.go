package sync

import (
	"context"
	"unicode"
	"unicode/utf8"

	"github.com/tideline-dev/tideline"
)

// Member roles.
const (
	GroupOwner  = "owner"
	GroupMember = "member"
)

// CreateGroup creates a group owned by the caller, who becomes its first member. The name
// is 1 to 100 bytes of printable text: no control characters (NUL included), which a
// name shown in an app or the console has no use for.
func (s *Service) CreateGroup(ctx context.Context, caller Caller, name string) (Group, error) {
	if name == "" || len(name) > 100 || !printable(name) {
		return Group{}, &tideline.Error{Code: tideline.CodeInvalid, Message: "A group needs a name of 1 to 100 bytes of printable text.",
			Fields: map[string]string{"name": "must be 1 to 100 bytes of printable text"}}
	}
	g := Group{ID: tideline.NewID(), Name: name, OwnerID: caller.UserID, CreatedAt: s.clock.Now()}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return g, err
	}
	s.membershipChanged(ctx, caller.UserID) // the owner's streams read the group's bucket from now on
	return g, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// ListGroups returns the groups the caller belongs to.
func (s *Service) ListGroups(ctx context.Context, caller Caller) ([]Membership, error) {
	return s.store.ListGroups(ctx, caller.UserID)
}

// Members returns a group's members; only its members and admins may see them.
func (s *Service) Members(ctx context.Context, caller Caller, admin bool, groupID string) ([]Member, error) {
	if _, err := s.group(ctx, groupID); err != nil {
		return nil, err
	}
	members, err := s.store.ListMembers(ctx, groupID)
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.UserID == caller.UserID {
			return members, nil
		}
	}
	if admin {
		return members, nil
	}
	return nil, errNoGroup
}

var errNoGroup = tideline.Errorf(tideline.CodeNotFound, "No such group.")

// group finds a group; an unknown or malformed id is not_found.
func (s *Service) group(ctx context.Context, id string) (Group, error) {
	if !tideline.ValidID(id) {
		return Group{}, errNoGroup
	}
	g, err := s.store.FindGroup(ctx, id)
	if tideline.ErrorCode(err) == tideline.CodeNotFound {
		return g, errNoGroup
	}
	return g, err
}

// AddMember adds userID to a group. Only the group's owner or an admin may; for anyone
// else who is not a member the group does not exist. known, when not nil, is asked whether
// userID has an account (its error, such as not_found, is the answer) only once the caller
// may manage the group, so that the call reveals nothing about users to strangers. The new
// member's devices start an initial sync of the group's bucket at their next pull.
func (s *Service) AddMember(ctx context.Context, caller Caller, admin bool, groupID, userID string, known func(ctx context.Context, userID string) error) error {
	g, err := s.group(ctx, groupID)
	if err != nil {
		return err
	}
	if g.OwnerID != caller.UserID && !admin {
		return s.notOwner(ctx, caller, g)
	}
	if known != nil {
		if err := known(ctx, userID); err != nil {
			return err
		}
	}
	if err := s.store.AddMember(ctx, Member{GroupID: g.ID, UserID: userID, Role: GroupMember, AddedAt: s.clock.Now()}); err != nil {
		return err
	}
	s.membershipChanged(ctx, userID)
	return nil
}

// membershipChanged lets the user's open streams on this node see their new buckets.
func (s *Service) membershipChanged(ctx context.Context, userID string) {
	if s.hub != nil {
		s.hub.refresh(ctx, userID)
	}
}

// RemoveMember removes userID from a group: the owner or an admin may remove anyone but
// the owner, and a member may leave. To anyone else the group does not exist, whoever
// userID is: who may manage the group is settled before anything about the group or
// userID is told. The removed member's devices are told at their next pull that the
// group's bucket is gone.
func (s *Service) RemoveMember(ctx context.Context, caller Caller, admin bool, groupID, userID string) error {
	g, err := s.group(ctx, groupID)
	if err != nil {
		return err
	}
	if g.OwnerID != caller.UserID && !admin {
		if err := s.notOwner(ctx, caller, g); userID != caller.UserID || tideline.ErrorCode(err) != tideline.CodeForbidden {
			return err // a stranger (not_found), or a member removing someone else (forbidden)
		}
	}
	if userID == g.OwnerID {
		return tideline.Errorf(tideline.CodeConflict, "The owner cannot leave the group.")
	}
	if err := s.store.RemoveMember(ctx, g.ID, userID); err != nil {
		if tideline.ErrorCode(err) == tideline.CodeNotFound {
			return tideline.Errorf(tideline.CodeNotFound, "The user is not a member of the group.")
		}
		return err
	}
	s.membershipChanged(ctx, userID)
	return nil
}

// notOwner is forbidden for a member of g who is not its owner, and not_found for anyone
// else (a group is nobody else's business).
func (s *Service) notOwner(ctx context.Context, caller Caller, g Group) error {
	members, err := s.store.ListMembers(ctx, g.ID)
	if err != nil {
		return err
	}
	for _, m := range members {
		if m.UserID == caller.UserID {
			return tideline.Errorf(tideline.CodeForbidden, "Only the group's owner or an admin manages its members.")
		}
	}
	return errNoGroup
}
