package httpapi

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/tideline-dev/tideline"
	"github.com/tideline-dev/tideline/auth"
	"github.com/tideline-dev/tideline/httpapi/oapi"
)

// authenticate enforces the security the spec gives the route: bearerAuth needs a user's
// access token, adminAuth an admin API key or an admin user's access token. The caller
// (auth.WithPrincipal) and the credential (for streams, which check it again) then travel
// in the request's context.
func (s *Server) authenticate(c *gin.Context) {
	scheme := s.routes[c.Request.Method+" "+c.FullPath()].security
	if scheme == "" {
		return
	}
	raw, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok && streamRoutes[c.FullPath()] {
		raw, ok = c.Query("access_token"), true // browsers cannot set headers on a WebSocket or an EventSource
	}
	if !ok || strings.TrimSpace(raw) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="tideline"`)
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeUnauthenticated, "This needs an access token: send Authorization: Bearer <token>."))
		return
	}
	p, err := s.cfg.Auth.Authenticate(c.Request.Context(), strings.TrimSpace(raw))
	if err != nil {
		if tideline.ErrorCode(err) == tideline.CodeUnauthenticated {
			c.Header("WWW-Authenticate", `Bearer realm="tideline", error="invalid_token"`)
		}
		writeProblem(c, s.log, err)
		return
	}
	switch {
	case scheme == "adminAuth" && !p.Admin():
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeForbidden, "This needs an admin API key or an admin's access token."))
		return
	case scheme == "bearerAuth" && p.AdminKeyID != "":
		writeProblem(c, s.log, tideline.Errorf(tideline.CodeForbidden, "An admin API key has no account; use a user's access token."))
		return
	}
	ctx := auth.WithPrincipal(c.Request.Context(), p)
	c.Request = c.Request.WithContext(context.WithValue(ctx, tokenKey{}, strings.TrimSpace(raw)))
}

// errNoScope is what a handler would get instead of running without its request's scope.
var errNoScope = errors.New("the handler's context lacks the request's scope")

// requireScope runs before every handler of the strict layer, which hands it the request's
// context: it refuses to run a handler whose context lacks the request id, or, on a route
// with security, the caller (an operation it does not know counts as secured and
// missing). The generated layer cannot do otherwise (see
// httpapi/oapi/templates); this keeps it so, and the tests check no request ever trips it.
func (s *Server) requireScope(f oapi.StrictHandlerFunc, operationID string) oapi.StrictHandlerFunc {
	route, known := s.routes["op:"+operationID]
	return func(ctx context.Context, request any) (any, error) {
		_, hasCaller := auth.PrincipalFrom(ctx)
		if !known || tideline.RequestID(ctx) == "" || (route.security != "" && !hasCaller) {
			return nil, fmt.Errorf("%s: %w", operationID, errNoScope)
		}
		return f(ctx, request)
	}
}

type tokenKey struct{}

// tokenOf is the credential an authenticated request was made with.
func tokenOf(ctx context.Context) string {
	t, _ := ctx.Value(tokenKey{}).(string)
	return t
}

// streamRoutes take the access token in the query string too.
var streamRoutes = map[string]bool{"/v1/sync/stream": true, "/v1/sync/events": true}

// principal returns the authenticated caller of a request that passed authenticate (the
// zero Principal on a route without security).
func principal(ctx context.Context) auth.Principal {
	p, _ := auth.PrincipalFrom(ctx)
	return p
}

type clientKey struct{}

// withClient is ctx carrying where the request comes from (requestScope puts it there).
func withClient(ctx context.Context, c auth.Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// clientOf describes the request's origin for sessions and the audit log, with the device
// the body names, if any.
func clientOf(ctx context.Context, device *oapi.Device) auth.Client {
	cl, _ := ctx.Value(clientKey{}).(auth.Client)
	if device != nil {
		cl.DeviceName, cl.Platform = deref(device.Name), deref(device.Platform)
	}
	return cl
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
