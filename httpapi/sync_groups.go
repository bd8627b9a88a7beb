package httpapi

import (
	"context"

	"github.com/tideline-dev/tideline/httpapi/oapi"
	datasync "github.com/tideline-dev/tideline/sync"
)

func groupOut(g datasync.Group, role string) oapi.Group {
	return oapi.Group{Id: g.ID, Name: g.Name, OwnerId: g.OwnerID, CreatedAt: g.CreatedAt.UTC(), Role: oapi.GroupRole(role)}
}

func (s *Server) CreateGroup(ctx context.Context, r oapi.CreateGroupRequestObject) (oapi.CreateGroupResponseObject, error) {
	g, err := s.cfg.Sync.CreateGroup(ctx, callerOf(ctx), r.Body.Name)
	if err != nil {
		return nil, err
	}
	return oapi.CreateGroup201JSONResponse(groupOut(g, datasync.GroupOwner)), nil
}

func (s *Server) ListGroups(ctx context.Context, _ oapi.ListGroupsRequestObject) (oapi.ListGroupsResponseObject, error) {
	ms, err := s.cfg.Sync.ListGroups(ctx, callerOf(ctx))
	if err != nil {
		return nil, err
	}
	out := oapi.GroupList{Groups: []oapi.Group{}}
	for _, m := range ms {
		out.Groups = append(out.Groups, groupOut(m.Group, m.Role))
	}
	return oapi.ListGroups200JSONResponse(out), nil
}

func (s *Server) ListGroupMembers(ctx context.Context, r oapi.ListGroupMembersRequestObject) (oapi.ListGroupMembersResponseObject, error) {
	members, err := s.cfg.Sync.Members(ctx, callerOf(ctx), principal(ctx).Admin(), r.GroupId)
	if err != nil {
		return nil, err
	}
	out := oapi.MemberList{Members: []oapi.GroupMember{}}
	for _, m := range members {
		out.Members = append(out.Members, oapi.GroupMember{UserId: m.UserID, Role: oapi.GroupMemberRole(m.Role), AddedAt: m.AddedAt.UTC()})
	}
	return oapi.ListGroupMembers200JSONResponse(out), nil
}

func (s *Server) AddGroupMember(ctx context.Context, r oapi.AddGroupMemberRequestObject) (oapi.AddGroupMemberResponseObject, error) {
	known := func(ctx context.Context, id string) error { // not_found: no such user
		_, err := s.cfg.Auth.GetUser(ctx, id)
		return err
	}
	if err := s.cfg.Sync.AddMember(ctx, callerOf(ctx), principal(ctx).Admin(), r.GroupId, r.UserId, known); err != nil {
		return nil, err
	}
	return oapi.AddGroupMember204Response{}, nil
}

func (s *Server) RemoveGroupMember(ctx context.Context, r oapi.RemoveGroupMemberRequestObject) (oapi.RemoveGroupMemberResponseObject, error) {
	if err := s.cfg.Sync.RemoveMember(ctx, callerOf(ctx), principal(ctx).Admin(), r.GroupId, r.UserId); err != nil {
		return nil, err
	}
	return oapi.RemoveGroupMember204Response{}, nil
}
