package httpapi

import (
	"context"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

func (s *Server) AdminListUsers(ctx context.Context, r oapi.AdminListUsersRequestObject) (oapi.AdminListUsersResponseObject, error) {
	limit := deref(r.Params.Limit)
	users, err := s.cfg.Auth.ListUsers(ctx, auth.UserQuery{EmailContains: deref(r.Params.Email), After: deref(r.Params.After), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := oapi.UserPage{Users: []oapi.User{}}
	for _, u := range users {
		out.Users = append(out.Users, userOut(u))
	}
	if n := len(users); n > 0 && n == auth.PageSize(limit) {
		out.Next = &users[n-1].ID
	}
	return oapi.AdminListUsers200JSONResponse(out), nil
}

func (s *Server) AdminGetUser(ctx context.Context, r oapi.AdminGetUserRequestObject) (oapi.AdminGetUserResponseObject, error) {
	u, err := s.cfg.Auth.GetUser(ctx, r.UserId)
	if err != nil {
		return nil, err
	}
	return oapi.AdminGetUser200JSONResponse(userOut(u)), nil
}

func (s *Server) AdminUpdateUser(ctx context.Context, r oapi.AdminUpdateUserRequestObject) (oapi.AdminUpdateUserResponseObject, error) {
	u, err := s.cfg.Auth.UpdateUser(ctx, principal(ctx), r.UserId, auth.AdminUserUpdate{
		Disabled: r.Body.Disabled, Roles: r.Body.Roles, EmailVerified: r.Body.EmailVerified, DisplayName: r.Body.DisplayName,
	}, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	return oapi.AdminUpdateUser200JSONResponse(userOut(u)), nil
}

func (s *Server) AdminDeleteUser(ctx context.Context, r oapi.AdminDeleteUserRequestObject) (oapi.AdminDeleteUserResponseObject, error) {
	if err := s.cfg.Auth.DeleteUser(ctx, principal(ctx), r.UserId, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.AdminDeleteUser204Response{}, nil
}

func (s *Server) AdminListUserSessions(ctx context.Context, r oapi.AdminListUserSessionsRequestObject) (oapi.AdminListUserSessionsResponseObject, error) {
	list, err := s.cfg.Auth.UserSessions(ctx, r.UserId)
	if err != nil {
		return nil, err
	}
	return oapi.AdminListUserSessions200JSONResponse(sessionsOut(list, principal(ctx).SessionID)), nil
}

func (s *Server) AdminListKeys(ctx context.Context, _ oapi.AdminListKeysRequestObject) (oapi.AdminListKeysResponseObject, error) {
	keys, err := s.cfg.Auth.ListAdminKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := oapi.AdminKeyList{Keys: []oapi.AdminKey{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, adminKeyOut(k))
	}
	return oapi.AdminListKeys200JSONResponse(out), nil
}

func (s *Server) AdminCreateKey(ctx context.Context, r oapi.AdminCreateKeyRequestObject) (oapi.AdminCreateKeyResponseObject, error) {
	k, secret, err := s.cfg.Auth.CreateAdminKey(ctx, principal(ctx), r.Body.Name, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	return oapi.AdminCreateKey201JSONResponse{Key: adminKeyOut(k), Secret: secret}, nil
}

func (s *Server) AdminDeleteKey(ctx context.Context, r oapi.AdminDeleteKeyRequestObject) (oapi.AdminDeleteKeyResponseObject, error) {
	if err := s.cfg.Auth.DeleteAdminKey(ctx, principal(ctx), r.KeyId, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.AdminDeleteKey204Response{}, nil
}

func (s *Server) AdminListAudit(ctx context.Context, r oapi.AdminListAuditRequestObject) (oapi.AdminListAuditResponseObject, error) {
	limit := deref(r.Params.Limit)
	events, err := s.cfg.Auth.ListAudit(ctx, auth.AuditQuery{UserID: deref(r.Params.UserId), Type: deref(r.Params.Type), Before: deref(r.Params.Before), Limit: limit})
	if err != nil {
		return nil, err
	}
	out := oapi.AuditPage{Events: []oapi.AuditEvent{}}
	for _, e := range events {
		out.Events = append(out.Events, auditOut(e))
	}
	if n := len(events); n > 0 && n == auth.PageSize(limit) {
		out.Next = &events[n-1].ID
	}
	return oapi.AdminListAudit200JSONResponse(out), nil
}

func (s *Server) AdminRotateSigningKey(ctx context.Context, _ oapi.AdminRotateSigningKeyRequestObject) (oapi.AdminRotateSigningKeyResponseObject, error) {
	kid, err := s.cfg.Auth.RotateSigningKey(ctx, principal(ctx).Actor(), clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	return oapi.AdminRotateSigningKey200JSONResponse{Kid: kid}, nil
}
