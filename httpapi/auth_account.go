package httpapi

import (
	"context"

	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

func (s *Server) GetMe(ctx context.Context, _ oapi.GetMeRequestObject) (oapi.GetMeResponseObject, error) {
	u, err := s.cfg.Auth.Me(ctx, principal(ctx))
	if err != nil {
		return nil, err
	}
	return oapi.GetMe200JSONResponse(userOut(u)), nil
}

func (s *Server) UpdateMe(ctx context.Context, r oapi.UpdateMeRequestObject) (oapi.UpdateMeResponseObject, error) {
	u, err := s.cfg.Auth.UpdateMe(ctx, principal(ctx), auth.MeUpdate{
		DisplayName: r.Body.DisplayName, Password: r.Body.Password, CurrentPassword: deref(r.Body.CurrentPassword),
	}, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	return oapi.UpdateMe200JSONResponse(userOut(u)), nil
}

func (s *Server) DeleteMe(ctx context.Context, _ oapi.DeleteMeRequestObject) (oapi.DeleteMeResponseObject, error) {
	if err := s.cfg.Auth.DeleteMe(ctx, principal(ctx), clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.DeleteMe204Response{}, nil
}
