package httpapi

import (
	"context"

	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// The auth routes: each decodes, calls one auth.Service method and encodes.

func (s *Server) SignUp(ctx context.Context, r oapi.SignUpRequestObject) (oapi.SignUpResponseObject, error) {
	res, err := s.cfg.Auth.SignUp(ctx, r.Body.Email, r.Body.Password, clientOf(ctx, r.Body.Device))
	if err != nil {
		return nil, err
	}
	return oapi.SignUp201JSONResponse{SessionTokensJSONResponse: tokensOut(res)}, nil
}

func (s *Server) Login(ctx context.Context, r oapi.LoginRequestObject) (oapi.LoginResponseObject, error) {
	res, err := s.cfg.Auth.Login(ctx, r.Body.Email, r.Body.Password, clientOf(ctx, r.Body.Device))
	if err != nil {
		return nil, err
	}
	return oapi.Login200JSONResponse{SessionTokensJSONResponse: tokensOut(res)}, nil
}

func (s *Server) SignInAnonymously(ctx context.Context, r oapi.SignInAnonymouslyRequestObject) (oapi.SignInAnonymouslyResponseObject, error) {
	var device *oapi.Device
	if r.Body != nil {
		device = r.Body.Device
	}
	res, err := s.cfg.Auth.SignInAnonymously(ctx, clientOf(ctx, device))
	if err != nil {
		return nil, err
	}
	return oapi.SignInAnonymously201JSONResponse{SessionTokensJSONResponse: tokensOut(res)}, nil
}

func (s *Server) LinkAccount(ctx context.Context, r oapi.LinkAccountRequestObject) (oapi.LinkAccountResponseObject, error) {
	res, err := s.cfg.Auth.Link(ctx, principal(ctx), r.Body.Email, r.Body.Password, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	t := tokensOut(res)
	return oapi.LinkAccount200JSONResponse{User: t.User, AccessToken: t.AccessToken, ExpiresIn: t.ExpiresIn}, nil
}

func (s *Server) RefreshSession(ctx context.Context, r oapi.RefreshSessionRequestObject) (oapi.RefreshSessionResponseObject, error) {
	res, err := s.cfg.Auth.Refresh(ctx, r.Body.RefreshToken, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	return oapi.RefreshSession200JSONResponse{SessionTokensJSONResponse: tokensOut(res)}, nil
}

func (s *Server) Logout(ctx context.Context, _ oapi.LogoutRequestObject) (oapi.LogoutResponseObject, error) {
	if err := s.cfg.Auth.Logout(ctx, principal(ctx), clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.Logout204Response{}, nil
}

func (s *Server) ListSessions(ctx context.Context, _ oapi.ListSessionsRequestObject) (oapi.ListSessionsResponseObject, error) {
	p := principal(ctx)
	list, err := s.cfg.Auth.ListSessions(ctx, p)
	if err != nil {
		return nil, err
	}
	return oapi.ListSessions200JSONResponse(sessionsOut(list, p.SessionID)), nil
}

func (s *Server) RevokeSession(ctx context.Context, r oapi.RevokeSessionRequestObject) (oapi.RevokeSessionResponseObject, error) {
	if err := s.cfg.Auth.RevokeSession(ctx, principal(ctx), r.SessionId, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.RevokeSession204Response{}, nil
}

func (s *Server) ForgotPassword(ctx context.Context, r oapi.ForgotPasswordRequestObject) (oapi.ForgotPasswordResponseObject, error) {
	if err := s.cfg.Auth.ForgotPassword(ctx, r.Body.Email, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.ForgotPassword202Response{}, nil
}

func (s *Server) ResetPassword(ctx context.Context, r oapi.ResetPasswordRequestObject) (oapi.ResetPasswordResponseObject, error) {
	if err := s.cfg.Auth.ResetPassword(ctx, r.Body.Token, r.Body.Password, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.ResetPassword204Response{}, nil
}

func (s *Server) VerifyEmail(ctx context.Context, r oapi.VerifyEmailRequestObject) (oapi.VerifyEmailResponseObject, error) {
	if err := s.cfg.Auth.VerifyEmail(ctx, r.Body.Token, clientOf(ctx, nil)); err != nil {
		return nil, err
	}
	return oapi.VerifyEmail204Response{}, nil
}

func (s *Server) ResendVerification(ctx context.Context, _ oapi.ResendVerificationRequestObject) (oapi.ResendVerificationResponseObject, error) {
	if err := s.cfg.Auth.SendVerification(ctx, principal(ctx)); err != nil {
		return nil, err
	}
	return oapi.ResendVerification202Response{}, nil
}

// jwksCacheControl lets verifiers cache the key set briefly; they refetch it when a token
// names a kid they do not know.
const jwksCacheControl = "public, max-age=300"

func (s *Server) GetJWKS(ctx context.Context, _ oapi.GetJWKSRequestObject) (oapi.GetJWKSResponseObject, error) {
	keys, err := s.cfg.Auth.JWKS(ctx)
	if err != nil {
		return nil, err
	}
	out := oapi.JWKS{Keys: []oapi.JWK{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, oapi.JWK{Kty: oapi.JWKKty(k.Kty), Crv: oapi.JWKCrv(k.Crv), X: k.X, Kid: k.Kid, Use: oapi.JWKUse(k.Use), Alg: oapi.JWKAlg(k.Alg)})
	}
	cc := jwksCacheControl
	return oapi.GetJWKS200JSONResponse{Body: out, Headers: oapi.GetJWKS200ResponseHeaders{CacheControl: &cc}}, nil
}

func (s *Server) ExchangeToken(ctx context.Context, r oapi.ExchangeTokenRequestObject) (oapi.ExchangeTokenResponseObject, error) {
	res, created, err := s.cfg.Auth.ExchangeToken(ctx, r.Body.Provider, r.Body.Token, clientOf(ctx, r.Body.Device))
	if err != nil {
		return nil, err
	}
	if created {
		return oapi.ExchangeToken201JSONResponse(tokensOut(res)), nil
	}
	return oapi.ExchangeToken200JSONResponse{SessionTokensJSONResponse: tokensOut(res)}, nil
}

func (s *Server) LinkIdentity(ctx context.Context, r oapi.LinkIdentityRequestObject) (oapi.LinkIdentityResponseObject, error) {
	id, err := s.cfg.Auth.LinkIdentity(ctx, principal(ctx), r.Body.Provider, r.Body.Token, clientOf(ctx, nil))
	if err != nil {
		return nil, err
	}
	out := oapi.LinkIdentity200JSONResponse{Provider: id.Provider, Subject: id.Subject, CreatedAt: id.CreatedAt.UTC()}
	if id.Email != "" {
		out.Email = &id.Email
	}
	return out, nil
}
