package mongo

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/tideline-dev/tideline/sync"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// Groups and memberships are two collections (sync_schema.go); a membership's _id is
// {groupId, userId}, so that adding one is idempotent by its unique _id (a subdocument:
// ids joined with a separator could spell another pair's key). Without
// transactions, every change is one single-document operation; the only operation of two
// steps, CreateGroup, writes the group before its owner's membership, so that a membership
// never points at a group that is not there (or not the one its writer meant).

type groupDoc struct {
	ID        string    `bson:"_id"`
	Name      string    `bson:"name"`
	OwnerID   string    `bson:"ownerId"`
	CreatedAt time.Time `bson:"createdAt"`
}

func (d groupDoc) group() sync.Group {
	return sync.Group{ID: d.ID, Name: d.Name, OwnerID: d.OwnerID, CreatedAt: d.CreatedAt.UTC()}
}

// memberKey is a membership's _id. Its fields are always in this order, as an equality
// match on a subdocument needs.
type memberKey struct {
	GroupID string `bson:"groupId"`
	UserID  string `bson:"userId"`
}

type memberDoc struct {
	ID      memberKey `bson:"_id"`
	GroupID string    `bson:"groupId"`
	UserID  string    `bson:"userId"`
	Role    string    `bson:"role"`
	AddedAt time.Time `bson:"addedAt"`
}

func (d memberDoc) member() sync.Member {
	return sync.Member{GroupID: d.GroupID, UserID: d.UserID, Role: d.Role, AddedAt: d.AddedAt.UTC()}
}

// CreateGroup inserts the group (the unique _id makes a second one a conflict), then its
// owner's membership. A node that stops between the two leaves a group without members,
// which nobody lists (ListGroups goes through memberships) and which the caller, told of
// the failure, does not use.
func (s syncStore) CreateGroup(ctx context.Context, g sync.Group) error {
	_, err := s.db.docs(groupsCollection).InsertOne(ctx, groupDoc{ID: g.ID, Name: g.Name, OwnerID: g.OwnerID, CreatedAt: g.CreatedAt.UTC()})
	if err != nil {
		return mapError(err, "create group")
	}
	return s.putMember(ctx, sync.Member{GroupID: g.ID, UserID: g.OwnerID, Role: sync.GroupOwner, AddedAt: g.CreatedAt})
}

func (s syncStore) FindGroup(ctx context.Context, id string) (sync.Group, error) {
	d, err := findOne[groupDoc](ctx, s.db.docs(groupsCollection), bson.M{"_id": id}, "find group")
	return d.group(), err
}

// ListGroups reads the user's memberships, then their groups, and joins them here
// ($lookup is not portable). A membership whose group is missing is left out.
func (s syncStore) ListGroups(ctx context.Context, userID string) ([]sync.Membership, error) {
	ms, err := findAll[memberDoc](ctx, s.db.docs(membersCollection), bson.M{"userId": userID}, nil, "list memberships")
	if err != nil || len(ms) == 0 {
		return nil, err
	}
	ids := make([]string, len(ms))
	for i, m := range ms {
		ids[i] = m.GroupID
	}
	groups, err := findAll[groupDoc](ctx, s.db.docs(groupsCollection), bson.M{"_id": bson.M{"$in": ids}}, nil, "list groups")
	if err != nil {
		return nil, err
	}
	byID := make(map[string]groupDoc, len(groups))
	for _, g := range groups {
		byID[g.ID] = g
	}
	var out []sync.Membership
	for _, m := range ms {
		if g, ok := byID[m.GroupID]; ok {
			out = append(out, sync.Membership{Group: g.group(), Role: m.Role})
		}
	}
	slices.SortFunc(out, func(a, b sync.Membership) int {
		return cmp.Or(strings.Compare(a.Group.Name, b.Group.Name), strings.Compare(a.Group.ID, b.Group.ID))
	})
	return out, nil
}

// ListMembers returns the owner first, then the others by when they were added (then by
// user id, so that the order is stable).
func (s syncStore) ListMembers(ctx context.Context, groupID string) ([]sync.Member, error) {
	ms, err := findAll[memberDoc](ctx, s.db.docs(membersCollection), bson.M{"groupId": groupID}, nil, "list members")
	out, err := convert(ms, err, memberDoc.member)
	slices.SortFunc(out, func(a, b sync.Member) int {
		rank := func(m sync.Member) int {
			if m.Role == sync.GroupOwner {
				return 0
			}
			return 1
		}
		return cmp.Or(cmp.Compare(rank(a), rank(b)), a.AddedAt.Compare(b.AddedAt), strings.Compare(a.UserID, b.UserID))
	})
	return out, err
}

// AddMember checks that the group exists, then upserts the membership with $setOnInsert:
// a member already there keeps their role and the time they were added. (A group deleted
// between the two steps leaves a membership of a missing group, which ListGroups leaves
// out: it gives nobody anything.)
func (s syncStore) AddMember(ctx context.Context, m sync.Member) error {
	if _, err := s.FindGroup(ctx, m.GroupID); err != nil {
		return err
	}
	return s.putMember(ctx, m)
}

// putMember inserts the membership unless it exists. A duplicate key means a concurrent
// upsert inserted it first (FerretDB reports a lost conditional upsert so): it exists.
func (s syncStore) putMember(ctx context.Context, m sync.Member) error {
	_, err := s.db.docs(membersCollection).UpdateOne(ctx, bson.M{"_id": memberKey{m.GroupID, m.UserID}},
		bson.M{"$setOnInsert": bson.M{"groupId": m.GroupID, "userId": m.UserID, "role": m.Role, "addedAt": m.AddedAt.UTC()}},
		options.UpdateOne().SetUpsert(true))
	if mongo.IsDuplicateKeyError(err) {
		return nil
	}
	return mapError(err, "add member")
}

func (s syncStore) RemoveMember(ctx context.Context, groupID, userID string) error {
	res, err := s.db.docs(membersCollection).DeleteOne(ctx, bson.M{"_id": memberKey{groupID, userID}})
	if err != nil {
		return mapError(err, "remove member")
	}
	return matched(res.DeletedCount, nil, "remove member")
}

// DeleteGroup deletes the group document first: from then on ListGroups leaves its
// memberships out (it joins them to their groups), so the group is gone for everyone at
// once; then its memberships. A failure between the two leaves memberships of a missing
// group, which give nobody anything.
func (s syncStore) DeleteGroup(ctx context.Context, id string) error {
	res, err := s.db.docs(groupsCollection).DeleteOne(ctx, bson.M{"_id": id})
	if err != nil {
		return mapError(err, "delete group")
	}
	_, merr := s.db.docs(membersCollection).DeleteMany(ctx, bson.M{"groupId": id})
	if merr != nil {
		return mapError(merr, "delete the group's memberships")
	}
	return matched(res.DeletedCount, nil, "delete group")
}

func (s syncStore) DeleteMemberships(ctx context.Context, userID string) error {
	_, err := s.db.docs(membersCollection).DeleteMany(ctx, bson.M{"userId": userID})
	return mapError(err, "delete memberships")
}
